package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Result is the BENCH document.
type Result struct {
	Machine          Machine           `json:"machine"`
	Hosts            int               `json:"hosts"`
	ResourcesPerHost int               `json:"resourcesPerHost"`
	Ansible          Timing            `json:"ansible"`
	Optimus          Timing            `json:"optimus"`
	Ratio            Ratio             `json:"ratioAnsibleOverOptimus"`
	Phases           []PhaseReport     `json:"phases,omitempty"`
	Scale            []ScaleResult     `json:"scale,omitempty"`
	Script           *ScriptComparison `json:"script,omitempty"`
	Notes            []string          `json:"notes,omitempty"`
}

// Machine describes where the numbers were taken.
type Machine struct {
	NProc          int    `json:"nproc"`
	MemTotal       string `json:"memTotal"`
	GoVersion      string `json:"goVersion"`
	AnsibleVersion string `json:"ansibleVersion"`
	Kernel         string `json:"kernel"`
}

// Timing is a cold and a no-op run, in seconds.
type Timing struct {
	ColdS float64 `json:"coldS"`
	NoopS float64 `json:"noopS"`
}

// Ratio is Ansible's time over Optimus's.
type Ratio struct {
	Cold float64 `json:"cold"`
	Noop float64 `json:"noop"`
}

// ScaleResult is one Optimus scale run.
type ScaleResult struct {
	Hosts      int     `json:"hosts"`
	Resources  int     `json:"resources"`
	ColdS      float64 `json:"coldS"`
	ColdOK     bool    `json:"coldConverged"`
	ColdRSSMiB float64 `json:"coldPeakRSSMiB"`
	NoopS      float64 `json:"noopS"`
	NoopRSSMiB float64 `json:"noopPeakRSSMiB"`
	EngineNoop float64 `json:"noopEngineS"` // durationNs reported by optimus -o json
}

func machineFacts(ctx context.Context) Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "ansible-playbook", "--version").Output(); err == nil {
		m.AnsibleVersion = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if out, err := exec.CommandContext(ctx, "uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

func (b *bench) print(w io.Writer) {
	r := b.result
	fmt.Fprintf(w, "\nMachine: %d CPUs, MemTotal %s, %s, %s, kernel %s\n", r.Machine.NProc, r.Machine.MemTotal,
		r.Machine.GoVersion, r.Machine.AnsibleVersion, r.Machine.Kernel)
	fmt.Fprintf(w, "Workload: %d hosts x %d resources (20 users, 20 directories, 20 files)\n\n", r.Hosts, r.ResourcesPerHost)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tcold s\tno-op s\t")
	fmt.Fprintf(tw, "Ansible\t%.2f\t%.2f\t\n", r.Ansible.ColdS, r.Ansible.NoopS)
	fmt.Fprintf(tw, "Optimus\t%.3f\t%.3f\t\n", r.Optimus.ColdS, r.Optimus.NoopS)
	fmt.Fprintf(tw, "Ansible/Optimus\t%.1fx\t%.1fx\t\n", r.Ratio.Cold, r.Ratio.Noop)
	tw.Flush()
	printScript(w, r.Script)
	if len(r.Phases) > 0 {
		fmt.Fprintln(w, "\nOptimus phases (engine in-process; per-host sum / slowest host):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tcycle\tphase\twall ms\tdial sum/max ms\tround trip sum/max ms\tplan CPU ms\t")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.1f / %.1f\t%.1f / %.1f\t%.1f\t\n", p.Run, p.Cycle, p.Phase, p.WallMs,
				p.DialSumMs, p.DialMaxMs, p.RTSumMs, p.RTMaxMs, p.PlanMs)
		}
		tw.Flush()
	}
	if len(r.Scale) > 0 {
		fmt.Fprintf(w, "\nOptimus scale (Host resources round-robin over %d containers, 60 resources each):\n", r.Hosts)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "hosts\tresources\tcold s\tcold ms/host\tno-op s\tno-op ms/host\tengine no-op s\tpeak RSS cold MiB\tpeak RSS no-op MiB\tRSS KiB/host\t")
		for i, s := range r.Scale {
			perHost := "-"
			if i > 0 {
				prev := r.Scale[i-1]
				perHost = fmt.Sprintf("%.0f", (s.NoopRSSMiB-prev.NoopRSSMiB)*1024/float64(s.Hosts-prev.Hosts))
			}
			cold := fmt.Sprintf("%.2f", s.ColdS)
			if !s.ColdOK {
				cold = ">" + cold
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%.1f\t%.2f\t%.1f\t%.2f\t%.0f\t%.0f\t%s\t\n", s.Hosts, s.Resources, cold,
				s.ColdS*1000/float64(s.Hosts), s.NoopS, s.NoopS*1000/float64(s.Hosts), s.EngineNoop, s.ColdRSSMiB, s.NoopRSSMiB, perHost)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}
