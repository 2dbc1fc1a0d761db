package exec

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Exec kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.ExecSpec](v1alpha1.ExecKind, Reconciler{})
