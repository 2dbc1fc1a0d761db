package reconcilers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilers/user"
	"github.com/optimus-cm/optimus/transport"
)

type noteSpec struct {
	v1alpha1.Targeting `json:",inline"`
	Text               string `json:"text"`
}

// noteKind reads one query under key and plans nothing; shared, when set,
// is declared as a query it shares with other kinds.
type noteKind struct {
	kind   string
	key    string
	script string
	shared bool
	plans  *int
}

func (n noteKind) Kind() string { return n.kind }
func (n noteKind) Queries(*v1alpha1.Host, []reconcilers.Object[noteSpec]) []reconcilers.Query {
	return []reconcilers.Query{{Key: n.key, Script: n.script}}
}
func (n noteKind) Plan(_ context.Context, req reconcilers.TypedRequest[noteSpec]) ([]reconcilers.Action, error) {
	if n.plans != nil {
		*n.plans++
	}
	out, err := req.Facts.Stdout(n.key)
	if err != nil || out == req.Spec.Text {
		return nil, err
	}
	return []reconcilers.Action{{Op: reconcilers.OpUpdate, Description: "note " + req.Spec.Text}}, nil
}

type sharingNoteKind struct{ noteKind }

func (n sharingNoteKind) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{{Key: n.key, Script: n.script}}
}

func kindOf(r reconcilers.TypedReconciler[noteSpec]) reconcilers.Kind {
	return reconcilers.NewKind[noteSpec]("test.optimus.dev/v1", r.Kind(), "A note.", r)
}

func TestSharedQueryClashIsARegistrationError(t *testing.T) {
	a := sharingNoteKind{noteKind{kind: "A", key: "uname", script: "uname -a"}}
	b := sharingNoteKind{noteKind{kind: "B", key: "uname", script: "uname -r"}}
	_, err := reconcilers.NewKindRegistry(kindOf(a), kindOf(b))
	if err == nil || !strings.Contains(err.Error(), "kinds A and B declare the shared query \"uname\" with different scripts") {
		t.Fatalf("err = %v, want a clash between A and B", err)
	}
	// The same key and script is what sharing is for.
	b.script = a.script
	if _, err := reconcilers.NewKindRegistry(kindOf(a), kindOf(b)); err != nil {
		t.Fatal(err)
	}
	// A kind that redeclares a built-in shared query differently clashes too.
	c := sharingNoteKind{noteKind{kind: "C", key: reconcilers.QueryPasswd.Key, script: "cat /etc/passwd"}}
	if _, err := reconcilers.NewKindRegistry(user.Kind, group.Kind, kindOf(c)); err == nil {
		t.Fatal("registered a kind whose getent.passwd differs from User's")
	}
	// The paths query is the engine's.
	d := sharingNoteKind{noteKind{kind: "D", key: reconcilers.PathsKeyPrefix + "x", script: "true"}}
	if _, err := reconcilers.NewKindRegistry(kindOf(d)); err == nil {
		t.Fatal("registered a kind that declares a paths. key as shared")
	}
}

func TestPrivateQueryKeysNeverMeet(t *testing.T) {
	a := noteKind{kind: "A", key: "uname", script: "uname -a"}
	b := noteKind{kind: "B", key: "uname", script: "uname -r"}
	reg, err := reconcilers.NewKindRegistry(kindOf(a), kindOf(b))
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := reg.QueryScope("A", reconcilers.Query{Key: a.key, Script: a.script})
	sb, _ := reg.QueryScope("B", reconcilers.Query{Key: b.key, Script: b.script})
	if sa == sb {
		t.Fatalf("two kinds' private %q share the scope %q", a.key, sa)
	}
	facts := reconcilers.NewFacts(nil)
	facts.Add(sa, "uname", transport.Result{Stdout: []byte("from A")})
	facts.Add(sb, "uname", transport.Result{Stdout: []byte("from B")})
	for kind, want := range map[string]string{"A": "from A", "B": "from B"} {
		if got, err := facts.For(kind).Stdout("uname"); err != nil || got != want {
			t.Errorf("%s sees %q (%v), want %q", kind, got, err, want)
		}
		if keys := facts.For(kind).Keys("un"); len(keys) != 1 || keys[0] != "uname" {
			t.Errorf("%s lists %v", kind, keys)
		}
	}
}

func TestWrongSpecTypeNeverReachesPlan(t *testing.T) {
	plans := 0
	rec := reconcilers.AsReconciler[noteSpec](noteKind{kind: "Note", key: "k", script: "true", plans: &plans})
	wrong := res("Note", "n", &v1alpha1.UserSpec{Name: "alice"})
	facts := reconcilers.NewFacts(map[string]transport.Result{"k": {}})
	_, err := rec.Plan(context.Background(), reconcilers.Request{Resource: wrong, Facts: facts})
	if err == nil || !strings.Contains(err.Error(), "Note/n: spec is *v1alpha1.UserSpec, reconciler Note takes *reconcilers_test.noteSpec") {
		t.Fatalf("err = %v", err)
	}
	if plans != 0 {
		t.Fatalf("Plan ran %d times with a wrong spec", plans)
	}
	if qs := rec.Queries(nil, []*v1alpha1.Resource{wrong}); len(qs) != 1 {
		t.Fatalf("queries: %v", qs)
	}
	// A kind whose documents decode to another type is refused when it is
	// registered, before any document is read.
	k := reconcilers.Kind{Type: v1alpha1.UserKind, Reconciler: rec}
	k.Type.Kind = "Note"
	if _, err := reconcilers.NewKindRegistry(k); err == nil || !strings.Contains(err.Error(), "documents decode to *v1alpha1.UserSpec but the reconciler takes *reconcilers_test.noteSpec") {
		t.Fatalf("err = %v", err)
	}
	// The right type plans.
	right := res("Note", "n", &noteSpec{Text: "x"})
	if acts, err := rec.Plan(context.Background(), reconcilers.Request{Resource: right, Facts: facts}); err != nil || len(acts) != 1 || plans != 1 {
		t.Fatalf("%v %v %d", acts, err, plans)
	}
}
