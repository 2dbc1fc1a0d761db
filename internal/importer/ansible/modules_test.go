package ansible

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// importTasks imports a role made of tasks (and defaults) and loads the
// result as optimus validate does; it fails the test when a task is left
// out.
func importTasks(t *testing.T, defaults, tasks string) (map[string]any, string) {
	t.Helper()
	dir := t.TempDir()
	for p, s := range map[string]string{"defaults/main.yml": defaults, "tasks/main.yml": tasks} {
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
	for _, s := range res.Skipped() {
		t.Errorf("left out: line %d %s: %s", s.Pos.Line, s.What, s.Why)
	}
	set, text := load(t, res)
	specs := map[string]any{}
	for _, r := range set.Resources {
		specs[r.ID()] = r.Spec
	}
	return specs, text
}

// TestImportPackagesAndServices: apt over a loop of items, package with a
// list, and service with both enabled and state.
func TestImportPackagesAndServices(t *testing.T) {
	specs, _ := importTasks(t, "pkgs: [nginx, curl]\n", `- name: One by one
  apt: {name: "{{ item }}", state: present, update_cache: yes}
  loop: "{{ pkgs }}"
- apt: name={{ item }} state=latest
  with_items: [git, vim]
- package: {name: [htop, tree], state: present}
- package:
    name: [jq]
    state: absent
- service: {name: nginx, state: started, enabled: yes}
- service: {name: cups.service, state: stopped, enabled: false}
- service: {name: ssh, enabled: true}
`)
	pkg := func(manager, state string, names ...string) *v1alpha1.PackageSpec {
		return &v1alpha1.PackageSpec{Manager: manager, State: state, Names: names}
	}
	for id, want := range map[string]*v1alpha1.PackageSpec{
		"Package/nginx":           pkg("apt", "", "nginx"),
		"Package/curl":            pkg("apt", "", "curl"),
		"Package/git":             pkg("apt", "latest", "git"),
		"Package/vim":             pkg("apt", "latest", "vim"),
		"Package/htop-and-1-more": pkg("auto", "", "htop", "tree"),
		"Package/jq":              pkg("auto", "absent", "jq"),
	} {
		got, ok := specs[id].(*v1alpha1.PackageSpec)
		if !ok {
			t.Errorf("no %s among %v", id, keys(specs))
			continue
		}
		if got.Manager != want.Manager || !reflect.DeepEqual(got.Names, want.Names) || (got.State != want.State && want.State != "") {
			t.Errorf("%s: manager %q, names %v, state %q; want %q, %v, %q", id, got.Manager, got.Names, got.State, want.Manager, want.Names, want.State)
		}
	}
	for id, want := range map[string]struct {
		state   string
		enabled bool
	}{"Service/nginx": {"running", true}, "Service/cups": {"stopped", false}, "Service/ssh": {"running", true}} {
		got, ok := specs[id].(*v1alpha1.ServiceSpec)
		if !ok {
			t.Errorf("no %s among %v", id, keys(specs))
			continue
		}
		if got.State != want.state || got.Enabled == nil || *got.Enabled != want.enabled {
			t.Errorf("%s: state %q, enabled %v; want %q, %v", id, got.State, got.Enabled, want.state, want.enabled)
		}
	}
}

// TestImportServiceEnabledOnly: without state, Ansible only enables; the
// Service also starts the service, which a note says.
func TestImportServiceEnabledOnly(t *testing.T) {
	_, text := importTasks(t, "", "- service: {name: ssh, enabled: true}\n- service: {name: cron, enabled: true, state: started}\n")
	if n := strings.Count(text, "note: without state, Ansible left the service running or stopped as it was"); n != 1 {
		t.Errorf("%d notes on a service enabled without state, want 1 (ssh only):\n%s", n, text)
	}
}

// TestImportCommandsWithChdir: command and shell with chdir, creates and
// removes, in free form, in args and in the module's own arguments; a
// relative creates or removes is relative to chdir, as in Ansible.
func TestImportCommandsWithChdir(t *testing.T) {
	specs, _ := importTasks(t, "src: /opt/src\n", `- name: Install
  command: make install chdir={{ src }} creates=/usr/local/bin/tool
- name: Configure
  command: ./configure
  args: {chdir: "{{ src }}", creates: Makefile}
- name: Clean
  shell: ls *.tmp | xargs rm
  args: {chdir: /var/tmp/app, removes: a.tmp}
- name: Unpack
  command:
    cmd: tar xf /srv/a.tar
    chdir: /srv
    creates: /srv/a
- name: Literal
  command: echo $HOME *.log "a b" "it's" >/tmp/out creates=/tmp/out
- name: Shell
  shell: echo $HOME >/tmp/home creates=/tmp/home
`)
	for id, want := range map[string]v1alpha1.ExecSpec{
		"Exec/install":   {Command: "make install", Cwd: "/opt/src", Creates: "/usr/local/bin/tool"},
		"Exec/configure": {Command: "./configure", Cwd: "/opt/src", Creates: "/opt/src/Makefile"},
		"Exec/clean":     {Command: "ls *.tmp | xargs rm", Cwd: "/var/tmp/app", OnlyIf: "test -e /var/tmp/app/a.tmp"},
		"Exec/unpack":    {Command: "tar xf /srv/a.tar", Cwd: "/srv", Creates: "/srv/a"},
		// The command module runs no shell: each word stays a word.
		"Exec/literal": {Command: `echo '$HOME' '*.log' 'a b' 'it'"'"'s' '>/tmp/out'`, Creates: "/tmp/out"},
		"Exec/shell":   {Command: "echo $HOME >/tmp/home", Creates: "/tmp/home"},
	} {
		got, ok := specs[id].(*v1alpha1.ExecSpec)
		if !ok {
			t.Errorf("no %s among %v", id, keys(specs))
			continue
		}
		if got.Command != want.Command || got.Cwd != want.Cwd || got.Creates != want.Creates || got.OnlyIf != want.OnlyIf {
			t.Errorf("%s: command %q cwd %q creates %q onlyIf %q; want %q %q %q %q", id, got.Command, got.Cwd, got.Creates, got.OnlyIf,
				want.Command, want.Cwd, want.Creates, want.OnlyIf)
		}
	}
}

// TestImportCommandsLeftOut: a relative creates without chdir (Ansible
// would look in the remote user's home, which the importer cannot know),
// and a command word starting with # (which the splitter would drop as a
// comment) are reported, not guessed.
func TestImportCommandsLeftOut(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tasks"), 0o755); err != nil {
		t.Fatal(err)
	}
	tasks := "- command: ./setup creates=done\n- command: \"echo a #b creates=/tmp/b\"\n"
	if err := os.WriteFile(filepath.Join(dir, "tasks", "main.yml"), []byte(tasks), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	var why []string
	for _, s := range res.Skipped() {
		why = append(why, s.Why)
	}
	want := []string{"done is relative and there is no absolute chdir to resolve it against: make it absolute",
		`command "echo a #b" has a word starting with #: write the command with argv, or as shell`}
	if !reflect.DeepEqual(why, want) {
		t.Errorf("skipped %q, want %q", why, want)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
