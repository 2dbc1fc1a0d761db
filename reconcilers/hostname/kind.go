package hostname

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Hostname kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.HostnameSpec](v1alpha1.HostnameKind, Reconciler{})
