package mount

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Mount kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.MountSpec](v1alpha1.MountKind, Reconciler{})
