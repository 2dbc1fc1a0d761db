package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// newGenDocsCmd is the hidden command release builds use to write the man
// pages and shell completions of the tool and its controller, from the
// same command tree users run, so they never drift from the flags.
func newGenDocsCmd(cfg Config) *cobra.Command {
	return &cobra.Command{
		Use:    "__gendocs DIR",
		Short:  "Write man pages (DIR/man/man1) and shell completions (DIR/completions)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := genDocs(cfg, args[0]); err != nil {
				return exitf(exitFailed, "__gendocs %s: %v", args[0], err)
			}
			return nil
		},
	}
}

// genDocs writes the documentation into dir. The pages' date comes from
// $SOURCE_DATE_EPOCH when set (cobra reads it), so that a release built
// twice from one commit has identical pages.
func genDocs(cfg Config, dir string) error {
	manDir := filepath.Join(dir, "man", "man1")
	compDir := filepath.Join(dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	header := &doc.GenManHeader{Section: "1", Source: "Optimus " + cfg.buildInfo().Version, Manual: "Optimus manual"}
	for _, root := range []*cobra.Command{NewRoot(cfg), NewControllerRoot(cfg)} {
		root.DisableAutoGenTag = true // the tag carries today's date
		stableDefaults(root)
		if err := doc.GenManTree(root, header, manDir); err != nil {
			return fmt.Errorf("man pages of %s: %w", root.Name(), err)
		}
		name := root.Name()
		gens := map[string]func(string) error{
			name + ".bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
			"_" + name:     root.GenZshCompletionFile,
			name + ".fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
		}
		for file, gen := range gens {
			if err := gen(filepath.Join(compDir, file)); err != nil {
				return fmt.Errorf("completion %s: %w", file, err)
			}
		}
	}
	return nil
}

// stableDefaults replaces defaults that depend on who builds (the state
// directory is under the builder's home unless root) by their rule.
func stableDefaults(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "state-dir" && f.DefValue != "" {
				f.DefValue = "/var/lib/NAME as root, else $XDG_STATE_HOME/NAME or ~/.local/state/NAME"
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
