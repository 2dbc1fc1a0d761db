package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/testenv"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func existing(content string, mode fs.FileMode) reconcilers.PathInfo {
	return reconcilers.PathInfo{Path: "/etc/app.conf", Exists: true, Type: reconcilers.TypeFile, Mode: mode, UID: 0, GID: 0,
		Owner: "root", Group: "root", Size: int64(len(content)), SHA256: sum(content), Content: []byte(content), HasContent: true}
}

func plan(t *testing.T, s *v1alpha1.FileSpec, cur reconcilers.PathInfo) ([]reconcilers.Action, error) {
	t.Helper()
	meta := &v1alpha1.ObjectMeta{Name: "app"}
	s.Default(meta)
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "File"}, Metadata: *meta, Spec: s}
	host := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "web1", Labels: map[string]string{"role": "web"}},
		Spec: &v1alpha1.HostSpec{Vars: map[string]any{"port": float64(8080), "url": "http://{{ inventory_hostname }}:{{ port }}/"}}}
	facts := reconcilers.NewFacts(map[string]transport.Result{reconcilers.PathsKeyPrefix + "x": transport.Result{Stdout: reconcilers.EncodePaths(cur)},
		reconcilers.FactsKey: {Stdout: []byte(hostFacts)}})
	return reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Host: host, Resource: res, Facts: facts})
}

func str(s string) *string { return &s }

const hostFacts = "@os-release\nID=debian\nVERSION_ID=\"12\"\n@uname\nweb1 6.1.0 x86_64\n@cpus\n4\n@meminfo\nMemTotal:  2048000 kB\n"

func TestPlan(t *testing.T) {
	absent := reconcilers.PathInfo{Path: "/etc/app.conf"}
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.FileSpec
		cur     reconcilers.PathInfo
		script  string // substring of the only action's script; "" for no action
		stdin   string
		diff    string
		wantErr string
	}{
		{name: "converged", spec: v1alpha1.FileSpec{Content: str("a\n"), Mode: "0644"}, cur: existing("a\n", 0o644)},
		{name: "create", spec: v1alpha1.FileSpec{Content: str("a\n"), Owner: "www"}, cur: absent,
			script: `chmod 0644 "$t" && chown www "$t" || exit 1`, stdin: "a\n", diff: "+a\n"},
		{name: "content keeps attributes", spec: v1alpha1.FileSpec{Content: str("b\n")}, cur: existing("a\n", 0o600),
			script: `chmod 0600 "$t" && chown 0:0 "$t"`, stdin: "b\n", diff: "-a\n+b\n"},
		{name: "mode only", spec: v1alpha1.FileSpec{Content: str("a\n"), Mode: "600"}, cur: existing("a\n", 0o644),
			script: `p=/etc/app.conf` + "\n" + `[ ! -L "$p" ]`},
		{name: "owner only", spec: v1alpha1.FileSpec{Owner: "www", Group: "www"}, cur: existing("a\n", 0o644),
			script: `chown -h www:www -- "$p"`},
		{name: "template", spec: v1alpha1.FileSpec{Content: str("{{.Host.Name}} {{.Host.Labels.role}} {{.Vars.port}}\n"), Template: v1alpha1.RenderWith(v1alpha1.TemplateGo)},
			cur: absent, script: "mv -f", stdin: "web1 web 8080\n"},
		{name: "template with facts", spec: v1alpha1.FileSpec{Content: str("{{.Facts.OS.ID}} {{.Facts.OS.VersionID}} {{.Facts.CPUs}} {{.Facts.MemoryMB}} {{.Facts.Arch}}\n"), Template: v1alpha1.RenderWith(v1alpha1.TemplateGo)},
			cur: absent, script: "mv -f", stdin: "debian 12 4 2000 x86_64\n"},
		{name: "jinja2 template", spec: v1alpha1.FileSpec{Content: str("{{ inventory_hostname }} {{ url }} {{ ansible_distribution }} {{ ansible_facts.os_family }} {{ ansible_processor_vcpus }} {{ missing | default('-') }}\n"), Template: v1alpha1.RenderWith(v1alpha1.TemplateJinja2)},
			cur: absent, script: "mv -f", stdin: "web1 http://web1:8080/ Debian Debian 4 -\n"},
		{name: "jinja2 undefined", spec: v1alpha1.FileSpec{Content: str("{{ nope }}"), Template: v1alpha1.RenderWith(v1alpha1.TemplateJinja2)}, cur: absent, wantErr: "render for host web1"},
		{name: "validate", spec: v1alpha1.FileSpec{Content: str("a\n"), Validate: "nginx -t -c %s"}, cur: absent,
			script: `_ov=$( { nginx -t -c "$t"`, stdin: "a\n", diff: "+a\n"},
		{name: "template error", spec: v1alpha1.FileSpec{Content: str("{{.Vars.nope.x}}"), Template: v1alpha1.RenderWith(v1alpha1.TemplateGo)}, cur: absent, wantErr: "spec.template"},
		{name: "delete", spec: v1alpha1.FileSpec{State: "absent"}, cur: existing("a\n", 0o644), script: reconcilers.ShellCommand("rm", "-f", "--", "/etc/app.conf")},
		{name: "delete missing", spec: v1alpha1.FileSpec{State: "absent"}, cur: absent},
		{name: "directory in the way", spec: v1alpha1.FileSpec{Content: str("")},
			cur: reconcilers.PathInfo{Path: "/etc/app.conf", Exists: true, Type: reconcilers.TypeDirectory}, wantErr: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Path = "/etc/app.conf"
			actions, err := plan(t, &spec, tc.cur)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.script == "" {
				if len(actions) != 0 {
					t.Fatalf("want no action, got %+v", actions)
				}
				return
			}
			if len(actions) != 1 {
				t.Fatalf("want 1 action, got %+v", actions)
			}
			a := actions[0]
			if !strings.Contains(a.Script, tc.script) {
				t.Errorf("script %q does not contain %q", a.Script, tc.script)
			}
			if got := written(a); got != tc.stdin {
				t.Errorf("content written %q, want %q", got, tc.stdin)
			}
			if !strings.Contains(a.Diff, tc.diff) {
				t.Errorf("diff %q does not contain %q", a.Diff, tc.diff)
			}
		})
	}
}

