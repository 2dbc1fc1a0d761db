package reconcilers

import (
	"errors"
	"testing"

	"github.com/optimus-cm/optimus/transport"
)

// TestTruncatedQueryFails: a query whose output the transport cut is an
// error that says how large it was, never a plan made from part of it.
func TestTruncatedQueryFails(t *testing.T) {
	f := NewFacts(map[string]transport.Result{
		"cron": {Stdout: make([]byte, 64<<20), Truncated: true, StdoutSize: 3 << 30},
	})
	_, err := f.Stdout("cron")
	var tl *TooLargeError
	if !errors.As(err, &tl) || err.Error() != "the output of query cron is 3 GiB, more than the 64 MiB Optimus reads; "+
		"the host holds more data than this kind expects; look at what the query reads on the host" {
		t.Errorf("err = %v", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 512: "512 B", 1 << 20: "1 MiB", 1536: "1.5 KiB", 300 << 20: "300 MiB", -1: "0 B"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
