package pkg

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Package kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.PackageSpec](v1alpha1.PackageKind, Reconciler{})
