// Command mytool is a configuration tool built with Optimus from two
// built-in kinds (User, File), one of its own (Motd), and desired state
// written in Go next to the YAML manifests.
package main

import (
	"fmt"

	"github.com/optimus-cm/optimus"
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/user"

	"example.com/mytool/motd"
)

func main() {
	optimus.Main(
		optimus.WithName("mytool"),
		optimus.WithKinds(user.Kind, file.Kind, motd.Kind),
		optimus.WithDesiredState(perHost),
	)
}

// perHost declares, in Go, what every host gets given its name and labels:
// a file saying who it is.
func perHost(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
	content := fmt.Sprintf("host %s, role %s\n", h.Metadata.Name, h.Metadata.Labels["role"])
	return []*v1alpha1.Resource{{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "File"},
		Metadata: v1alpha1.ObjectMeta{Name: "identity-" + h.Metadata.Name},
		Spec:     &v1alpha1.FileSpec{Path: "/etc/mytool-host", Content: &content, Mode: "0644"},
	}}, nil
}
