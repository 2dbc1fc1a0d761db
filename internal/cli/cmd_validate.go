package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/manifest"
	"github.com/optimus-cm/optimus/internal/termsafe"
)

func newValidateCmd(cfg Config) *cobra.Command {
	var files, varsOf []string
	cmd := &cobra.Command{
		Use:   "validate -f PATH... [--vars HOST]...",
		Short: "Check manifests without touching any host",
		Long: "Validate loads the manifests and checks the whole set: syntax, unknown fields, types,\n" +
			"allowed values, duplicate names, dangling references and dependency cycles.\n" +
			"Every error is printed as file:line: Kind/name: field: message. Exit status 1 when invalid.\n\n" +
			"--vars HOST prints the host's variables as merged (GroupVars, then its HostGroup,\n" +
			"then its own vars), each with the resource and file:line its value comes from and\n" +
			"what it overrides; --vars all prints every host's.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := loadManifests(cfg, files, cmd.InOrStdin())
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), set)
			if len(varsOf) > 0 {
				return printVars(cmd.OutOrStdout(), set, varsOf)
			}
			n, h := len(set.Resources), len(set.Hosts())
			fmt.Fprintf(cmd.OutOrStdout(), "%d %s valid (%d %s)\n", n, plural(n, "resource", "resources"), h, plural(h, "host", "hosts"))
			return nil
		},
	}
	addFilenameFlag(cmd, &files)
	cmd.Flags().StringArrayVar(&varsOf, "vars", nil, "print the variables of HOST and where each comes from; all: every host (repeatable)")
	return cmd
}

// printVars writes one line per variable of each named host: its value,
// the resource that set it, and what that overrides.
func printVars(w io.Writer, set *manifest.Set, names []string) error {
	var hosts []*v1alpha1.Host
	known := map[string]*v1alpha1.Host{}
	for _, h := range set.Hosts() {
		known[h.Metadata.Name] = h
	}
	for _, n := range names {
		if n == "all" {
			hosts = set.Hosts()
			break
		}
		h, ok := known[n]
		if !ok {
			return exitf(exitInvalid, "--vars %s: no Host of that name in the manifests", termsafe.Line(n))
		}
		hosts = append(hosts, h)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tVARIABLE\tVALUE\tFROM")
	for _, h := range hosts {
		vars := set.Vars(h.Metadata.Name)
		if len(vars) == 0 {
			fmt.Fprintf(tw, "%s\t(none)\t\t\n", termsafe.Line(h.Metadata.Name))
		}
		for _, v := range vars {
			from := v.From + " at " + v.At
			for _, o := range v.Overrides {
				from += "; overrides " + o.From + " at " + o.At + " (" + varText(o.Value) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", termsafe.Line(h.Metadata.Name), termsafe.Line(v.Name),
				termsafe.Line(varText(v.Value)), termsafe.Line(from))
		}
	}
	return tw.Flush()
}

// varText shows a value as ${vars.x} would write it; lists and mappings
// as JSON.
func varText(v any) string {
	if s, ok, err := v1alpha1.LookupVar(map[string]any{"v": v}, "v"); ok && err == nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(string(b))
}
