package service

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Service kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.ServiceSpec](v1alpha1.ServiceKind, Reconciler{})