func TestSensitiveAndBinaryAreNotShown(t *testing.T) {
	s := &v1alpha1.FileSpec{Path: "/etc/app.conf", Content: str("new-secret"), Sensitive: true}
	cur := existing("old-secret", 0o600)
	cur.HasContent, cur.Content = false, nil // the query never reads sensitive files
	actions, err := plan(t, s, cur)
	if err != nil || len(actions) != 1 {
		t.Fatalf("%v %+v", err, actions)
	}
	a := actions[0]
	shown := a.Description + a.Diff + a.Changes[0].Before + a.Changes[0].After
	if strings.Contains(shown, "secret") || a.Changes[0].After != reconcilers.Redacted {
		t.Errorf("sensitive content shown: %+v", a)
	}

	bin := &v1alpha1.FileSpec{Path: "/etc/app.conf", Content: str("\x00\x01")}
	actions, err = plan(t, bin, existing("text\n", 0o644))
	if err != nil || len(actions) != 1 {
		t.Fatalf("%v %+v", err, actions)
	}
	if actions[0].Diff != "" || !strings.HasPrefix(actions[0].Changes[0].After, "binary, 2 bytes") {
		t.Errorf("binary: %+v", actions[0])
	}
}

func TestQueriesReadContentOnlyWhenShowable(t *testing.T) {
	res := func(name, path string, sensitive bool, content *string) *v1alpha1.Resource {
		s := &v1alpha1.FileSpec{Path: path, Sensitive: sensitive, Content: content}
		s.Default(nil)
		return &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: s}
	}
	q := reconcilers.AsReconciler(Reconciler{}).Queries(nil, []*v1alpha1.Resource{
		res("a", "/a", false, nil), res("b", "/b", true, str("secret\n")), res("c", "/c", false, str("hi\n"))})
	if len(q) != 1 {
		t.Fatalf("queries %+v", q)
	}
	want := map[string]reconcilers.PathRequest{
		// Only what is not sensitive has its content read, and a file whose
		// content is known only when it is not already what it should be.
		"/a": {Path: "/a", ContentLimit: DiffLimit},
		"/b": {Path: "/b", Sensitive: true},
		"/c": {Path: "/c", ContentLimit: DiffLimit, ContentUnless: sum("hi\n")},
	}
	for _, r := range q[0].Paths {
		if r != want[r.Path] {
			t.Errorf("request %+v, want %+v", r, want[r.Path])
		}
	}
	// The script the engine builds from the requests (with every other
	// kind's) holds no secret.
	if script := reconcilers.PathsQuery(q[0].Paths).Script; strings.Contains(script, "secret") || !strings.Contains(script, "set -- /a /b /c\n") {
		t.Errorf("script:\n%s", script)
	}
}

