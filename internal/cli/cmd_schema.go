package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/internal/manifest"
)

func newSchemaCmd(cfg Config) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of manifests, for editors",
		Long: "Schema prints a JSON Schema (draft 2020-12) of one manifest document of every kind.\n" +
			"Save it and point your editor's YAML language server at it, for example with\n" +
			"# yaml-language-server: $schema=optimus.schema.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := manifest.JSONSchema(cfg.Scheme)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			return err
		},
	}
}
