package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/test/testhost"
)

func hostStatus(st *v1alpha1.ControllerStatus, name string) *v1alpha1.HostStatus {
	if st == nil {
		return nil
	}
	for i := range st.Hosts {
		if st.Hosts[i].Name == name {
			return &st.Hosts[i]
		}
	}
	return nil
}

func quarantineReason(h *v1alpha1.HostStatus) string {
	if h == nil {
		return ""
	}
	if c := v1alpha1.FindCondition(h.Conditions, v1alpha1.ConditionQuarantined); c != nil && c.Status == v1alpha1.ConditionTrue {
		return c.Reason
	}
	return ""
}

// TestControllerQuarantineReasons: a host whose key changed is quarantined
// as HostKeyMismatch and retried only at the longest backoff or when the
// manifests change, while a stopped host is retried with growing backoff.
func TestControllerQuarantineReasons(t *testing.T) {
	const backoffMax = 5 * time.Second
	hosts := testhost.Start(t, 2)
	reinstalled, stopped := hosts[0], hosts[1]
	dir := t.TempDir()
	hostsManifest(t, dir, hosts)
	writeFile(t, filepath.Join(dir, "alice.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: alice}\nspec: {}\n")
	// A resync of an hour: every retry below comes from the backoff or a
	// manifest change.
	c := startController(t, dir, "--resync", "1h", "--backoff-initial", "200ms", "--backoff-max", backoffMax.String())
	eventually(t, 60*time.Second, "both hosts Ready", func() bool {
		st := c.status(t)
		return hostCondition(st, reinstalled.Name, v1alpha1.ConditionReady) == "True" && hostCondition(st, stopped.Name, v1alpha1.ConditionReady) == "True"
	})

	// A reinstalled machine: new host keys, and the controller's open
	// connection gone with the old system.
	reinstalled.RotateHostKeys(t)
	reinstalled.Exec(t, `ps -eo pid=,args= | awk '$1 != 1 && $2 ~ /^sshd/ {print $1}' | xargs -r kill`)
	stopped.Stop(t)
	writeFile(t, filepath.Join(dir, "bob.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {}\n")

	eventually(t, 20*time.Second, "the stopped host failed 5 times", func() bool {
		h := hostStatus(c.status(t), stopped.Name)
		return h != nil && h.Failures >= 5
	})
	st := c.status(t)
	r, s := hostStatus(st, reinstalled.Name), hostStatus(st, stopped.Name)
	if got := quarantineReason(r); got != daemon.ReasonHostKeyMismatch {
		t.Errorf("%s quarantined as %q, want %s (last error %q)", r.Name, got, daemon.ReasonHostKeyMismatch, r.LastError)
	}
	switch got := quarantineReason(s); got {
	case daemon.ReasonConnectionRefused, daemon.ReasonConnectionLost, daemon.ReasonUnreachable, daemon.ReasonTimeout:
	default:
		t.Errorf("%s quarantined as %q, want a retryable connection reason (last error %q)", s.Name, got, s.LastError)
	}
	// While the stopped host went through its backoff steps, the one with
	// the wrong key failed once on its lost connection, once on the key, and
	// at most once more, at the longest backoff.
	if r.Failures > 3 {
		t.Errorf("%s was tried %d times while %s was tried %d: a host key mismatch must wait for the longest backoff", r.Name, r.Failures, s.Name, s.Failures)
	}
	if r.LastRun == nil || r.NextRetry == nil || r.NextRetry.Sub(r.LastRun.Start) < backoffMax*85/100 {
		t.Errorf("%s: next retry %v after a run started at %v, want the longest backoff (%s)", r.Name, r.NextRetry, r.LastRun, backoffMax)
	}

	if r.LastRun != nil && r.NextRetry != nil {
		t.Logf("%s tried %d times, next retry %s after its last run; %s tried %d times",
			r.Name, r.Failures, r.NextRetry.Sub(r.LastRun.Start).Round(time.Millisecond), s.Name, s.Failures)
	}
	// Polled: while the host is being retried, get shows it Reconciling.
	var out []byte
	var err error
	shown := func() bool {
		out, err = exec.Command(filepath.Join(bin, "optimus"), "get", "hosts", "--controller", c.addr).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, reinstalled.Name+" ") {
				return err == nil && strings.Contains(l, daemon.ReasonHostKeyMismatch)
			}
		}
		return false
	}
	for deadline := time.Now().Add(4 * backoffMax); !shown() && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	if !shown() {
		t.Errorf("get hosts does not show %s for %s: %v\n%s", daemon.ReasonHostKeyMismatch, reinstalled.Name, err, out)
	}

	// A manifest change retries it at once, long before its next retry.
	var before int
	eventually(t, 2*backoffMax, "a moment with the next retry at least 3s away", func() bool {
		h := hostStatus(c.status(t), reinstalled.Name)
		before = h.Failures
		return h.NextRetry != nil && time.Until(*h.NextRetry) > 3*time.Second
	})
	due := *hostStatus(c.status(t), reinstalled.Name).NextRetry
	writeFile(t, filepath.Join(dir, "carol.yaml"), "apiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: carol}\nspec: {}\n")
	eventually(t, 2*backoffMax, "the reinstalled host retried after the manifest change", func() bool {
		return hostStatus(c.status(t), reinstalled.Name).Failures > before
	})
	if time.Now().After(due) {
		t.Errorf("%s was retried only at its backoff (%v), not on the manifest change", reinstalled.Name, due)
	}
}
