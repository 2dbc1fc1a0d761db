package main

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// samplerScript runs inside a container, outside any controller: every
// quarter second it opens each managed file once, without following links,
// and reads its mode, owner and content through that one descriptor (so a
// sample is one inode, never a mix made by the sampler), then prints a line
// for each file whose state changed: "TIME PATH absent" or
// "TIME PATH SHA16 MODE OWNER GROUP".
const samplerScript = `
import hashlib, os, pwd, grp, sys, time
last = {}
while True:
    for p in sys.argv[1:]:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            s = "absent"
        except OSError as e:
            s = "error-%d" % e.errno
        else:
            try:
                chunks = []
                while True:
                    c = os.read(fd, 1 << 16)
                    if not c:
                        break
                    chunks.append(c)
                st = os.fstat(fd)
            finally:
                os.close(fd)
            def name(f, i):
                try:
                    return f(i)[0]
                except KeyError:
                    return str(i)
            s = "%s %o %s %s" % (hashlib.sha256(b"".join(chunks)).hexdigest()[:16], st.st_mode & 0o7777,
                name(pwd.getpwuid, st.st_uid), name(grp.getgrgid, st.st_gid))
        if last.get(p) != s:
            last[p] = s
            print("%.3f %s %s" % (time.time(), p, s), flush=True)
    time.sleep(0.25)
`

// sample is one state of one file seen at a time by the host's clock.
type sample struct {
	at    time.Time
	path  string
	state fileState
	raw   string
}

// sampler collects samples from every container until stopped, restarting
// its script when a container stops or restarts under it.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	wg      sync.WaitGroup
}

func startSampler(ctx context.Context, byContainer map[string][]string) *sampler {
	s := &sampler{}
	for container, paths := range byContainer {
		s.wg.Go(func() {
			for ctx.Err() == nil {
				s.run(ctx, container, paths)
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		})
	}
	return s
}

func (s *sampler) run(ctx context.Context, container string, paths []string) {
	args := append([]string{"exec", container, "python3", "-u", "-c", samplerScript}, paths...)
	cmd := exec.CommandContext(ctx, "docker", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		return
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if smp, ok := parseSample(sc.Text()); ok {
			s.mu.Lock()
			s.samples = append(s.samples, smp)
			s.mu.Unlock()
		}
	}
	_ = cmd.Wait()
}

func parseSample(line string) (sample, bool) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return sample{}, false
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return sample{}, false
	}
	smp := sample{at: time.Unix(0, int64(secs*1e9)), path: f[1], raw: strings.Join(f[2:], " ")}
	switch {
	case f[2] == "absent":
	case len(f) == 6:
		smp.state = fileState{present: true, sha: f[2], mode: f[3], owner: f[4], group: f[5]}
	default:
		smp.state = fileState{present: true, sha: "unreadable:" + f[2]}
	}
	return smp, true
}

// Samples returns what was seen so far.
func (s *sampler) Samples() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.samples...)
}

func (s *sampler) Wait() { s.wg.Wait() }
