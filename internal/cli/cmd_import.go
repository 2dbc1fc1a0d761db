package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/internal/importer/ansible"
)

func newImportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert another tool's configuration into manifests",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImportAnsibleCmd())
	return cmd
}

func newImportAnsibleCmd() *cobra.Command {
	var inventory, outDir string
	cmd := &cobra.Command{
		Use:   "ansible [-i INVENTORY] [PLAYBOOK.yml|ROLE_DIR...] [-o DIR]",
		Short: "Convert an Ansible inventory, playbooks and roles into manifests",
		Long: `Convert an Ansible inventory into Hosts (groups become labels
groups.optimus.dev/GROUP: "true", variables become vars, secrets become
{env: NAME} references) and playbooks or roles into resources of the
matching kinds. What cannot be converted is listed with its file:line on
standard error and kept in the output as a commented placeholder.
See docs/migrating-from-ansible.md.

Exit status: 0 when everything was converted, 1 on an error (nothing is
written), 2 when the manifests were written but something was left out.`,
		Example: `  optimus import ansible -i inventory.ini
  optimus import ansible -i inventory/ site.yml -o manifests/
  optimus import ansible roles/nginx -o manifests/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if inventory == "" && len(args) == 0 {
				return exitf(1, "import ansible: give an inventory (-i), a playbook or a role directory")
			}
			res, err := ansible.Import(ansible.Options{Inventory: inventory, Sources: args})
			if err != nil {
				return exitf(1, "import ansible: %v", err)
			}
			if outDir != "" {
				if err := res.WriteDir(outDir); err != nil {
					return exitf(1, "import ansible: %v", err)
				}
			} else if _, err := res.WriteTo(cmd.OutOrStdout()); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			skipped := res.Skipped()
			for _, s := range skipped {
				fmt.Fprintln(stderr, s)
			}
			if len(skipped) > 0 {
				return exitf(2, "import ansible: %s (kept as comments marked NOT CONVERTED)", res.Summary())
			}
			fmt.Fprintf(stderr, "import ansible: %s\n", res.Summary())
			return nil
		},
	}
	cmd.Flags().StringVarP(&inventory, "inventory", "i", "", "Ansible inventory: an INI or YAML file, or a directory of them (group_vars/ and host_vars/ beside it are read)")
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "", "write one manifest file per inventory and role into this directory instead of standard output")
	return cmd
}
