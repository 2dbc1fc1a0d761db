package transport

import (
	"crypto/ed25519"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestKnownHostsCacheSeesEveryChange: the parsed file is shared while it
// is unchanged, and an appended, rewritten or replaced file is read again
// at the next load.
func TestKnownHostsCacheSeesEveryChange(t *testing.T) {
	newKey := func() ssh.PublicKey {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	line := func(k ssh.PublicKey) string {
		return knownhosts.Line([]string{knownhosts.Normalize(addr.String())}, k) + "\n"
	}
	check := func(k ssh.PublicKey) error {
		t.Helper()
		db, err := loadKnownHosts(file)
		if err != nil {
			t.Fatal(err)
		}
		return db(addr.String(), addr, k)
	}
	a, b, c := newKey(), newKey(), newKey()
	if err := os.WriteFile(file, []byte(line(a)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := check(a); err != nil {
		t.Fatalf("key a: %v", err)
	}
	if err := check(b); err == nil {
		t.Fatal("key b accepted before it was added")
	}
	// Appended (as accept-new does): the size changes.
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("# added\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(file, []byte(line(b)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Rewritten in place with the same size: the modification time differs.
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	if err := check(b); err != nil {
		t.Fatalf("key b after the file was rewritten: %v", err)
	}
	if err := check(a); err == nil {
		t.Fatal("key a still accepted after its line was replaced")
	}
	// Replaced by another file (as editors save).
	tmp := file + ".new"
	if err := os.WriteFile(tmp, []byte(line(c)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	if err := check(c); err != nil {
		t.Fatalf("key c after the file was replaced: %v", err)
	}
}
