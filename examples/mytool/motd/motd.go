package motd

import (
	"context"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
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

// Reconciler converges Motd resources.
type Reconciler struct{}

var _ reconcilers.Reconciler = Reconciler{}

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return "Motd" }

// Queries reads every motd file of the host in one command.
func (Reconciler) Queries(_ *v1alpha1.Host, res []*v1alpha1.Resource) []reconcilers.Query {
	var qs []reconcilers.Query
	for _, r := range res {
		p := r.Spec.(*Spec).Path
		qs = append(qs, reconcilers.Query{Key: "motd " + p, Script: "cat " + transport.Quote(p) + " 2>/dev/null || true"})
	}
	return qs
}

// Plan writes the file when its content differs.
func (Reconciler) Plan(_ context.Context, req reconcilers.Request) ([]reconcilers.Action, error) {
	s := req.Resource.Spec.(*Spec)
	current, err := req.Facts.Stdout("motd " + s.Path)
	if err != nil {
		return nil, err
	}
	want := strings.TrimRight(s.Message, "\n") + "\n"
	if current == want {
		return nil, nil
	}
	tmp := transport.Quote(s.Path + ".mytool")
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "write the message of the day to " + s.Path,
		Changes:     []reconcilers.Change{{Field: "message", Before: strings.TrimSpace(current), After: strings.TrimSpace(want)}},
		Script:      "cat > " + tmp + " && chmod 0644 " + tmp + " && mv " + tmp + " " + transport.Quote(s.Path),
		Stdin:       []byte(want),
	}}, nil
}
