package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/manifest"
)

// targetFlags are the flags shared by commands that work on hosts.
type targetFlags struct {
	files    []string
	selector string
	parallel int
	output   string
	// junit allows -o junit (apply and diff).
	junit bool
}

func (f *targetFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil, "manifest file or directory (repeatable; - reads stdin)")
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "only hosts whose labels match, as in kubectl: role=web,env!=prod")
	cmd.Flags().IntVar(&f.parallel, "parallel", 32, "hosts worked on at once")
	formats := "output format: text, wide (every host in the summary) or json"
	if f.junit {
		formats = "output format: text, wide (every host in the summary), json, or junit (JUnit XML: a test suite per host, a test case per resource)"
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", formats)
	_ = cmd.MarkFlagRequired("filename")
}

// load reads the manifests and selects the hosts; every problem is an
// ExitError with code 1 (invalid manifests or usage).
func (f *targetFlags) load(cmd *cobra.Command, cfg Config) (*manifest.Set, []*v1alpha1.Host, error) {
	switch {
	case f.output == "text" || f.output == "wide" || f.output == "json":
	case f.output == "junit" && f.junit:
	case f.junit:
		return nil, nil, exitf(exitInvalid, "--output must be text, wide, json or junit, not %q", f.output)
	default:
		return nil, nil, exitf(exitInvalid, "--output must be text, wide or json, not %q", f.output)
	}
	if f.parallel < 1 {
		return nil, nil, exitf(exitInvalid, "--parallel must be at least 1")
	}
	sel, err := v1alpha1.ParseSelector(f.selector)
	if err != nil {
		return nil, nil, exitf(exitInvalid, "-l: %v", err)
	}
	set, err := loadManifests(cfg, f.files, cmd.InOrStdin())
	if err != nil {
		return nil, nil, err
	}
	printWarnings(cmd.ErrOrStderr(), set)
	if err := set.CheckSecrets(); err != nil {
		return nil, nil, &ExitError{Code: exitInvalid, Err: fmt.Errorf("secrets cannot be read; nothing was changed:\n%w", err)}
	}
	var hosts []*v1alpha1.Host
	for _, h := range set.Hosts() {
		if sel.Matches(h.Metadata.Labels) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, nil, exitf(exitInvalid, "no Host resource matches (selector %q); nothing to do", f.selector)
	}
	return set, hosts, nil
}

// confirmPrompt asks the user before acting; without a terminal it refuses
// rather than hang or act unasked.
func confirmPrompt(in io.Reader, out io.Writer) func(context.Context, *controller.Plan) (bool, error) {
	return func(ctx context.Context, _ *controller.Plan) (bool, error) {
		if !isTerminal(in) {
			return false, exitf(exitInvalid, "the plan above needs confirmation but stdin is not a terminal; pass --yes to apply without asking")
		}
		fmt.Fprint(out, "Proceed? [y/N] ")
		answer := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(in).ReadString('\n')
			answer <- strings.ToLower(strings.TrimSpace(line))
		}()
		select {
		case a := <-answer:
			return a == "y" || a == "yes", nil
		case <-ctx.Done():
			return false, nil
		}
	}
}
