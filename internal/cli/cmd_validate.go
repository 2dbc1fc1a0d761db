package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(cfg Config) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "validate -f PATH...",
		Short: "Check manifests without touching any host",
		Long: "Validate loads the manifests and checks the whole set: syntax, unknown fields, types,\n" +
			"allowed values, duplicate names, dangling references and dependency cycles.\n" +
			"Every error is printed as file:line: Kind/name: field: message. Exit status 1 when invalid.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := loadManifests(cfg, files, cmd.InOrStdin())
			if err != nil {
				return err
			}
			printWarnings(cmd.ErrOrStderr(), set)
			n, h := len(set.Resources), len(set.Hosts())
			fmt.Fprintf(cmd.OutOrStdout(), "%d %s valid (%d %s)\n", n, plural(n, "resource", "resources"), h, plural(h, "host", "hosts"))
			return nil
		},
	}
	addFilenameFlag(cmd, &files)
	return cmd
}
