package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// saveProfile writes the controller's heap profile (from --debug-pprof at
// addr) to dir/name.pprof; nothing when profiling is off.
func saveProfile(addr, dir, name string) {
	if addr == "" {
		return
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
	if err != nil {
		logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".pprof"), b, 0o644)
	}
	if err != nil {
		logf("heap profile: %v", err)
	}
}

// startCPUProfile fetches the controller's CPU profile over the next
// seconds (from --debug-pprof at addr) into dir/name.pprof; the returned
// channel closes when the file is written. Nothing when profiling is off.
func startCPUProfile(addr, dir, name string, seconds int) <-chan struct{} {
	done := make(chan struct{})
	if addr == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
		if err != nil {
			logf("CPU profile: %v", err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".pprof"), b, 0o644)
		}
		if err != nil {
			logf("CPU profile: %v", err)
		}
	}()
	return done
}

// procCPU is a process's user+system CPU time from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// procPeakRSS is a process's peak resident set (VmHWM) in MiB.
func procPeakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// containersCPU sums the CPU the containers used, from their cgroups
// (cgroup v1 cpuacct or v2 cpu.stat); zero when neither is readable.
func containersCPU(ctx context.Context, containers []string) time.Duration {
	var total time.Duration
	for _, c := range containers {
		out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.Id}}", c).Output()
		if err != nil {
			continue
		}
		id := strings.TrimSpace(string(out))
		if b, err := os.ReadFile("/sys/fs/cgroup/cpuacct/docker/" + id + "/cpuacct.usage"); err == nil {
			ns, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			total += time.Duration(ns)
			continue
		}
		for _, p := range []string{"/sys/fs/cgroup/system.slice/docker-" + id + ".scope/cpu.stat", "/sys/fs/cgroup/docker/" + id + "/cpu.stat"} {
			if b, err := os.ReadFile(p); err == nil {
				for line := range strings.SplitSeq(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
						us, _ := strconv.ParseInt(v, 10, 64)
						total += time.Duration(us) * time.Microsecond
					}
				}
				break
			}
		}
	}
	return total
}
