package cluster

import (
	"encoding/json"
	"path"
	"strings"
	"time"
)

// Keys under the prefix:
//
//	PREFIX/replicas/ID   Member, attached to the replica's lease
//	PREFIX/owners/HOST   replica ID, attached to the owner's lease
//	PREFIX/generation    Generation, the agreed manifests digest
//	PREFIX/status/HOST   HostRecord, written by the owner (not leased)
type keys struct{ prefix string }

func (k keys) replicas() string         { return k.prefix + "/replicas/" }
func (k keys) replica(id string) string { return k.replicas() + id }
func (k keys) owners() string           { return k.prefix + "/owners/" }
func (k keys) owner(host string) string { return k.owners() + host }
func (k keys) status() string           { return k.prefix + "/status/" }
func (k keys) hostStatus(h string) string {
	return k.status() + h
}
func (k keys) generation() string { return k.prefix + "/generation" }

func cleanPrefix(p string) string {
	if p == "" {
		p = DefaultPrefix
	}
	return strings.TrimSuffix(path.Clean("/"+p), "/")
}

// DefaultPrefix is where replicas keep their keys unless told otherwise.
const DefaultPrefix = "/optimus"

// Member is what a replica publishes about itself under PREFIX/replicas/ID.
type Member struct {
	ID string `json:"id"`
	// Started is when the process started; Since when its current lease
	// was granted (a new lease after losing etcd).
	Started time.Time `json:"started"`
	Since   time.Time `json:"since"`
	Lease   int64     `json:"lease"`
	// Digest is the digest of the replica's copy of the manifests.
	Digest string `json:"digest"`
	// Addr is the replica's status address, when it serves one.
	Addr string `json:"addr,omitempty"`
}

// Generation is the manifests digest the replicas agreed on.
type Generation struct {
	Digest string    `json:"digest"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	rev    int64
}

// HostRecord is one host's status as its owner last wrote it.
type HostRecord struct {
	Host    string          `json:"host"`
	Replica string          `json:"replica"`
	Token   int64           `json:"token"`
	At      time.Time       `json:"at"`
	Status  json.RawMessage `json:"status"`
}
