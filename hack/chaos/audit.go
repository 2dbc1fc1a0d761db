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

// readAudits reads every host's audit file, one docker exec per container.
func readAudits(ctx context.Context, c *cluster) (map[string][]act, error) {
	out := map[string][]act{}
	for container, names := range c.hostsOf() {
		var script strings.Builder
		for _, n := range names {
			fmt.Fprintf(&script, "echo '#%s'; cat %s/%s.audit 2>/dev/null; ", n, auditDir, n)
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
			return nil, fmt.Errorf("read audits on %s: %v", container, err)
		}
		var cur string
		for line := range strings.SplitSeq(string(b), "\n") {
			if h, ok := strings.CutPrefix(line, "#"); ok {
				cur = h
				continue
			}
			if line == "" {
				continue
			}
			a, ok := parseAct(cur, line)
			if !ok {
				a = act{host: cur, line: line, token: -1}
			}
			out[cur] = append(out[cur], a)
		}
	}
	for _, acts := range out {
		sort.SliceStable(acts, func(i, j int) bool { return acts[i].start < acts[j].start })
	}
	return out, nil
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
