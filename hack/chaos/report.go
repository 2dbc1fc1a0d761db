package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

type procFigures struct {
	ID   string    `json:"id"`
	Warm procStats `json:"warmUp"`
	End  procStats `json:"end"`
}

// report is the run's outcome, printed as tables and one CHAOS line.
type report struct {
	Seed        uint64            `json:"seed"`
	Hosts       int               `json:"hosts"`
	Containers  int               `json:"containers"`
	Replicas    int               `json:"replicas"`
	DurationS   float64           `json:"durationS"`
	ResyncS     float64           `json:"resyncS"`
	Race        bool              `json:"race"`
	Faults      map[faultKind]int `json:"faults"`
	Generations int               `json:"generations"`
	Acts        int               `json:"acts"`
	Attempts    int               `json:"validateAttempts"`
	Takeovers   int               `json:"takeovers"`
	Samples     int               `json:"fileSamples"`
	// Unconverged is the longest time a host cut off by a container fault
	// stayed unconverged after the fault healed.
	Unconverged     float64 `json:"longestUnconvergedAfterHealS"`
	UnconvergedHost string  `json:"longestUnconvergedHost,omitempty"`
	// ConvergeS is from the end of the faults to every host converged;
	// Converged is false when that never came (ConvergeS is then how long
	// the run waited).
	ConvergeS   float64             `json:"convergeAfterFaultsS"`
	Converged   bool                `json:"converged"`
	HaltVerdict string              `json:"haltedRollout"`
	Procs       []procFigures       `json:"replicaProcs"`
	Violations  map[string][]string `json:"violations"`
	Verdicts    map[string]string   `json:"verdicts"`
	Notes       []string            `json:"notes,omitempty"`
}

func (rep *report) violate(inv, format string, args ...any) {
	if rep.Violations == nil {
		rep.Violations = map[string][]string{}
	}
	rep.Violations[inv] = append(rep.Violations[inv], fmt.Sprintf(format, args...))
}

func (rep *report) note(format string, args ...any) {
	rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...))
}

func (rep *report) failed() bool { return len(rep.Violations) > 0 }

func (rep *report) verdicts() map[string]string {
	v := map[string]string{}
	for _, inv := range invariants {
		switch n := len(rep.Violations[inv]); {
		case n > 0:
			v[inv] = fmt.Sprintf("VIOLATED (%d)", n)
		case inv == invHalt:
			v[inv] = "ok, " + rep.HaltVerdict
		default:
			v[inv] = "ok"
		}
	}
	return v
}

func (rep *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nChaos run, seed %d: %d hosts on %d containers, %d replicas, %.0f s of faults, resync %.0f s, race detector %v\n\n",
		rep.Seed, rep.Hosts, rep.Containers, rep.Replicas, rep.DurationS, rep.ResyncS, rep.Race)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tinjected")
	var kinds []string
	for k := range rep.Faults {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(tw, "%s\t%d\n", k, rep.Faults[faultKind(k)])
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue")
	fmt.Fprintf(tw, "manifest generations\t%d\n", rep.Generations)
	fmt.Fprintf(tw, "acts (audit records)\t%d\n", rep.Acts)
	fmt.Fprintf(tw, "validate attempts (new content tried)\t%d\n", rep.Attempts)
	fmt.Fprintf(tw, "takeovers after warm-up\t%d\n", rep.Takeovers)
	fmt.Fprintf(tw, "file samples (state changes seen)\t%d\n", rep.Samples)
	fmt.Fprintf(tw, "longest unconverged after a container fault healed\t%.1f s (%s)\n", rep.Unconverged, rep.UnconvergedHost)
	if rep.Converged {
		fmt.Fprintf(tw, "faults stopped → every host converged\t%.1f s (bound %.0f s)\n", rep.ConvergeS, 2*rep.ResyncS)
	} else {
		fmt.Fprintf(tw, "faults stopped → every host converged\tnot within %.0f s (bound %.0f s)\n", rep.ConvergeS, 2*rep.ResyncS)
	}
	for _, p := range rep.Procs {
		fmt.Fprintf(tw, "%s RSS / goroutines, warm-up → end\t%d → %d KiB / %d → %d\n", p.ID, p.Warm.RSSKiB, p.End.RSSKiB, p.Warm.Goroutines, p.End.Goroutines)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "invariant\tverdict")
	v := rep.verdicts()
	for _, inv := range invariants {
		fmt.Fprintf(tw, "%s\t%s\n", inv, v[inv])
	}
	tw.Flush()
	for _, inv := range invariants {
		for _, msg := range rep.Violations[inv] {
			fmt.Fprintf(w, "VIOLATION %s: %s\n", inv, msg)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// writeJSON prints the CHAOS line and, with a path, writes the document.
func (rep *report) writeJSON(w io.Writer, path string) error {
	rep.Verdicts = rep.verdicts()
	doc, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "CHAOS %s\n", doc)
	if path != "" {
		return os.WriteFile(path, append(doc, '\n'), 0o644)
	}
	return nil
}

// diffSummary keeps the host and resource lines of optimus diff's output,
// not the content diffs under them: up to n of them, and the count.
func diffSummary(out string, n int) string {
	var keep []string
	total := 0
	for line := range strings.SplitSeq(out, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if trimmed == "" || indent > 2 {
			continue
		}
		total++
		if len(keep) < n {
			keep = append(keep, line)
		}
	}
	if total > n {
		keep = append(keep, fmt.Sprintf("... %d more lines", total-n))
	}
	return strings.Join(keep, "\n")
}
