package authorizedkey

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
