package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/status"
)

func newGetCmd(_ Config) *cobra.Command {
	var (
		src    statusSource
		output string
		hosts  = hostFilter{chunkSize: status.DefaultLimit}
	)
	cmd := &cobra.Command{
		Use:       "get hosts|resources|replicas",
		Short:     "List hosts or resources with their status, from optimus-controller",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"hosts", "resources", "replicas"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "wide" && output != "yaml" && output != "json" && output != "name" {
				return exitf(exitInvalid, "--output must be wide, yaml, json or name, not %q", output)
			}
			what := args[0]
			switch what {
			case "host", "hosts":
				return getHosts(cmd.OutOrStdout(), &src, &hosts, output)
			case "resource", "resources":
				what = "resources"
			case "replica", "replicas":
				what = "replicas"
			default:
				return exitf(exitInvalid, "cannot get %q: use hosts, resources or replicas", args[0])
			}
			if hosts.selector != "" || hosts.state != "" {
				return exitf(exitInvalid, "--selector and --state select hosts: use them with get hosts")
			}
			var st *v1alpha1.ControllerStatus
			var err error
			if what == "replicas" {
				st, err = src.replicas()
			} else {
				st, err = src.fetch()
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var items any = st.Resources
			if what == "replicas" {
				items = st.Replicas
			}
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			case "yaml":
				b, err := yaml.Marshal(items)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			case "name":
				switch what {
				case "replicas":
					for _, r := range st.Replicas {
						fmt.Fprintf(out, "replica/%s\n", safe(r.ID))
					}
				default:
					for _, r := range st.Resources {
						fmt.Fprintf(out, "%s/%s\n", safe(r.Kind), safe(r.Name))
					}
				}
				return nil
			}
			switch what {
			case "replicas":
				if len(st.Replicas) == 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "no replicas: the controller runs alone (no --etcd-endpoints)")
					return nil
				}
				printReplicas(out, st.Replicas)
			default:
				printResources(out, st.Resources, output == "wide")
			}
			return nil
		},
	}
	src.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, yaml, json or name")
	cmd.Flags().StringVarP(&hosts.selector, "selector", "l", "", "hosts only: list the hosts with these labels (key=value[,key2=value2])")
	cmd.Flags().StringVar(&hosts.state, "state", "", "hosts only: list the hosts in these states (ready, quarantined, pending; comma-separated)")
	cmd.Flags().IntVar(&hosts.chunkSize, "chunk-size", status.DefaultLimit, "hosts only: ask the controller for this many hosts per request, printing each page as it arrives")
	return cmd
}

// printHostRows prints hosts as a table, with the header when asked:
// get hosts prints page by page, and the header once.
func printHostRows(w io.Writer, hosts []v1alpha1.HostStatus, wide, shared, withHeader bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	header := "NAME\tREADY\tSTATUS\tRESOURCES\tLAST RUN"
	if shared {
		header += "\tREPLICA"
	}
	if wide {
		header += "\tADDRESS\tGENERATION\tNEXT RETRY\tMESSAGE"
	}
	if withHeader {
		fmt.Fprintln(tw, header)
	}
	for _, h := range hosts {
		ready, reason, msg := condition(h.Conditions, v1alpha1.ConditionReady)
		// A quarantined host shows why (HostKeyMismatch, AuthFailed, ...).
		if q, why, _ := condition(h.Conditions, v1alpha1.ConditionQuarantined); q == "True" {
			reason = why
			if reason == "" {
				reason = "Quarantined"
			}
		}
		if r, _, _ := condition(h.Conditions, v1alpha1.ConditionReconciling); r == "True" {
			reason = "Reconciling"
		}
		// A host a halted rollout failed on, or one kept on its previous
		// generation, says so even while it is being reconciled.
		if _, why, _ := condition(h.Conditions, v1alpha1.ConditionRollout); why == "RolloutHalted" || why == "RolloutPending" {
			reason = why
		}
		last := "<none>"
		if h.LastRun != nil {
			last = ago(h.LastRun.Start)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%s", safe(h.Name), safe(ready), safe(orNone(reason)), h.Resources, last)
		if shared {
			line += "\t" + safe(orNone(h.Replica))
		}
		if wide {
			next := "<none>"
			if h.NextRetry != nil {
				next = h.NextRetry.Format("15:04:05")
			}
			line += fmt.Sprintf("\t%s\t%s\t%s\t%s", safe(orNone(h.Address)), safe(orNone(h.ObservedGeneration)), next, safe(msg))
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

// printReplicas lists the replicas sharing the fleet: hosts owned, how
// long each has held its lease and how much of it is left.
func printReplicas(w io.Writer, replicas []v1alpha1.ReplicaStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTS\tLEASE AGE\tLEASE TTL\tIN SYNC\tDIGEST")
	for _, r := range replicas {
		digest := r.Digest
		if len(digest) > 12 {
			digest = digest[:12]
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%ds\t%t\t%s\n", safe(r.ID), r.Hosts, ago(r.Since), r.LeaseTTL, r.InSync, safe(orNone(digest)))
	}
	_ = tw.Flush()
}

func printResources(w io.Writer, resources []v1alpha1.ResourceStatus, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	header := "KIND\tNAME\tREADY\tHOSTS"
	if wide {
		header += "\tGENERATION\tMESSAGE"
	}
	fmt.Fprintln(tw, header)
	for _, r := range resources {
		ready, _, msg := condition(r.Conditions, v1alpha1.ConditionReady)
		converged := 0
		for _, h := range r.Hosts {
			if h.State == v1alpha1.ResourceConverged {
				converged++
			}
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d/%d", safe(r.Kind), safe(r.Name), safe(ready), converged, len(r.Hosts))
		if wide {
			line += fmt.Sprintf("\t%s\t%s", safe(r.ObservedGeneration), safe(msg))
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
