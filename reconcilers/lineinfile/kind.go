package lineinfile

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the LineInFile kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.LineInFileSpec](v1alpha1.LineInFileKind, Reconciler{})
