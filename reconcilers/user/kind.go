package user

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the User kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.UserSpec](v1alpha1.UserKind, Reconciler{})
