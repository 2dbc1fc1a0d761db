package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var errTooSlow = errors.New("too slow")

// optimusRun is one invocation of the optimus binary.
type optimusRun struct {
	wall      time.Duration
	maxRSSMiB float64
	cpu       time.Duration // user + system
	stdout    string
	noop      bool
}

// optimus runs `optimus apply -f dir --yes` and times it, process start
// included; limit > 0 stops it after that long with errTooSlow.
func (b *bench) optimus(ctx context.Context, dir string, limit time.Duration) (optimusRun, error) {
	runCtx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, b.bin, "apply", "-f", dir, "--yes")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := optimusRun{wall: time.Since(start), stdout: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
			r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	r.noop = strings.Contains(r.stdout, "Nothing to do")
	logf("optimus apply -f %s: %.2fs, peak RSS %.0f MiB", filepath.Base(dir), r.wall.Seconds(), r.maxRSSMiB)
	if limit > 0 && runCtx.Err() != nil && ctx.Err() == nil {
		return r, errTooSlow
	}
	if err != nil {
		return r, fmt.Errorf("optimus apply -f %s: %v\n%s", dir, err, tail(r.stdout))
	}
	return r, nil
}

// optimusJSON runs a no-op with -o json and returns the engine's own
// duration (durationNs) in seconds.
func (b *bench) optimusJSON(ctx context.Context, dir string) (float64, error) {
	out, err := exec.CommandContext(ctx, b.bin, "apply", "-f", dir, "--yes", "-o", "json").Output()
	if err != nil {
		return 0, err
	}
	var rep struct {
		DurationNs int64 `json:"durationNs"`
		Report     *struct {
			DurationNs int64 `json:"durationNs"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, err
	}
	if rep.Report != nil {
		return float64(rep.Report.DurationNs) / 1e9, nil
	}
	return float64(rep.DurationNs) / 1e9, nil
}
