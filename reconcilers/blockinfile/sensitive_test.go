package blockinfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// TestSensitiveBlockNeverShown: in a file a File marks sensitive, neither
// the old block nor the new one is shown, both are registered for
// scrubbing, and the edit reaches the host on standard input only.
func TestSensitiveBlockNeverShown(t *testing.T) {
	content := []byte("user=app\n# BEGIN OPTIMUS MANAGED BLOCK pw\npassword=old-secret\n# END OPTIMUS MANAGED BLOCK pw\n")
	sum := sha256.Sum256(content)
	out := reconcilers.EncodePaths(reconcilers.PathInfo{Path: "/etc/app.secret", Exists: true, Type: "file", Mode: 0o600, Owner: "root", Group: "root",
		Size: int64(len(content)), Links: 1, SHA256: hex.EncodeToString(sum[:]), Content: content, HasContent: true, Sensitive: true})
	facts := reconcilers.NewFacts(map[string]transport.Result{reconcilers.PathsKeyPrefix + "x": {Stdout: out}})
	s := &v1alpha1.BlockInFileSpec{Path: "/etc/app.secret", Block: "password=new-secret\n"}
	meta := v1alpha1.ObjectMeta{Name: "pw"}
	s.Default(&meta)
	res := &v1alpha1.Resource{Metadata: meta, Spec: s}
	actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
	if err != nil || len(actions) != 1 {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	a := actions[0]
	shown := a.Description + a.Diff + a.Script
	for _, c := range a.Changes {
		shown += c.Before + c.After
	}
	if strings.Contains(shown, "old-secret") || strings.Contains(shown, "new-secret") {
		t.Errorf("lines of a sensitive file shown or in the script: %q", shown)
	}
	if !strings.Contains(string(a.Stdin), "new-secret") {
		t.Errorf("the edit is not on standard input: %q", a.Stdin)
	}
	if !slices.Contains(a.Secrets, "password=old-secret") || !slices.Contains(a.Secrets, "password=new-secret") {
		t.Errorf("secrets not registered for scrubbing: %q", a.Secrets)
	}
}
