package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// TestBadSecretsChangeNothing: an empty secret, and a password hash that is
// not a crypt(3) hash (a newline in it would add a line to chpasswd's input),
// are bad input: exit 1 naming file, line and field, and no host touched.
func TestBadSecretsChangeNothing(t *testing.T) {
	hosts := testhost.Start(t, 1)
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	empty := filepath.Join(t.TempDir(), "empty-hash")
	writeFile(t, empty, "\n")
	for _, c := range []struct{ env, want string }{
		{"", "frank.yaml:1: User/frank: spec.passwordHashFrom: secret file " + empty + " is empty"},
		{"plain-password", "frank.yaml:1: User/frank: spec.passwordHashFrom: the secret does not look like a crypt(3) password hash"},
		{"$6$salt$hash\nroot:$6$evil$x", "frank.yaml:1: User/frank: spec.passwordHashFrom: the secret a crypt(3) password hash holds no colon"},
	} {
		src := "{env: OPTIMUS_TEST_FRANK_HASH}"
		if c.env == "" {
			src = "{file: " + empty + "}"
		}
		t.Setenv("OPTIMUS_TEST_FRANK_HASH", c.env)
		writeFile(t, filepath.Join(dir, "frank.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: frank}\n"+
			"spec:\n  passwordHashFrom: "+src+"\n---\napiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: grace}\nspec: {}\n")
		r := run(t, nil, "apply", "-f", dir, "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("want exit 1 saying %q\n%s", c.want, r)
		}
		if strings.Contains(r.stdout+r.stderr, "evil") || strings.Contains(r.stdout+r.stderr, "plain-password") {
			t.Errorf("the secret appears in the output:\n%s", r)
		}
	}
	t.Setenv("OPTIMUS_TEST_FRANK_HASH", "")
	writeFile(t, filepath.Join(dir, "frank.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: frank}\n"+
		"spec:\n  passwordHashFrom: {env: OPTIMUS_TEST_FRANK_HASH}\n")
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 1 || !strings.Contains(r.stderr, "frank.yaml:1: User/frank: spec.passwordHashFrom: environment variable OPTIMUS_TEST_FRANK_HASH is empty") {
		t.Errorf("empty env: want exit 1 naming it\n%s", r)
	}
	if u := users(t, hosts[0]); u["frank"] || u["grace"] {
		t.Errorf("the host was changed: %v", u)
	}
}

// TestPasswordHashOnlyInShadow: after an apply, and after an apply whose
// shell is killed in the middle of its batch, a search of the container's
// whole filesystem finds the hash only in /etc/shadow.
func TestPasswordHashOnlyInShadow(t *testing.T) {
	hosts := testhost.Start(t, 1)
	h := hosts[0]
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	newHash := func() string {
		b := make([]byte, 12)
		rand.Read(b)
		return "$6$optimustest$" + hex.EncodeToString(b)
	}
	where := func(hash string) string {
		// The pattern comes on stdin: in argv it would be found in /proc.
		return strings.TrimSpace(testhost.ExecStdin(t, h.Container, hash+"\n",
			"grep -rlsF -f /dev/stdin --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev / || true"))
	}
	manifest := "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: heidi}\nspec:\n  passwordHashFrom: {env: OPTIMUS_TEST_HEIDI_HASH}\n"

	first := newHash()
	t.Setenv("OPTIMUS_TEST_HEIDI_HASH", first)
	writeFile(t, filepath.Join(dir, "heidi.yaml"), manifest)
	if r := run(t, nil, "apply", "-f", dir, "--yes"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	if got := where(first); got != "/etc/shadow" {
		t.Errorf("after apply the hash is in %q, want only /etc/shadow", got)
	}

	// Change the hash; the same batch then runs a long command, during
	// which the shell is killed.
	second := newHash()
	t.Setenv("OPTIMUS_TEST_HEIDI_HASH", second)
	writeFile(t, filepath.Join(dir, "heidi.yaml"), manifest+"---\napiVersion: optimus.dev/v1alpha1\nkind: Exec\nmetadata: {name: slow}\n"+
		"spec:\n  command: touch /var/tmp/optimus-slow-once; sleep 47\n  creates: /var/tmp/optimus-slow-once\n  dependsOn: [{kind: User, name: heidi}]\n")
	done := make(chan result, 1)
	go func() { done <- run(t, nil, "apply", "-f", dir, "--yes") }()
	deadline := time.Now().Add(60 * time.Second)
	for strings.TrimSpace(h.Exec(t, "pgrep -x sleep || true")) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the batch never reached the slow command")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every process of the shell's session: the shell and its commands.
	h.Exec(t, "pkill -9 -s \"$(ps -o sid= -p \"$(pgrep -x sleep | head -1)\" | tr -d ' ')\"")
	r := <-done
	// The run reconnects and observes again: the Exec ran (its file is
	// there), so nothing is left to do.
	if r.code != 0 || !strings.Contains(r.stdout, "connection lost:") || !strings.Contains(r.stdout, "... unknown") {
		t.Errorf("apply whose shell was killed: want the lost connection reported, then converged:\n%s", r)
	}
	if got := where(second); got != "/etc/shadow" {
		t.Errorf("after the killed apply the hash is in %q, want only /etc/shadow", got)
	}
	if strings.Contains(r.stdout+r.stderr, second[len(second)-12:]) {
		t.Errorf("the hash appears in the output:\n%s", r)
	}
}
