package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"strconv"
)

// DefaultVirtualNodes is how many points each replica has on the ring: enough
// that shares stay near even with a handful of replicas.
const DefaultVirtualNodes = 128

// DefaultLoadFactor is c in the load bound ceil(c × hosts / replicas).
const DefaultLoadFactor = 1.25

// Assign maps every host to one replica by consistent hashing with bounded
// loads: a host goes to the first replica clockwise from its hash on a ring
// of virtual nodes that still has room under ceil(c × hosts / replicas).
// Every replica computes the same answer from the same inputs, so no
// coordination is needed beyond agreeing on the live replicas. Hosts are
// placed in the order of their own hash, so the result does not depend on
// the order of the arguments.
func Assign(hosts, replicas []string, vnodes int, c float64) map[string]string {
	out := make(map[string]string, len(hosts))
	if len(replicas) == 0 || len(hosts) == 0 {
		return out
	}
	if vnodes <= 0 {
		vnodes = DefaultVirtualNodes
	}
	if c < 1 {
		c = DefaultLoadFactor
	}
	type point struct {
		h       uint64
		replica int
	}
	reps := append([]string(nil), replicas...)
	sort.Strings(reps)
	ring := make([]point, 0, len(reps)*vnodes)
	for i, r := range reps {
		for v := range vnodes {
			ring = append(ring, point{hash(r + "#" + strconv.Itoa(v)), i})
		}
	}
	sort.Slice(ring, func(i, j int) bool {
		if ring[i].h != ring[j].h {
			return ring[i].h < ring[j].h
		}
		return ring[i].replica < ring[j].replica
	})
	type hostHash struct {
		name string
		h    uint64
	}
	hs := make([]hostHash, 0, len(hosts))
	for _, h := range hosts {
		hs = append(hs, hostHash{h, hash(h)})
	}
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].h != hs[j].h {
			return hs[i].h < hs[j].h
		}
		return hs[i].name < hs[j].name
	})
	bound := LoadBound(len(hosts), len(reps), c)
	load := make([]int, len(reps))
	for _, h := range hs {
		i := sort.Search(len(ring), func(i int) bool { return ring[i].h >= h.h })
		for k := 0; k < len(ring); k++ {
			p := ring[(i+k)%len(ring)]
			if load[p.replica] < bound {
				load[p.replica]++
				out[h.name] = reps[p.replica]
				break
			}
		}
	}
	return out
}

// LoadBound is the most hosts one replica may hold: ceil(c × hosts / replicas).
func LoadBound(hosts, replicas int, c float64) int {
	if replicas == 0 {
		return 0
	}
	return int(math.Ceil(c * float64(hosts) / float64(replicas)))
}

func hash(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}
