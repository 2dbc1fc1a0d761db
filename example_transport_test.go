package optimus_test

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/cli"
	"github.com/optimus-cm/optimus/transport"
)

// PodSettings are what a Host with transport kubectl says in spec.settings.
type PodSettings struct {
	Pod       string `json:"pod" validate:"required"`
	Namespace string `json:"namespace,omitempty"`
}

// A tool reaches hosts its own way: here, a shell in a Kubernetes pod.
// The connector's settings are checked when the manifests load, with the
// file and line of every problem.
func ExampleWithTransports() {
	kubectl := transport.NewConnector("kubectl", func(ctx context.Context, h *v1alpha1.Host, s *PodSettings) (transport.Conn, error) {
		argv := []string{"kubectl", "exec", "-i", s.Pod}
		if s.Namespace != "" {
			argv = append(argv, "-n", s.Namespace)
		}
		return transport.DialCommand(ctx, h, "pod "+s.Pod, append(argv, "--")...)
	})
	cfg, err := optimus.Config(optimus.WithName("mytool"), optimus.WithTransports(kubectl))
	if err != nil {
		panic(err)
	}
	manifest := `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: api}
spec:
  transport: kubectl
  settings: {namespace: prod}
`
	cli.Run(cfg, []string{"validate", "-f", "-"}, strings.NewReader(manifest), io.Discard, os.Stdout)
	// Output:
	// mytool: invalid manifests (1 error):
	// <stdin>:6: Host/api: spec.settings.pod: is required
}
