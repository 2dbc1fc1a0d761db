package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// ScriptComparison is Optimus's cold run against a hand-written shell
// script doing the same work over one ssh per host, in alternating pairs on
// fresh hosts: the price of what Optimus adds (observe, plan, the guard on
// every path, verification) over the bare commands.
type ScriptComparison struct {
	Pairs    int       `json:"pairs"`
	OptimusS []float64 `json:"optimusColdS"`
	ScriptS  []float64 `json:"scriptS"`
	// Ratio is the median of the pairs' Optimus/script ratios.
	Ratio float64 `json:"medianRatio"`
}

// script is what a careful operator would write by hand for w: the same
// accounts, directories, modes and contents, nothing checked first.
func (w workload) script() string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for i, u := range w.users {
		fmt.Fprintf(&b, "useradd -s /bin/bash -m %s\n", u)
		fmt.Fprintf(&b, "mkdir -p %s && chmod 0755 %s\n", w.dirs[i], w.dirs[i])
		fmt.Fprintf(&b, "printf '%%s' %s >%s && chmod 0644 %s\n", strconv.Quote(w.contents[i]), w.files[i], w.files[i])
	}
	return b.String()
}

// runScript runs the workload's script on every host at once, one ssh each,
// and returns the wall time of the slowest.
func (b *bench) runScript(ctx context.Context, w workload) (time.Duration, error) {
	script := strings.ReplaceAll(w.script(), `\n`, "\n") // strconv.Quote's newlines, as printf would print them
	var wg sync.WaitGroup
	errs := make([]error, len(b.hosts))
	start := time.Now()
	for i, h := range b.hosts {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, "ssh", "-q", "-p", strconv.Itoa(h.Port), "-i", h.KeyFile,
				"-o", "UserKnownHostsFile="+h.KnownHostsFile, "-o", "BatchMode=yes", "root@127.0.0.1", "sh")
			cmd.Stdin = strings.NewReader(script)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("script on %s: %v\n%s", h.Container, err, out.String())
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return wall, nil
}

// compareScript runs pairs alternating pairs (script first, then Optimus
// first) on fresh hosts and checks that both leave the same end state.
func (b *bench) compareScript(ctx context.Context, dir string, pairs int) (*ScriptComparison, error) {
	w := newWorkload("")
	c := &ScriptComparison{Pairs: pairs}
	var ratios []float64
	var scriptFP []string
	for p := range pairs {
		var o, s float64
		for k := range 2 {
			if err := b.freshHosts(ctx); err != nil {
				return nil, err
			}
			if (p+k)%2 == 0 {
				d, err := b.runScript(ctx, w)
				if err != nil {
					return nil, err
				}
				s = d.Seconds()
				if scriptFP == nil {
					fp, err := b.fingerprint(ctx, w)
					if err != nil {
						return nil, err
					}
					scriptFP = fp
				}
				continue
			}
			if err := writeOptimus(dir, b.hosts); err != nil {
				return nil, err
			}
			run, err := b.optimus(ctx, dir, 0)
			if err != nil {
				return nil, err
			}
			o = run.wall.Seconds()
		}
		logf("pair %d: optimus cold %.2fs, script %.2fs", p+1, o, s)
		c.OptimusS, c.ScriptS = append(c.OptimusS, o), append(c.ScriptS, s)
		ratios = append(ratios, o/s)
	}
	fp, err := b.fingerprint(ctx, w)
	if err != nil {
		return nil, err
	}
	for i := range fp {
		if fp[i] != scriptFP[i] {
			return nil, fmt.Errorf("the script and Optimus left host %d in different states:\n--- script\n%s--- optimus\n%s", i+1, scriptFP[i], fp[i])
		}
	}
	slices.Sort(ratios)
	c.Ratio = ratios[len(ratios)/2]
	return c, nil
}

// runScriptOnly builds optimus and runs only the script comparison.
func (b *bench) runScriptOnly(ctx context.Context, jsonPath string) error {
	b.result.Machine = machineFacts(ctx)
	b.result.Hosts = b.nHosts
	b.result.ResourcesPerHost = 3 * perKind
	b.bin = filepath.Join(b.work, "optimus")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "./cmd/optimus").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/optimus (run from the repository root): %v\n%s", err, out)
	}
	var err error
	if b.result.Script, err = b.compareScript(ctx, filepath.Join(b.work, "optimus-manifests"), max(b.scriptPairs, 1)); err != nil {
		return err
	}
	printScript(os.Stdout, b.result.Script)
	return b.emit(jsonPath)
}

func printScript(w io.Writer, c *ScriptComparison) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\nOptimus cold against a hand-written shell script (one ssh per host), %d alternating pairs on fresh hosts:\n", c.Pairs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\toptimus cold s\tscript s\tratio\t")
	for i := range c.OptimusS {
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.2fx\t\n", i+1, c.OptimusS[i], c.ScriptS[i], c.OptimusS[i]/c.ScriptS[i])
	}
	fmt.Fprintf(tw, "median\t\t\t%.2fx\t\n", c.Ratio)
	tw.Flush()
}
