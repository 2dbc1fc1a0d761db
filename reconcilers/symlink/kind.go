package symlink

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Symlink kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.SymlinkSpec](v1alpha1.SymlinkKind, Reconciler{})