func TestDependencies(t *testing.T) {
	mk := func(kind string, spec any) *v1alpha1.Resource {
		r := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: kind}, Spec: spec}
		if d, ok := spec.(v1alpha1.Defaulter); ok {
			r.Metadata.Name = kind + "x"
			d.Default(&r.Metadata)
		}
		return r
	}
	f := mk("File", &v1alpha1.FileSpec{Path: "/srv/app/conf/a", Owner: "www"})
	all := []*v1alpha1.Resource{f,
		mk("Directory", &v1alpha1.DirectorySpec{Path: "/srv/app"}),
		mk("Directory", &v1alpha1.DirectorySpec{Path: "/srv/app/conf"}),
		mk("Directory", &v1alpha1.DirectorySpec{Path: "/srv/app/con"}),
		mk("User", &v1alpha1.UserSpec{Name: "www"}),
	}
	all[1].Metadata.Name, all[2].Metadata.Name, all[3].Metadata.Name = "app", "conf", "con"
	got := testenv.Registry(t, Kind).Dependencies(f, all)
	want := "[Directory/conf Directory/app User/Userx]"
	if s := strings.ReplaceAll(strings.Trim(strings.Join(strings.Fields(strings.Trim(fmtRefs(got), "[]")), " "), " "), "  ", " "); "["+s+"]" != want {
		t.Errorf("deps %v, want %s", got, want)
	}
}

func fmtRefs(refs []v1alpha1.ResourceRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestExampleTemplateRenders(t *testing.T) {
	s := &v1alpha1.FileSpec{Path: "/etc/optimus-webd/webd.conf", Source: "../../examples/webserver/webd.conf.tmpl", Template: v1alpha1.RenderWith(v1alpha1.TemplateGo)}
	actions, err := plan(t, s, reconcilers.PathInfo{Path: s.Path})
	if err != nil || len(actions) != 1 {
		t.Fatalf("%v %+v", err, actions)
	}
	if got := written(actions[0]); !strings.Contains(got, "server_name web1\nlisten 8080\nlabel role=web\n") {
		t.Errorf("rendered %q", got)
	}
}

// written is the content an action writes: its standard input, or what
// the script prints with printf when the content travels in the script
// (inside the guarded body, which the script quotes once more).
func written(a reconcilers.Action) string {
	if a.Stdin != nil {
		return string(a.Stdin)
	}
	_, assign, ok := strings.Cut(a.Script, "\n_ob=")
	if !ok {
		return ""
	}
	assign, _, _ = strings.Cut(assign, "\nif [ -n \"$_gU\" ]")
	body, err := exec.Command("sh", "-c", "_ob="+assign+"\nprintf '%s' \"$_ob\"").Output()
	if err != nil {
		return ""
	}
	_, q, ok := strings.Cut(string(body), "printf '%s' ")
	if !ok {
		return ""
	}
	q, _, _ = strings.Cut(q, ` >"$t"`)
	out, err := exec.Command("sh", "-c", "printf '%s' "+q).Output()
	if err != nil {
		return ""
	}
	return string(out)
}
