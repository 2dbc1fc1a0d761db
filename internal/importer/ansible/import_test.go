package ansible

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/jinja"
	"github.com/optimus-cm/optimus/internal/manifest"
)

// load writes the result under a temporary directory and loads it with
// the manifest loader, as optimus validate does.
func load(t *testing.T, res *Result) (*manifest.Set, string) {
	t.Helper()
	dir := t.TempDir()
	if err := res.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	scheme, err := v1alpha1.NewScheme(v1alpha1.BuiltinKinds()...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := (&manifest.Loader{Scheme: scheme}).Load(dir)
	var text bytes.Buffer
	res.WriteTo(&text)
	if err != nil {
		t.Fatalf("the output does not load: %v\n%s", err, text.String())
	}
	return set, text.String()
}

type wantHost struct {
	address string
	port    int
	user    string
	groups  []string
	vars    map[string]any
}

func checkHosts(t *testing.T, set *manifest.Set, want map[string]wantHost) {
	t.Helper()
	got := map[string]*v1alpha1.Host{}
	for _, h := range set.Hosts() {
		got[h.Metadata.Name] = h
	}
	if len(got) != len(want) {
		t.Errorf("%d hosts, want %d", len(got), len(want))
	}
	for name, w := range want {
		h, ok := got[name]
		if !ok {
			t.Errorf("no Host %s", name)
			continue
		}
		var groups []string
		for k, v := range h.Metadata.Labels {
			if g, ok := strings.CutPrefix(k, v1alpha1.GroupLabelPrefix); ok && v == "true" {
				groups = append(groups, g)
			}
		}
		sort.Strings(groups)
		if !reflect.DeepEqual(groups, w.groups) {
			t.Errorf("%s: groups %v, want %v", name, groups, w.groups)
		}
		s := h.Spec
		if s.Address != w.address || s.Port != w.port || s.User != w.user {
			t.Errorf("%s: %s@%s:%d, want %s@%s:%d", name, s.User, s.Address, s.Port, w.user, w.address, w.port)
		}
		if !reflect.DeepEqual(s.Vars, w.vars) && !(len(s.Vars) == 0 && len(w.vars) == 0) {
			t.Errorf("%s: vars %#v, want %#v", name, s.Vars, w.vars)
		}
	}
}

func TestImportINIInventory(t *testing.T) {
	res, err := Import(Options{Inventory: "testdata/inventory/ini/hosts.ini"})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	// Child groups win over parents, group_vars files over the inventory's
	// group vars, and host vars (inline, then host_vars/) over groups.
	checkHosts(t, set, map[string]wantHost{
		"web01.example.com": {"web01.example.com", 22, "deploy", []string{"prod", "web"},
			map[string]any{"env": "production", "http_port": float64(9000), "ntp_server": "ntp.example.com"}},
		"web02.example.com": {"web02.example.com", 22, "deploy", []string{"prod", "web"},
			map[string]any{"env": "production", "http_port": float64(81), "ntp_server": "ntp.example.com"}},
		"web03.example.com": {"web03.example.com", 22, "deploy", []string{"ungrouped"}, nil},
		"lb": {"10.0.0.9", 2222, "root", []string{"prod", "web"},
			map[string]any{"comment": "hello world", "env": "production", "http_port": float64(8080), "ntp_server": "ntp.example.com"}},
		"db1": {"10.0.0.20", 22, "root", []string{"db", "prod"},
			map[string]any{"db_port": float64(5432), "env": "production", "http_port": float64(80)}},
	})
	for _, h := range set.Hosts() {
		if h.Metadata.Name != "db1" {
			continue
		}
		if b := h.Spec.Become; b == nil || b.PasswordFrom == nil || b.PasswordFrom.Env != "OPTIMUS_DB1_BECOME_PASSWORD" {
			t.Errorf("db1: become %+v, want sudo with passwordFrom {env: OPTIMUS_DB1_BECOME_PASSWORD}", b)
		}
	}
	for _, secret := range []string{"hunter2", "s3cret", "6162"} {
		if strings.Contains(text, secret) {
			t.Errorf("the output holds the secret %q in clear:\n%s", secret, text)
		}
	}
	for _, note := range []string{"var db_password (in clear at testdata/inventory/ini/hosts.ini:13) is a secret",
		"var api_token (vault-encrypted at testdata/inventory/ini/group_vars/web.yml:3)"} {
		if !strings.Contains(text, note) {
			t.Errorf("the output lacks the note %q:\n%s", note, text)
		}
	}
	if len(res.Skipped()) != 0 || res.Summary() != "5 of 5 hosts converted; 0 left out" {
		t.Errorf("summary %q, skipped %v", res.Summary(), res.Skipped())
	}
}

func TestImportYAMLInventory(t *testing.T) {
	res, err := Import(Options{Inventory: "testdata/inventory/yaml/hosts.yml"})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	common := map[string]any{"ntp_server": "pool.ntp.org"}
	app := func(port float64) map[string]any {
		return map[string]any{"ntp_server": "pool.ntp.org", "app_port": port}
	}
	checkHosts(t, set, map[string]wantHost{
		"bastion": {"192.0.2.1", 22, "root", nil, common},
		// appa: its own var beats group_vars/canary.yml, which beats app's.
		"appa":    {"appa", 22, "admin", []string{"app", "canary"}, app(8001)},
		"appb":    {"appb", 22, "admin", []string{"app"}, app(8000)},
		"appc":    {"appc", 22, "admin", []string{"app"}, app(8000)},
		"control": {"", 22, "root", []string{"local"}, common},
	})
	skipped := res.Skipped()
	if len(skipped) != 1 || skipped[0].String() != "testdata/inventory/yaml/hosts.yml:23: host Weird_Name: ansible_connection winrm has no Optimus transport (ssh, local, docker)" {
		t.Errorf("skipped: %v", skipped)
	}
	if !strings.Contains(text, "# NOT CONVERTED testdata/inventory/yaml/hosts.yml:23: host Weird_Name") {
		t.Errorf("no placeholder for Weird_Name:\n%s", text)
	}
}

func TestExpandRange(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"web[01:03].example.com", []string{"web01.example.com", "web02.example.com", "web03.example.com"}},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}},
		{"n[1:10:4]", []string{"n1", "n5", "n9"}},
		{"r[1:2]-[a:b]", []string{"r1-a", "r1-b", "r2-a", "r2-b"}},
		{"plain", []string{"plain"}},
	} {
		got, err := expandRange(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("expandRange(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"x[5:1]", "x[1:1000000000]", "x[c:a]"} {
		if _, err := expandRange(bad); err == nil {
			t.Errorf("expandRange(%q) was accepted", bad)
		}
	}
}

func TestImportRole(t *testing.T) {
	res, err := Import(Options{Inventory: "testdata/inventory/yaml/hosts.yml", Sources: []string{"testdata/roles/webapp"}})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	got := map[string]*v1alpha1.Resource{}
	for _, r := range set.Resources {
		got[r.ID()] = r
	}
	for _, id := range []string{"Package/optimus-alpha-and-1-more", "Group/webapp", "User/webapp", "Directory/srv-webapp",
		"Directory/srv-webapp-data", "File/srv-webapp-app.conf", "File/etc-motd", "File/etc-webapp-os",
		"LineInFile/etc-hosts.allow-ebde91d1", "Cron/webapp-cleanup", "Exec/initialise", "Service/webapp"} {
		if got[id] == nil {
			t.Errorf("no %s", id)
		}
	}
	if r := got["Cron/debug"]; r != nil {
		t.Error("the task whose when is false with the role's defaults was converted")
	}
	// The loop expanded, the template kept as Jinja2, the handler wired.
	if f := got["File/srv-webapp-app.conf"]; f != nil {
		s := f.Spec.(*v1alpha1.FileSpec)
		if s.Template.Engine != v1alpha1.TemplateJinja2 || s.Mode != "0640" || !strings.HasSuffix(s.Source, "templates/app.conf.j2") {
			t.Errorf("template File: %+v", s)
		}
	}
	if svc := got["Service/webapp"]; svc != nil {
		s := svc.Spec.(*v1alpha1.ServiceSpec)
		if len(s.RestartOn) != 1 || s.RestartOn[0].String() != "File/srv-webapp-app.conf" || s.Enabled == nil || !*s.Enabled {
			t.Errorf("Service: %+v", s)
		}
	}
	if e := got["Exec/initialise"]; e != nil {
		s := e.Spec.(*v1alpha1.ExecSpec)
		if s.Command != "/usr/bin/webapp-init /srv/webapp" || s.Creates != "/srv/webapp/data/.init" {
			t.Errorf("Exec: %+v", s)
		}
	}
	if f := got["File/etc-webapp-os"]; f != nil {
		if sel := f.Spec.(*v1alpha1.FileSpec).HostSelector; sel == nil || sel.MatchFacts["os.id"] != "debian" {
			t.Errorf("when on a fact: selector %+v", sel)
		}
	}
	if f := got["LineInFile/etc-hosts.allow-ebde91d1"]; f != nil {
		if sel := f.Spec.(*v1alpha1.LineInFileSpec).HostSelector; sel == nil || sel.MatchLabels[v1alpha1.GroupLabelPrefix+"web"] != "true" {
			t.Errorf("when on a group: selector %+v", sel)
		}
	}
	// The role's variables reach the hosts, below the inventory's.
	for _, h := range set.Hosts() {
		if h.Metadata.Name == "appa" && (h.Spec.Vars["app_port"] != float64(8001) || h.Spec.Vars["app_dir"] != "/srv/webapp") {
			t.Errorf("appa vars: %v", h.Spec.Vars)
		}
	}
	var skipped []string
	for _, s := range res.Skipped() {
		skipped = append(skipped, s.Pos.String()+" "+s.Why)
	}
	want := []string{
		"testdata/inventory/yaml/hosts.yml:23 ansible_connection winrm has no Optimus transport (ssh, local, docker)",
		"testdata/roles/webapp/tasks/main.yml:71 changed_when: false marks a command that only reads; it has no state to converge",
		"testdata/roles/webapp/tasks/main.yml:76 debug is about the Ansible run itself and changes no host state; it has no Optimus equivalent",
		"testdata/roles/webapp/tasks/main.yml:89 when \"http_port == 80\" cannot be decided at import or written as a hostSelector: it reads http_port, which is not a role, play or loop variable (a host variable or fact is only known per host)",
		"testdata/roles/webapp/tasks/main.yml:93 keyword delegate_to has no Optimus equivalent",
		"testdata/roles/webapp/handlers/main.yml:4 no converted task notifies it",
	}
	if !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range res.Skipped() {
		if !strings.Contains(text, "# NOT CONVERTED "+s.String()) {
			t.Errorf("no placeholder for %s", s)
		}
	}
	if got, want := res.Summary(), "5 of 6 hosts, 13 of 17 tasks, 1 of 2 handlers converted; 6 left out"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

func TestImportPlaybook(t *testing.T) {
	dir := t.TempDir()
	role := filepath.Join(dir, "roles", "base")
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(role, "tasks", "main.yml"), "- name: motd\n  copy: {content: \"{{ motd }}\\n\", dest: /etc/motd}\n")
	write(filepath.Join(dir, "site.yml"), `- hosts: web
  serial: 2
  vars:
    motd: hello
  roles:
    - base
  tasks:
    - name: users
      user: {name: "{{ item.name }}", uid: "{{ item.uid }}"}
      loop:
        - {name: ann, uid: 2001}
        - {name: ben, uid: 2002}
    - sysctl: {name: "{{ item.key }}", value: "{{ item.value }}"}
      with_dict: {vm.swappiness: 10}
    - name: weekly
      cron: {name: weekly, job: /bin/true, weekday: "0", hour: "3", minute: "0"}
- hosts: web:db
  tasks:
    - hostname: {name: x}
`)
	res, err := Import(Options{Sources: []string{filepath.Join(dir, "site.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	ids := map[string]*v1alpha1.Resource{}
	for _, r := range set.Resources {
		ids[r.ID()] = r
	}
	for _, id := range []string{"File/etc-motd", "User/ann", "User/ben", "Sysctl/vm.swappiness", "Cron/weekly"} {
		r := ids[id]
		if r == nil {
			t.Errorf("no %s:\n%s", id, text)
			continue
		}
		sel := r.Spec.(v1alpha1.Targeted).GetTargeting().HostSelector
		if sel == nil || sel.MatchLabels[v1alpha1.GroupLabelPrefix+"web"] != "true" {
			t.Errorf("%s: selector %+v, want the play's group web", id, sel)
		}
	}
	if u := ids["User/ben"]; u != nil && *u.Spec.(*v1alpha1.UserSpec).UID != 2002 {
		t.Errorf("ben: uid %d", *u.Spec.(*v1alpha1.UserSpec).UID)
	}
	if f := ids["File/etc-motd"]; f != nil && *f.Spec.(*v1alpha1.FileSpec).Content != "hello\n" {
		t.Errorf("motd content %q: play vars reach the role", *f.Spec.(*v1alpha1.FileSpec).Content)
	}
	if c := ids["Cron/weekly"]; c != nil && c.Spec.(*v1alpha1.CronSpec).Schedule != "0 3 * * 0" {
		t.Errorf("cron schedule %q", c.Spec.(*v1alpha1.CronSpec).Schedule)
	}
	if !strings.Contains(text, "serial 2: stage the apply with a Rollout") {
		t.Errorf("no rollout note:\n%s", text)
	}
	sk := res.Skipped()
	if len(sk) != 1 || sk[0].Pos.Line != 17 || !strings.Contains(sk[0].Why, "only hosts: all or a single group") {
		t.Errorf("skipped %v, want the play on web:db at line 17", sk)
	}
}

// TestImportNotesUserOwnedDirectory: a file written without an owner into
// a directory the role gives to another user carries a note, because
// Optimus creates it as that user where Ansible created it as root.
func TestImportNotesUserOwnedDirectory(t *testing.T) {
	dir := t.TempDir()
	tasks := filepath.Join(dir, "tasks", "main.yml")
	if err := os.MkdirAll(filepath.Dir(tasks), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tasks, []byte(`- file: {path: /srv/app, state: directory, owner: app}
- copy: {content: "x\n", dest: /srv/app/a.conf}
- copy: {content: "x\n", dest: /srv/app/b.conf, owner: app}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.WriteTo(&b)
	const note = "note: its directory belongs to app: Optimus creates the file as app"
	if n := strings.Count(b.String(), note); n != 1 {
		t.Errorf("%d notes, want 1 (a.conf only):\n%s", n, b.String())
	}
}

// TestImportSecretsAndModes: vault values never reach the output, a user's
// password becomes a secret reference, modes convert as Ansible reads
// them, and a template Optimus cannot render is reported with its line.
func TestImportSecretsAndModes(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vars/main.yml", "db_secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3965\n")
	write("templates/net.j2", "a\n{{ addr | ipaddr('address') }}\n")
	write("tasks/main.yml", `- copy: {content: "{{ db_secret }}", dest: /etc/db.secret}
- user: {name: ann, password: "{{ 'x' | password_hash('sha512') }}"}
- file: {path: /a, mode: "644"}
- file: {path: /b, mode: 0750}
- file: {path: /c, mode: "u+rwx"}
- file: {path: /d, owner: pg}
  become_user: postgres
- template: {src: net.j2, dest: /etc/net}
`)
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	res.WriteTo(&b)
	out := b.String()
	if strings.Contains(out, "3965") || strings.Contains(out, "ANSIBLE_VAULT") {
		t.Errorf("the vault ciphertext is in the output:\n%s", out)
	}
	for _, want := range []string{
		"passwordHashFrom:\n    env: OPTIMUS_PASSWORD_HASH_ANN",
		"mode: \"0644\"\n  path: /a",
		"mode: \"0750\"\n  path: /b",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var why []string
	for _, s := range res.Skipped() {
		why = append(why, fmt.Sprintf("%d %s", s.Pos.Line, s.Why))
	}
	want := []string{
		"1 content uses a vault-encrypted value, which is never written in a manifest: write this resource by hand with a secret source ({env: NAME} or {file: PATH})",
		"5 mode \"u+rwx\": only octal modes convert (symbolic modes such as u+rwx do not)",
		"6 become_user postgres has an Optimus equivalent only for commands (Exec user); for files, set owner",
		"8 template " + filepath.Join(dir, "templates", "net.j2") + ": line 2: unknown filter \"ipaddr\" (supported: " + strings.Join(jinja.FilterNames(), ", ") + ")",
	}
	if !reflect.DeepEqual(why, want) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(why, "\n"), strings.Join(want, "\n"))
	}
}

// TestImportReportsWhatIsLost: a missing role, a notification no handler
// answers, and a block keyword without an equivalent are each reported,
// never dropped in silence.
func TestImportReportsWhatIsLost(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(site, []byte(`- hosts: all
  roles: [nowhere]
  tasks:
    - sysctl: {name: vm.swappiness, value: "10"}
      notify: reload things
    - block:
        - hostname: {name: a}
      ignore_errors: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Import(Options{Sources: []string{site}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Skipped() {
		got = append(got, fmt.Sprintf("%d %s %s", s.Pos.Line, s.Unit, s.What))
	}
	want := []string{"2 task role nowhere", "6 task block", "4 notification notify reload things"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("skipped %q, want %q", got, want)
	}
	if _, err := ImportRole(dir); err == nil || !strings.Contains(err.Error(), "is not a role directory") {
		t.Errorf("ImportRole on a directory without tasks: %v", err)
	}
}

// TestImportCommandHandler: a handler that runs a command becomes an Exec
// that runs only when what notified it changed.
func TestImportCommandHandler(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"tasks/main.yml":    "- copy: {content: \"x\\n\", dest: /etc/app.conf}\n  notify: [reindex]\n",
		"handlers/main.yml": "- name: reindex\n  shell: /usr/bin/app-reindex --all\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	for _, r := range set.Resources {
		if r.Kind != "Exec" {
			continue
		}
		s := r.Spec.(*v1alpha1.ExecSpec)
		if !s.RefreshOnly || len(s.RestartOn) != 1 || s.RestartOn[0].String() != "File/etc-app.conf" || s.Command != "/usr/bin/app-reindex --all" {
			t.Errorf("Exec: %+v", s)
		}
		return
	}
	t.Errorf("no Exec:\n%s", text)
}

// TestImportReloadHandler: a handler that reloads a service becomes
// reloadOn on the Service a task manages; one that restarts, restartOn.
func TestImportReloadHandler(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"tasks/main.yml": "- copy: {content: \"x\\n\", dest: /etc/nginx/site.conf}\n  notify: [reload nginx]\n" +
			"- copy: {content: \"y\\n\", dest: /etc/nginx/nginx.conf}\n  notify: [restart nginx]\n" +
			"- service: {name: nginx, state: started}\n",
		"handlers/main.yml": "- name: reload nginx\n  service: {name: nginx, state: reloaded}\n" +
			"- name: restart nginx\n  service: {name: nginx, state: restarted}\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	for _, r := range set.Resources {
		if r.Kind != "Service" {
			continue
		}
		s := r.Spec.(*v1alpha1.ServiceSpec)
		if len(s.ReloadOn) != 1 || s.ReloadOn[0].String() != "File/etc-nginx-site.conf" ||
			len(s.RestartOn) != 1 || s.RestartOn[0].String() != "File/etc-nginx-nginx.conf" {
			t.Errorf("Service: reloadOn %v, restartOn %v\n%s", s.ReloadOn, s.RestartOn, text)
		}
		return
	}
	t.Errorf("no Service:\n%s", text)
}

// TestImportVarsFiles: a play's vars_files feed its tasks; a vault file is
// not read and what needs it is reported.
func TestImportVarsFiles(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"vars/common.yml": "motd: hello\n",
		"vars/vault.yml":  "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
		"site.yml": `- hosts: all
  vars_files: [vars/common.yml, vars/vault.yml]
  tasks:
    - copy: {content: "{{ motd }}", dest: /etc/motd}
    - copy: {content: "{{ db_password }}", dest: /etc/db}
`,
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(Options{Sources: []string{filepath.Join(dir, "site.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	_, text := load(t, res)
	if !strings.Contains(text, "content: hello\n") || !strings.Contains(text, "vars/vault.yml is vault-encrypted and was not read") {
		t.Errorf("output:\n%s", text)
	}
	if sk := res.Skipped(); len(sk) != 1 || sk[0].Pos.Line != 5 || !strings.Contains(sk[0].Why, "uses db_password") {
		t.Errorf("skipped %v, want the task at line 5 that needs db_password", sk)
	}
}

// TestImportDedupesAcrossRoles: the same resource from two roles is kept
// once; a different one under the same name is renamed, with the
// references of its own role following it.
func TestImportDedupesAcrossRoles(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"roles/a/tasks/main.yml": "- apt: {name: curl}\n- copy: {content: \"a\\n\", dest: /etc/motd}\n",
		"roles/b/tasks/main.yml": "- apt: {name: curl}\n- copy: {content: \"b\\n\", dest: /etc/motd}\n  notify: restart cron\n" +
			"- service: {name: cron}\n",
		"roles/b/handlers/main.yml": "- name: restart cron\n  service: {name: cron, state: restarted}\n",
		"site.yml":                  "- hosts: all\n  roles: [a, b]\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(Options{Sources: []string{filepath.Join(dir, "site.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	var ids []string
	for _, r := range set.Resources {
		ids = append(ids, r.ID())
	}
	sort.Strings(ids)
	want := []string{"File/etc-motd", "File/etc-motd-2", "Package/curl", "Service/cron"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("resources %v, want %v\n%s", ids, want, text)
	}
	for _, r := range set.Resources {
		if r.ID() == "Service/cron" {
			if s := r.Spec.(*v1alpha1.ServiceSpec); len(s.RestartOn) != 1 || s.RestartOn[0].Name != "etc-motd-2" {
				t.Errorf("cron restarts on %v, want File/etc-motd-2 (role b's motd)", s.RestartOn)
			}
		}
	}
}

// TestImportRoleDependencies: a role's dependencies are converted first,
// each once, with their parameters; a cycle is reported.
func TestImportRoleDependencies(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"roles/app/tasks/main.yml":   "- apt: {name: app}\n",
		"roles/app/meta/main.yml":    "dependencies:\n  - role: base\n    motd: hello\n  - base2\n",
		"roles/base/tasks/main.yml":  "- copy: {content: \"{{ motd }}\\n\", dest: /etc/motd}\n",
		"roles/base/meta/main.yml":   "dependencies: [app]\n",
		"roles/base2/tasks/main.yml": "- apt: {name: curl}\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(Options{Sources: []string{filepath.Join(dir, "roles", "app")}})
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Name)
	}
	if want := []string{"role-app.yaml", "role-base.yaml", "role-base2.yaml"}; !reflect.DeepEqual(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if r := set.Get(v1alpha1.ResourceRef{Kind: "File", Name: "etc-motd"}); r == nil || *r.Spec.(*v1alpha1.FileSpec).Content != "hello\n" {
		t.Errorf("the dependency's parameter did not reach it:\n%s", text)
	}
	if sk := res.Skipped(); len(sk) != 1 || sk[0].Pos.Line != 1 || !strings.Contains(sk[0].Why, "a dependency cycle: app") {
		t.Errorf("skipped %v, want the cycle back to app", sk)
	}
}

// TestImportIncludeVars: a static include_vars feeds the tasks after it;
// one that would differ per host is reported.
func TestImportIncludeVars(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"vars/extra.yml": "motd: from extra\n",
		"tasks/main.yml": `- include_vars: extra.yml
- copy: {content: "{{ motd }}\n", dest: /etc/motd}
- include_vars: "{{ ansible_os_family }}.yml"
- include_vars: {file: extra.yml, name: ns}
`,
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	if r := set.Get(v1alpha1.ResourceRef{Kind: "File", Name: "etc-motd"}); r == nil || *r.Spec.(*v1alpha1.FileSpec).Content != "from extra\n" {
		t.Errorf("include_vars did not reach the next task:\n%s", text)
	}
	var lines []int
	for _, s := range res.Skipped() {
		lines = append(lines, s.Pos.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 4}) {
		t.Errorf("skipped %v, want lines 3 (a fact) and 4 (a namespace)", res.Skipped())
	}
}
