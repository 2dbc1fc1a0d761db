package group

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Group kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.GroupSpec](v1alpha1.GroupKind, Reconciler{})
