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
	"golang.org/x/sync/errgroup"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/termsafe"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func newRunCmd(cfg Config) *cobra.Command {
	f := targetFlags{output: "text"}
	raw := false
	cmd := &cobra.Command{
		Use:   "run -f PATH... [-l SELECTOR] -- COMMAND...",
		Short: "Run a shell command on every selected host",
		Long: `Run a shell command on every selected host, in parallel.

The words after -- are joined with spaces and run by sh on each host, as ssh
does. Each line of output is prefixed with [host]; a summary follows.
Control characters in the output (escape sequences, carriage returns) are
shown escaped (\x1b) unless --raw is given; at most 8 MiB of each host's
output is kept.
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
			results := runOnHosts(cmd.Context(), cfg.dial(), hosts, strings.Join(args, " "), f.parallel, raw, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if failed := printRunSummary(cmd.OutOrStdout(), results); failed > 0 {
				return exitf(exitFailed, "failed on %d of %d %s", failed, len(results), plural(len(results), "host", "hosts"))
			}
			return nil
		},
	}
	addFilenameFlag(cmd, &f.files)
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "only hosts whose labels match, as in kubectl: role=web,env!=prod")
	cmd.Flags().IntVar(&f.parallel, "parallel", 32, "hosts worked on at once")
	cmd.Flags().BoolVar(&raw, "raw", false, "print the commands' output as it is, control characters included")
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
func runOnHosts(ctx context.Context, dial controller.DialFunc, hosts []*v1alpha1.Host, script string, parallel int, raw bool, stdout, stderr io.Writer) []hostRun {
	results := make([]hostRun, len(hosts))
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, h := range hosts {
		g.Go(func() error {
			start := time.Now()
			r := hostRun{host: h.Metadata.Name}
			if c, err := dial(ctx, h); err != nil {
				r.err = err
			} else {
				r.reached = true
				r.result, r.err = runOne(ctx, c, script)
				c.Close()
			}
			r.duration = time.Since(start)
			results[i] = r
			mu.Lock()
			defer mu.Unlock()
			prefixLines(stdout, r.host, r.result.Stdout, raw)
			prefixLines(stderr, r.host, r.result.Stderr, raw)
			if r.result.Truncated {
				prefixLines(stderr, r.host, fmt.Appendf(nil, "optimus: the output was cut: only the first %s of %s were kept",
					reconcilers.Size(runOutputLimit), reconcilers.Size(r.result.StdoutSize)), false)
			}
			if r.err != nil {
				prefixLines(stderr, r.host, []byte("error: "+r.err.Error()), false)
			}
			return nil
		})
	}
	_ = g.Wait() // each host's error is in its result
	return results
}

// runOutputLimit is how much of a host's output optimus run keeps: a
// command that prints gigabytes costs this much, not the gigabytes.
const runOutputLimit = 8 << 20

func runOne(ctx context.Context, c transport.Conn, script string) (transport.Result, error) {
	rs, err := c.Batch(ctx, []transport.Command{{Script: script, MaxStdout: runOutputLimit}})
	if err != nil {
		return transport.Result{}, err
	}
	return rs[0], nil
}

// prefixLines writes each line of b as "[host] line", escaped unless raw.
func prefixLines(w io.Writer, host string, b []byte, raw bool) {
	if len(b) == 0 {
		return
	}
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		out.WriteString("[" + safe(host) + "] ")
		if raw {
			out.Write(line)
		} else {
			out.WriteString(termsafe.Bytes(line))
		}
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
			status = "unreachable: " + oneLine(ce.Err.Error())
		case errors.As(r.err, &ce):
			status = "error: " + oneLine(ce.Err.Error())
		case r.err != nil:
			status = "error: " + oneLine(r.err.Error())
		}
		if r.err != nil || r.result.ExitCode != 0 {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", safe(r.host), safe(status), r.duration.Round(time.Millisecond))
	}
	tw.Flush()
	return failed
}
