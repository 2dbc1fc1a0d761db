package blockinfile

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the BlockInFile kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.BlockInFileSpec](v1alpha1.BlockInFileKind, Reconciler{})
