package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func newFactsCmd(cfg Config) *cobra.Command {
	f := targetFlags{output: "text"}
	cmd := &cobra.Command{
		Use:   "facts -f PATH... [-l SELECTOR] [-o json]",
		Short: "Print the facts of every selected host",
		Long: `Print the facts of every selected host: what File templates see as .Facts
and what hostSelector.matchFacts matches (os.id, os.versionId, arch, cpus,
memoryMB, hostname, ...). They are read with one read-only command per host.
Exit status: 0 when every host answered, 1 otherwise.`,
		Example: `  optimus facts -f manifests/
  optimus facts -f manifests/ -l role=web -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, hosts, err := f.load(cmd, cfg)
			if err != nil {
				return err
			}
			results := gatherFacts(cmd.Context(), cfg.dial(), hosts, f.parallel)
			failed := 0
			for _, r := range results {
				if r.err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", safe(r.Host), safeBlock(r.err.Error(), "  "))
				}
			}
			if f.output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return err
				}
			} else {
				printFacts(cmd.OutOrStdout(), results)
			}
			if failed > 0 {
				return exitf(exitFailed, "facts: %d of %d %s did not answer", failed, len(results), plural(len(results), "host", "hosts"))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// hostFacts is one host's answer, as -o json prints it.
type hostFacts struct {
	Host  string              `json:"host"`
	Facts *v1alpha1.HostFacts `json:"facts,omitempty"`
	Error string              `json:"error,omitempty"`
	err   error
}

// gatherFacts reads the facts of every host, at most parallel at once,
// dialling as run and apply do (a tool's own connectors included).
func gatherFacts(ctx context.Context, dial controller.DialFunc, hosts []*v1alpha1.Host, parallel int) []hostFacts {
	results := make([]hostFacts, len(hosts))
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, h := range hosts {
		g.Go(func() error {
			r := hostFacts{Host: h.Metadata.Name}
			r.Facts, r.err = factsOf(ctx, dial, h)
			if r.err != nil {
				r.Error = r.err.Error()
			}
			results[i] = r
			return nil
		})
	}
	_ = g.Wait() // each host's error is in its result
	return results
}

func factsOf(ctx context.Context, dial controller.DialFunc, h *v1alpha1.Host) (*v1alpha1.HostFacts, error) {
	conn, err := dial(ctx, h)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res, err := transport.Run(ctx, conn, reconcilers.QueryFacts.Script)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("facts query exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return reconcilers.ParseHostFacts(string(res.Stdout))
}

// printFacts prints one block per host, a fact per line, under the names
// templates use.
func printFacts(w io.Writer, results []hostFacts) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s:\n", safe(r.Host))
		if r.Facts == nil {
			fmt.Fprintf(tw, "  error\t%s\n", safe(r.Error))
			continue
		}
		f := r.Facts
		for _, kv := range [][2]string{
			{".Facts.OS.ID", f.OS.ID}, {".Facts.OS.VersionID", f.OS.VersionID}, {".Facts.OS.PrettyName", f.OS.PrettyName},
			{".Facts.OS.Family", f.OS.Family()},
			{".Facts.Arch", f.Arch}, {".Facts.Kernel", f.Kernel}, {".Facts.CPUs", strconv.Itoa(f.CPUs)},
			{".Facts.MemoryMB", strconv.Itoa(f.MemoryMB)}, {".Facts.Hostname", f.Hostname},
			{".Facts.Addresses", strings.Join(f.Addresses, " ")},
		} {
			fmt.Fprintf(tw, "  %s\t%s\n", kv[0], safe(kv[1]))
		}
		for _, iface := range f.Interfaces {
			fmt.Fprintf(tw, "  interface %s\t%s\n", safe(iface.Name), safe(strings.Join(iface.Addresses, " ")))
		}
	}
	tw.Flush()
}
