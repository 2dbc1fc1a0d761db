package sysctl

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Sysctl kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.SysctlSpec](v1alpha1.SysctlKind, Reconciler{})
