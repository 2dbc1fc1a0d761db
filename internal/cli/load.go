package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/termsafe"
)

// addFilenameFlag registers the repeatable, required -f/--filename flag.
func addFilenameFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "filename", "f", nil,
		"manifest file or directory, searched recursively for *.yaml and *.yml; - reads standard input (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
}

// loadManifests loads and validates the whole manifest set. When the
// manifests are invalid the error is an *ExitError with code 1 whose message
// is a summary line followed by every problem, one per line, as
// "file:line: Kind/name: field: message"; errors.As finds the
// manifest.ErrorList in it. The caller prints set.Warnings (printWarnings).
func loadManifests(cfg Config, paths []string, stdin io.Reader) (*manifest.Set, error) {
	l := &manifest.Loader{Scheme: cfg.Scheme, Stdin: stdin, Declare: cfg.Declare}
	if cfg.Registry != nil {
		// Implicit ordering edges take part in cycle detection.
		l.Edges = cfg.Registry.Dependencies
		// Templates are checked against each host's vars.
		l.CheckHost = cfg.Registry.CheckHost
	}
	set, err := l.Load(paths...)
	var list manifest.ErrorList
	if errors.As(err, &list) {
		return nil, &ExitError{Code: exitInvalid, Err: invalidManifests{list}}
	}
	if err != nil {
		return nil, &ExitError{Code: exitInvalid, Err: err}
	}
	return set, nil
}

// invalidManifests prints as "invalid manifests (N errors):" and the list.
type invalidManifests struct{ list manifest.ErrorList }

func (e invalidManifests) Error() string {
	noun := "errors"
	if len(e.list) == 1 {
		noun = "error"
	}
	return fmt.Sprintf("invalid manifests (%d %s):\n%v", len(e.list), noun, e.list)
}

func (e invalidManifests) Unwrap() error { return e.list }

// printWarnings writes the warnings of a loaded set, one per line.
func printWarnings(w io.Writer, set *manifest.Set) {
	for _, warning := range set.Warnings {
		fmt.Fprintln(w, "warning: "+termsafe.Text(warning))
	}
}
