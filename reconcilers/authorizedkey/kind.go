package authorizedkey

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the AuthorizedKey kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.AuthorizedKeySpec](v1alpha1.AuthorizedKeyKind, Reconciler{})
