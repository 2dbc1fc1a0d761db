package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func newDescribeCmd(_ Config) *cobra.Command {
	var src statusSource
	cmd := &cobra.Command{
		Use:   "describe host NAME",
		Short: "Show one host's conditions, last run and resources, from optimus-controller",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "host" && args[0] != "hosts" {
				return exitf(exitInvalid, "cannot describe %q: only host is supported", args[0])
			}
			st, err := src.fetch()
			if err != nil {
				return err
			}
			for _, h := range st.Hosts {
				if h.Name == args[1] {
					describeHost(cmd.OutOrStdout(), h, st.Resources)
					return nil
				}
			}
			var names []string
			for _, h := range st.Hosts {
				names = append(names, h.Name)
			}
			return exitf(exitInvalid, "host %q not found (hosts: %v)", args[1], names)
		},
	}
	src.register(cmd)
	return cmd
}

func describeHost(w io.Writer, h v1alpha1.HostStatus, resources []v1alpha1.ResourceStatus) {
	fmt.Fprintf(w, "Name:         %s\n", safe(h.Name))
	fmt.Fprintf(w, "Address:      %s\n", safe(orNone(h.Address)))
	fmt.Fprintf(w, "Resources:    %d\n", h.Resources)
	fmt.Fprintf(w, "Generation:   %s\n", safe(orNone(h.ObservedGeneration)))
	fmt.Fprintln(w, "Conditions:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tLAST TRANSITION\tMESSAGE")
	for _, c := range h.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s ago\t%s\n", safe(c.Type), safe(string(c.Status)), safe(orNone(c.Reason)), ago(c.LastTransitionTime), safe(c.Message))
	}
	_ = tw.Flush()
	if r := h.LastRun; r != nil {
		fmt.Fprintf(w, "Last Run:     %s, %s ago, took %s, %d cycles, %d changed, %d failed\n",
			safe(string(r.Result)), ago(r.Start), r.Duration.Round(1e6), r.Cycles, r.Changed, r.Failed)
	}
	if h.LastError != "" {
		fmt.Fprintf(w, "Last Error:   %s\n", safeBlock(h.LastError, "              "))
	}
	if h.NextRetry != nil {
		fmt.Fprintf(w, "Next Retry:   %s (%d consecutive failures)\n", h.NextRetry.Format("2006-01-02T15:04:05Z07:00"), h.Failures)
	}
	fmt.Fprintln(w, "Resources on this host:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range resources {
		for _, rh := range r.Hosts {
			if rh.Host == h.Name {
				fmt.Fprintf(tw, "  %s/%s\t%s\t%s\n", safe(r.Kind), safe(r.Name), safe(string(rh.State)), safe(rh.Message))
			}
		}
	}
	_ = tw.Flush()
}
