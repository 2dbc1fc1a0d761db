package directory

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Directory kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.DirectorySpec](v1alpha1.DirectoryKind, Reconciler{})
