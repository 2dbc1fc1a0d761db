package cron

import (
	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// Kind is the Cron kind with its reconciler, for optimus.WithKinds.
var Kind = reconcilers.KindFor[v1alpha1.CronSpec](v1alpha1.CronKind, Reconciler{})
