package lineinfile

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

// TestSensitiveFileLinesNeverShown: a File marks its path sensitive in the
// shared path query; an edit of it then shows none of its lines and
// registers them for scrubbing.
func TestSensitiveFileLinesNeverShown(t *testing.T) {
	content := []byte("user=app\npassword=old-secret\n")
	sum := sha256.Sum256(content)
	q := reconcilers.PathsQuery([]reconcilers.PathRequest{{Path: "/etc/app.secret", ContentLimit: ContentLimit}, {Path: "/etc/app.secret", Sensitive: true}})
	if !strings.Contains(q.Script, "printf '%s\\0' /etc/app.secret") {
		t.Fatalf("the query does not mark the path sensitive:\n%s", q.Script)
	}
	out := reconcilers.EncodePaths(reconcilers.PathInfo{Path: "/etc/app.secret", Exists: true, Type: "file", Mode: 0o600, Owner: "root", Group: "root",
		Size: int64(len(content)), Links: 1, SHA256: hex.EncodeToString(sum[:]), Content: content, HasContent: true, Sensitive: true})
	facts := reconcilers.NewFacts(map[string]transport.Result{reconcilers.PathsKeyPrefix + "x": {Stdout: out}})
	s := &v1alpha1.LineInFileSpec{Path: "/etc/app.secret", Regexp: "^password=", Line: "password=new-secret"}
	s.Default(nil)
	res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "pw"}, Spec: s}
	actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
	if err != nil || len(actions) != 1 {
		t.Fatalf("plan: %v %+v", err, actions)
	}
	a := actions[0]
	shown := a.Description + a.Diff
	for _, c := range a.Changes {
		shown += c.Before + c.After
	}
	if strings.Contains(shown, "secret") && !strings.Contains(shown, "/etc/app.secret") || strings.Contains(shown, "old-secret") || strings.Contains(shown, "new-secret") {
		t.Errorf("lines of a sensitive file shown: %q", shown)
	}
	if !slices.Contains(a.Secrets, "password=old-secret") || !slices.Contains(a.Secrets, "password=new-secret") {
		t.Errorf("secrets not registered for scrubbing: %q", a.Secrets)
	}
}
