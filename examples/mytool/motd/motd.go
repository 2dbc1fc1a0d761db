package motd

import (
	"context"
	"fmt"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Spec is the message of the day of a host.
type Spec struct {
	v1alpha1.Targeting `json:",inline"`
	// Message is the text shown at login.
	Message string `json:"message" validate:"required,max=4096"`
	// Path of the motd file. Default /etc/motd.
	Path string `json:"path,omitempty" validate:"omitempty,abspath"`
}

// Default fills in the path.
func (s *Spec) Default(*v1alpha1.ObjectMeta) {
	if s.Path == "" {
		s.Path = "/etc/motd"
	}
}

// FieldDocs gives explain and schema the doc comments above.
func (*Spec) FieldDocs() map[string]string { return docs }

// Kind is the Motd kind, for optimus.WithKinds.
var Kind = reconcilers.NewKind[Spec]("mytool.example.com/v1", "Motd", "The message of the day.", Reconciler{})

// Reconciler converges Motd resources; it receives every spec as *Spec.
type Reconciler struct{}

var _ reconcilers.TypedReconciler[Spec] = Reconciler{}

// Kind implements reconcilers.TypedReconciler.
func (Reconciler) Kind() string { return "Motd" }

// contentLimit bounds the motd read back for comparison; a longer file is
// rewritten.
const contentLimit = 8192

// Queries reads every motd file of the host with one command, which the
// engine merges with the path queries of the other kinds.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[Spec]) []reconcilers.Query {
	return reconcilers.QueryPaths(objs, func(s *Spec) reconcilers.PathRequest {
		return reconcilers.PathRequest{Path: s.Path, ContentLimit: contentLimit}
	})
}

// Plan writes the file when its content, or its mode, differs.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[Spec]) ([]reconcilers.Action, error) {
	s := req.Spec
	cur, err := reconcilers.FindPath(req.Facts, s.Path)
	if err != nil {
		return nil, err
	}
	if cur.Exists && cur.Type != reconcilers.TypeFile {
		return nil, fmt.Errorf("%s is %s, not a regular file", s.Path, cur.Describe())
	}
	want := strings.TrimRight(s.Message, "\n") + "\n"
	current := string(cur.Content)
	if cur.HasContent && current == want && cur.Mode == 0o644 {
		return nil, nil
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "write the message of the day to " + s.Path,
		Changes:     []reconcilers.Change{{Field: "message", Before: strings.TrimSpace(current), After: strings.TrimSpace(want)}},
		Script:      reconcilers.AtomicWriteScript(s.Path, "0644", ""),
		Stdin:       []byte(want),
	}}, nil
}
