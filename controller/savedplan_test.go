package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// TestObservationDigestIsStable: the digest of an observe round trip is
// compared with one saved in a plan file, maybe by another build, so the
// bytes it hashes must not change: "len:value\0" per field, the exit
// status as "N\0".
func TestObservationDigestIsStable(t *testing.T) {
	queries := []reconcilers.Query{{Key: "paths.1", Script: "find /\n"}, {Key: "facts", Script: "uname"}}
	got := []transport.Result{{Stdout: []byte("a\x00b"), ExitCode: 0}, {Stderr: []byte("oops\n"), ExitCode: 2}}
	h := sha256.New()
	for i, q := range queries {
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00%d\x00", len(q.Key), q.Key, len(q.Script), q.Script, got[i].ExitCode)
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00", len(got[i].Stdout), got[i].Stdout, len(got[i].Stderr), got[i].Stderr)
	}
	if want, d := hex.EncodeToString(h.Sum(nil)), observationDigest(queries, got); d != want {
		t.Errorf("digest %s, want %s", d, want)
	}
}
