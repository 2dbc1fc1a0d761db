package file

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the File kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.FileSpec](v1alpha1.FileKind, Reconciler{})
