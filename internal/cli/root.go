package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller"
	"github.com/optimus-cm/optimus/internal/termsafe"
	"github.com/optimus-cm/optimus/internal/version"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// Config is what a tool built with Optimus is made of.
type Config struct {
	// Name of the binary, shown in help and errors.
	Name string
	// Scheme holds the kinds the tool understands.
	Scheme *v1alpha1.Scheme
	// Registry maps each kind to its reconciler.
	Registry *reconcilers.Registry
	// Declare, when set, adds desired state written in Go for each Host
	// of the manifests (see manifest.Loader.Declare).
	Declare func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
	// Version, when set, is the version the version command and the
	// controller report, in place of the one Go recorded in the binary.
	Version string
	// Transports holds the connectors hosts are reached with; nil means
	// the built-in ones (transport.Dial).
	Transports *transport.Registry
}

// dial is how the tool opens host connections: through its own
// connectors, which also share bastion connections across hosts.
func (cfg Config) dial() controller.DialFunc {
	if cfg.Transports == nil {
		return transport.Dial
	}
	return cfg.Transports.Dial
}

// ExitError carries the process exit code a command wants, with an optional
// message already meant for the terminal.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// NewRoot builds the command tree.
func NewRoot(cfg Config) *cobra.Command {
	root := &cobra.Command{
		Use:           cfg.Name,
		Short:         "Declarative, fast configuration management",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Every command is registered here, in one place.
	root.AddCommand(
		newVersionCmd(cfg),
		newValidateCmd(cfg),
		newExplainCmd(cfg),
		newSchemaCmd(cfg),
		newApplyCmd(cfg),
		newDiffCmd(cfg),
		newHistoryCmd(cfg),
		newGetCmd(cfg),
		newRolloutCmd(cfg),
		newDescribeCmd(cfg),
		newControllerCmd(cfg, "controller"),
		newRunCmd(cfg),
		newFactsCmd(cfg),
		newGenDocsCmd(cfg),
		newImportCmd(),
	)
	return root
}

// Main runs the CLI with os.Args and returns the process exit code.
func Main(cfg Config) int {
	return Run(cfg, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs the CLI with explicit arguments and streams; tests use it.
func Run(cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot(cfg)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return exitCode(cfg.Name, root.Execute(), stderr)
}

// exitCode prints err for the terminal and maps it to a process exit code.
func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", name, termsafe.Text(ee.Err.Error()))
		}
		return ee.Code
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, termsafe.Text(err.Error()))
	return exitFailed
}

func newVersionCmd(cfg Config) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Long: `Print which build this is: the release version (or "devel" for a build
from a source tree), the commit it was built from and whether the tree had
uncommitted changes, the commit's date, and the Go toolchain.
-o json prints the same for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := cfg.buildInfo()
			switch output {
			case "text":
				fmt.Fprint(cmd.OutOrStdout(), version.String(cfg.Name, info))
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return exitf(exitInvalid, "-o %s: want text or json", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// buildInfo is the running build, with the version the tool was given
// (WithVersion) in place of the one Go recorded, when there is one.
func (cfg Config) buildInfo() v1alpha1.BuildInfo {
	info := version.Get()
	if cfg.Version != "" {
		info.Version = cfg.Version
	}
	return info
}
