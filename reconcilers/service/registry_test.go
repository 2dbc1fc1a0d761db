package service

import (
	"testing"

	"github.com/optimus-cm/optimus/reconcilers"
)

// registry registers Kind, as a tool would.
func registry(t *testing.T) *reconcilers.Registry {
	t.Helper()
	reg, err := reconcilers.NewKindRegistry(Kind)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// refresher is Kind's Refresher as the engine sees it.
func refresher(t *testing.T) reconcilers.Refresher {
	t.Helper()
	rf, ok := registry(t).Refresher(Kind.Type.Kind)
	if !ok {
		t.Fatalf("%s has no Refresher", Kind.Type.Kind)
	}
	return rf
}
