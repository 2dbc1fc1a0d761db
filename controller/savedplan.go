package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// Observation is a digest of what the first observe phase of a run read on
// one host: what a saved plan was made from, compared when it is applied.
// Digests are SHA-256 in hex; they carry no secret in clear (a secret's
// bytes count in the digest of the action that sends them).
type Observation struct {
	Host string `json:"host"`
	// Digest covers every query result of the host (commands, output,
	// exit status), the inventory included.
	Digest string `json:"digest"`
	// Resources maps "Kind/name" to the digest of its planned actions
	// (what they say and the commands and input they send); a resource
	// with nothing to do has no entry.
	Resources map[string]string `json:"resources,omitempty"`
}

// observationDigest hashes one observe round trip. It runs on every
// observe of every host, so the outputs are hashed where they lie rather
// than copied into strings first; the bytes hashed are those of field.
func observationDigest(queries []reconcilers.Query, got []transport.Result) string {
	h := sha256.New()
	var num []byte
	for i, q := range queries {
		field(h, q.Key)
		field(h, q.Script)
		num = strconv.AppendInt(num[:0], int64(got[i].ExitCode), 10)
		h.Write(append(num, 0))
		fieldBytes(h, got[i].Stdout)
		fieldBytes(h, got[i].Stderr)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func field(h hash.Hash, s string) { fmt.Fprintf(h, "%d:%s\x00", len(s), s) }

// fieldBytes hashes b as field hashes string(b).
func fieldBytes(h hash.Hash, b []byte) {
	var head [24]byte
	h.Write(append(strconv.AppendInt(head[:0], int64(len(b)), 10), ':'))
	h.Write(b)
	h.Write([]byte{0})
}

// observations digests every host that was observed in this cycle.
func observations(runs []*hostRun) []Observation {
	var out []Observation
	for _, r := range runs {
		if r.quarantine != nil {
			continue
		}
		o := Observation{Host: r.host.Metadata.Name, Digest: r.observed}
		hashes := map[string]hash.Hash{}
		var refs []string
		for _, pa := range r.plan {
			ref := pa.Resource.String()
			h := hashes[ref]
			if h == nil {
				h = sha256.New()
				hashes[ref] = h
				refs = append(refs, ref)
			}
			field(h, string(pa.Op))
			field(h, pa.Description)
			for _, c := range pa.Changes {
				field(h, c.Field+"\x00"+c.Before+"\x00"+c.After)
			}
			field(h, pa.Diff)
			field(h, pa.Script)
			field(h, string(pa.Stdin))
			field(h, string(pa.Status))
			if pa.Err != nil {
				field(h, pa.Err.Error())
			}
		}
		if len(refs) > 0 {
			o.Resources = map[string]string{}
			for _, ref := range refs {
				o.Resources[ref] = hex.EncodeToString(hashes[ref].Sum(nil))
			}
		}
		out = append(out, o)
	}
	return out
}

// PlanStaleError is a saved plan that no longer matches what the hosts
// hold: applying it would not do what was reviewed. Nothing was changed.
type PlanStaleError struct {
	// Changed lists, per host, what differs: the resources whose planned
	// actions differ (or "" when only other observed state did), or a
	// host that could not be observed, was not in the plan, or is missing.
	Changed []StaleHost
}

// StaleHost is one host whose observation differs from the saved one.
type StaleHost struct {
	Host      string
	Resources []string
	// Why is set when the host as a whole differs (unreachable, not in
	// the plan, no longer selected).
	Why string
}

func (e *PlanStaleError) Error() string {
	var b strings.Builder
	b.WriteString("the hosts changed since the plan was saved; nothing was changed:")
	for _, h := range e.Changed {
		switch {
		case h.Why != "":
			fmt.Fprintf(&b, "\n  %s: %s", h.Host, h.Why)
		case len(h.Resources) > 0:
			fmt.Fprintf(&b, "\n  %s: %s", h.Host, strings.Join(h.Resources, ", "))
		default:
			fmt.Fprintf(&b, "\n  %s: observed state changed outside the planned resources", h.Host)
		}
	}
	return b.String()
}

// compareObservations checks the first cycle's observation against a saved
// plan's.
func compareObservations(want, got []Observation, runs []*hostRun) error {
	wantBy := map[string]Observation{}
	for _, o := range want {
		wantBy[o.Host] = o
	}
	gotBy := map[string]Observation{}
	for _, o := range got {
		gotBy[o.Host] = o
	}
	stale := &PlanStaleError{}
	for _, r := range runs {
		name := r.host.Metadata.Name
		w, inPlan := wantBy[name]
		g, observed := gotBy[name]
		switch {
		case !observed:
			stale.Changed = append(stale.Changed, StaleHost{Host: name, Why: fmt.Sprintf("could not be observed: %v", r.quarantine)})
		case !inPlan:
			stale.Changed = append(stale.Changed, StaleHost{Host: name, Why: "not in the saved plan"})
		default:
			var res []string
			for ref, d := range w.Resources {
				if g.Resources[ref] != d {
					res = append(res, ref)
				}
			}
			for ref := range g.Resources {
				if _, ok := w.Resources[ref]; !ok {
					res = append(res, ref)
				}
			}
			if w.Digest != g.Digest || len(res) > 0 {
				sort.Strings(res)
				stale.Changed = append(stale.Changed, StaleHost{Host: name, Resources: res})
			}
		}
		delete(wantBy, name)
	}
	for name := range wantBy {
		stale.Changed = append(stale.Changed, StaleHost{Host: name, Why: "in the saved plan but not selected now"})
	}
	if len(stale.Changed) == 0 {
		return nil
	}
	sort.Slice(stale.Changed, func(i, j int) bool { return stale.Changed[i].Host < stale.Changed[j].Host })
	return stale
}
