package controller

import (
	"fmt"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// hostInventory is the Inventory's part in one host's run: the file on the
// host as this cycle read it, and what left the manifests. The observe and
// act steps go through it; nil (no Engine.Inventory), it asks and does
// nothing.
type hostInventory struct {
	*Inventory
	path  string     // the inventory file on the host
	file  *inventory // as this cycle read it; nil until read
	notes []PruneNote
}

// forHost is the inventory's part in the run of the Host named host; nil
// without an Inventory.
func (iv *Inventory) forHost(host string) *hostInventory {
	if iv == nil {
		return nil
	}
	return &hostInventory{Inventory: iv, path: InventoryPath(iv.Set, host)}
}

// queries are the inventory's reads, sent with the host's observe queries.
func (hi *hostInventory) queries() []reconcilers.Query {
	if hi == nil {
		return nil
	}
	return []reconcilers.Query{inventoryQuery(hi.path)}
}

// read takes the result of the inventory's query; an error quarantines
// the host.
func (hi *hostInventory) read(res transport.Result) error {
	file, err := parseInventory(hi.path, string(res.Stdout))
	if res.Truncated {
		// Part of an inventory would prune or forget the wrong things.
		err = fmt.Errorf("read inventory %s: it is %s, more than the %s Optimus reads: check who wrote it, then remove it to start a new inventory",
			hi.path, reconcilers.Size(res.StdoutSize), reconcilers.Size(int64(len(res.Stdout))))
	}
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("read inventory %s: exit status %d: %s", hi.path, res.ExitCode, res.Stderr)
	}
	if err != nil {
		return err
	}
	hi.file = file
	return nil
}

// loaded reports whether the inventory was read, so that it takes part in
// planning (prune) and acting (the write and the clean-ups).
func (hi *hostInventory) loaded() bool { return hi != nil && hi.file != nil }

// owes reports whether an earlier run left ref's refresh pending.
func (hi *hostInventory) owes(ref v1alpha1.ResourceRef) bool {
	return hi.loaded() && hi.file.pending[ref]
}

// pruneNotes lists what left the manifests, since the run's first cycle.
func (hi *hostInventory) pruneNotes() []PruneNote {
	if hi == nil {
		return nil
	}
	return hi.notes
}
