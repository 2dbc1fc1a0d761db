package main

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// act is one audit record: an act on a host by a replica under a fencing
// token, timed by the host's clock.
type act struct {
	host, gen, replica string
	token              int64
	start, end         float64
	line               string
}

// attempt is one run of a File's validate command: new content about to
// be installed (or rejected) by a replica.
type attempt struct {
	host, gen, replica string
	at                 float64
	line               string
}

// readAudits reads every host's audit and attempts files, one docker exec
// per container.
func readAudits(ctx context.Context, c *cluster) (map[string][]act, map[string][]attempt, error) {
	acts, tries := map[string][]act{}, map[string][]attempt{}
	for container, names := range c.hostsOf() {
		var script strings.Builder
		for _, n := range names {
			fmt.Fprintf(&script, "echo '#A %[1]s'; cat %[2]s/%[1]s.audit 2>/dev/null; echo '#V %[1]s'; cat %[2]s/%[1]s.attempts 2>/dev/null; ", n, auditDir)
		}
		script.WriteString("true")
		var b []byte
		var err error
		for range 5 { // the last heal may still be starting the container
			if b, err = exec.CommandContext(ctx, "docker", "exec", container, "sh", "-c", script.String()).Output(); err == nil {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read audits on %s: %v", container, err)
		}
		var cur, kind string
		for line := range strings.SplitSeq(string(b), "\n") {
			if h, ok := strings.CutPrefix(line, "#"); ok {
				kind, cur, _ = strings.Cut(h, " ")
				continue
			}
			if line == "" {
				continue
			}
			if kind == "V" {
				f := strings.Fields(line)
				if len(f) != 4 {
					continue
				}
				if at, err := time.Parse("2006-01-02T15:04:05.999999999", f[3]); err == nil {
					tries[cur] = append(tries[cur], attempt{host: cur, gen: f[0], replica: f[1], at: float64(at.UnixNano()) / 1e9, line: line})
				}
				continue
			}
			a, ok := parseAct(cur, line)
			if !ok {
				a = act{host: cur, line: line, token: -1}
			}
			acts[cur] = append(acts[cur], a)
		}
	}
	for _, as := range acts {
		sort.SliceStable(as, func(i, j int) bool { return as[i].start < as[j].start })
	}
	return acts, tries, nil
}

func parseAct(host, line string) (act, bool) {
	f := strings.Fields(line)
	if len(f) != 5 {
		return act{}, false
	}
	tok, err1 := strconv.ParseInt(f[2], 10, 64)
	s, err2 := strconv.ParseFloat(f[3], 64)
	e, err3 := strconv.ParseFloat(f[4], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return act{}, false
	}
	return act{host: host, gen: f[0], replica: f[1], token: tok, start: s, end: e, line: line}, true
}
