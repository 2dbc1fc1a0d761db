package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/transport"
)

func newRunCmd(cfg Config) *cobra.Command {
	f := targetFlags{output: "text"}
	cmd := &cobra.Command{
		Use:   "run -f PATH... [-l SELECTOR] -- COMMAND...",
		Short: "Run a shell command on every selected host",
		Long: `Run a shell command on every selected host, in parallel.

The words after -- are joined with spaces and run by sh on each host, as ssh
does. Each line of output is prefixed with [host]; a summary follows.
Exit status: 0 when the command exited 0 everywhere, 1 when it failed on a
host or a host could not be reached (or the manifests are invalid).`,
		Example: `  optimus run -f manifests/ -- hostname
  optimus run -f manifests/ -l role=web -- 'systemctl is-active nginx || true'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, hosts, err := f.load(cmd, cfg)
			if err != nil {
				return err
			}
			results := runOnHosts(cmd.Context(), cfg.dial(), hosts, strings.Join(args, " "), f.parallel, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if failed := printRunSummary(cmd.OutOrStdout(), results); failed > 0 {
				return exitf(1, "failed on %d of %d %s", failed, len(results), plural(len(results), "host", "hosts"))
			}
			return nil
		},
	}
	addFilenameFlag(cmd, &f.files)
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "only hosts whose labels match, as in kubectl: role=web,env!=prod")
	cmd.Flags().IntVar(&f.parallel, "parallel", 32, "hosts worked on at once")
	return cmd
}

// hostRun is what the command did on one host.
type hostRun struct {
	host     string
	result   transport.Result
	err      error
	reached  bool // the connection was made; err came later
	duration time.Duration
}

// runOnHosts runs script on each host, at most parallel at once. A host's
// output is printed in one piece when it finishes, so hosts never interleave
// within a line; an unreachable host costs only its own connect timeout.
func runOnHosts(ctx context.Context, dial controller.DialFunc, hosts []*v1alpha1.Host, script string, parallel int, stdout, stderr io.Writer) []hostRun {
	results := make([]hostRun, len(hosts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, h := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			r := hostRun{host: h.Metadata.Name}
			if c, err := dial(ctx, h); err != nil {
				r.err = err
			} else {
				r.reached = true
				r.result, r.err = transport.Run(ctx, c, script)
				c.Close()
			}
			r.duration = time.Since(start)
			results[i] = r
			mu.Lock()
			defer mu.Unlock()
			prefixLines(stdout, r.host, r.result.Stdout)
			prefixLines(stderr, r.host, r.result.Stderr)
			if r.err != nil {
				prefixLines(stderr, r.host, []byte("error: "+r.err.Error()))
			}
		})
	}
	wg.Wait()
	return results
}

// prefixLines writes each line of b as "[host] line".
func prefixLines(w io.Writer, host string, b []byte) {
	if len(b) == 0 {
		return
	}
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		out.WriteString("[" + host + "] ")
		out.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	w.Write(out.Bytes())
}

// printRunSummary prints one line per host and returns how many failed.
func printRunSummary(w io.Writer, results []hostRun) int {
	failed := 0
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nHOST\tRESULT\tTIME")
	for _, r := range results {
		status := fmt.Sprintf("exit %d", r.result.ExitCode)
		var ce *transport.ConnectError
		switch {
		case errors.As(r.err, &ce) && !r.reached:
			status = "unreachable: " + ce.Err.Error()
		case errors.As(r.err, &ce):
			status = "error: " + ce.Err.Error()
		case r.err != nil:
			status = "error: " + r.err.Error()
		}
		if r.err != nil || r.result.ExitCode != 0 {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.host, status, r.duration.Round(time.Millisecond))
	}
	tw.Flush()
	return failed
}
