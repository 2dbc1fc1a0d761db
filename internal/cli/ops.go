package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/history"
	"github.com/optimus-cm/optimus/internal/manifest"
)

// setFlags name the manifest set whose inventory is kept on the hosts.
type setFlags struct {
	set   string
	prune bool
}

func (s *setFlags) register(cmd *cobra.Command, named, pruneHelp string) {
	cmd.Flags().StringVar(&s.set, "set", "", "name of the manifest set whose inventory the hosts keep under "+controller.InventoryDir+
		" (default: the name of "+named+")")
	cmd.Flags().BoolVar(&s.prune, "prune", false, pruneHelp)
}

// inventory returns the engine's inventory settings. Manifests read from
// standard input have no directory to name the set after: without --set
// no inventory is kept, and --prune is refused.
func (s *setFlags) inventory(cfg Config, files []string) (*controller.Inventory, error) {
	name := s.set
	if name == "" && len(files) > 0 && files[0] != "-" {
		p, err := filepath.Abs(files[0])
		if err != nil {
			return nil, exitf(exitInvalid, "--set: %v", err)
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			p = filepath.Dir(p)
		}
		name = filepath.Base(p)
	}
	if name == "" {
		if s.prune {
			return nil, exitf(exitInvalid, "--prune needs a set name: manifests from standard input have no directory to name it after; pass --set NAME")
		}
		return nil, nil
	}
	if err := controller.CheckSetName(name); err != nil {
		if s.set == "" {
			return nil, exitf(exitInvalid, "the manifest set is named after the first -f directory, but %v; pass --set NAME", err)
		}
		return nil, exitf(exitInvalid, "--set: %v", err)
	}
	return &controller.Inventory{Set: name, Prune: s.prune, Absent: controller.SchemeAbsent(cfg.Scheme)}, nil
}

// printPruneNotes lists what left the manifests: removed, forgotten, or
// (without --prune) what pruning would do.
func printPruneNotes(p *printer, r *controller.Report) {
	if len(r.Prune) == 0 {
		return
	}
	if !r.Prune[0].Planned {
		fmt.Fprintln(p.w, "Left the manifests (apply --prune removes or forgets them):")
	} else {
		fmt.Fprintln(p.w, "Left the manifests:")
	}
	for _, n := range r.Prune {
		var what string
		switch {
		case n.Forget && n.Done:
			what = "forgotten, kept on the host: " + n.Reason
		case n.Forget:
			what = "to forget, keep on the host: " + n.Reason
		case n.Done:
			what = "pruned"
		case n.Deferred:
			what = "to prune once what is removed before it is gone"
		case n.Planned:
			what = "not pruned (see above)"
		default:
			what = "would be pruned"
		}
		fmt.Fprintf(p.w, "  %s: %s %s\n", safe(n.Host), safe(n.Resource.String()), what)
	}
}

// printNotes lists what the plan noted but no action can change, such as
// a live value the host withholds: shown every run, never counted as drift.
func printNotes(p *printer, r *controller.Report) {
	for _, n := range r.Notes {
		fmt.Fprintf(p.w, "%s %s: %s: %s\n", p.paint(yellow, "note:"), safe(n.Host), safe(n.Resource.String()), safe(n.Text))
	}
}

// savedPlan is what diff --out writes and apply --plan reads. It holds no
// secret: actions are stored as shown (redacted), and what they send only
// as digests.
type savedPlan struct {
	Version int `json:"version"`
	// Manifests is the digest of the manifests the plan was made from.
	Manifests string    `json:"manifestsDigest"`
	Files     []string  `json:"manifests"`
	Set       string    `json:"set,omitempty"`
	Prune     bool      `json:"prune,omitempty"`
	Created   time.Time `json:"created"`
	Who       string    `json:"who"`
	// Observed is, per host, the digest of what was observed and of each
	// resource's planned actions.
	Observed []controller.Observation `json:"observed"`
	// Plan is the plan as it was shown, for people to review; apply
	// --plan checks the digests above, not this.
	Plan json.RawMessage `json:"plan,omitempty"`
}

const savedPlanVersion = 1

// writeSavedPlan writes the plan file, readable by its owner only.
func writeSavedPlan(path string, sp *savedPlan) error {
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// readSavedPlan reads a plan file and checks it was made from these
// manifests.
func readSavedPlan(path string, set *manifest.Set) (*savedPlan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, exitf(exitInvalid, "--plan: %v", err)
	}
	var sp savedPlan
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, exitf(exitInvalid, "--plan %s: not a plan written by diff --out: %v", path, err)
	}
	if sp.Version != savedPlanVersion {
		return nil, exitf(exitInvalid, "--plan %s: version %d, this %s reads version %d: save the plan again", path, sp.Version, "build", savedPlanVersion)
	}
	if d := history.Digest(set); d != sp.Manifests {
		return nil, exitf(exitPlanStale, "--plan %s was made from other manifests (digest %.12s, now %.12s): nothing was changed; review a new plan (diff --out)",
			path, sp.Manifests, d)
	}
	return &sp, nil
}

// planStale maps an engine refusal of a saved plan to exit status 5.
func planStale(err error) error {
	var stale *controller.PlanStaleError
	if errors.As(err, &stale) {
		return &ExitError{Code: exitPlanStale, Err: fmt.Errorf("%w\nreview a new plan (diff --out) and apply that one", err)}
	}
	return err
}

// printObservedNote tells where the plan was saved.
func printSaved(w io.Writer, path string, hosts int) {
	fmt.Fprintf(w, "Plan saved to %s (%d %s observed); apply it with: apply --plan %s -f ...\n", path, hosts, plural(hosts, "host", "hosts"), path)
}
