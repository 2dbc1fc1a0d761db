package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// The role the import test converts: every module below converts, with a
// loop over a role variable, a handler, a when on a fact (true on Debian),
// one that is false, and two Jinja2 templates with filters. Its
// directories belong to root: in a directory another user owns, Optimus
// creates a file as that user and Ansible as root (see
// docs/migrating-from-ansible.md), which TestImportNotesUserOwnedDirectory
// covers.
var webappRole = map[string]string{
	"defaults/main.yml": `app_user: webapp
app_dir: /srv/webapp
app_port: 8080
app_name: Web App 1
app_packages: [optimus-webd, optimus-beta, optimus-alpha]
admins:
  - {name: ann, uid: 2101}
  - {name: ben, uid: 2102}
features: [gzip, tls]
settings:
  port: 8080
  workers: 4
  name: webapp
enable_debug: "no"
`,
	"vars/main.yml": `app_conf: /etc/optimus-webd.conf
`,
	"tasks/main.yml": `- name: Packages
  ansible.builtin.apt:
    name: "{{ app_packages }}"
    state: present

- name: Group
  group: {name: "{{ app_user }}", gid: 2100}

- name: Service account
  user:
    name: "{{ app_user }}"
    uid: 2100
    group: "{{ app_user }}"
    shell: /usr/sbin/nologin
    create_home: false

- name: Admins
  user:
    name: "{{ item.name }}"
    uid: "{{ item.uid }}"
    shell: /bin/bash
    groups: ["{{ app_user }}"]
  loop: "{{ admins }}"

- name: Directories
  file: {path: "{{ item }}", state: directory, owner: root, group: "{{ app_user }}", mode: "0750"}
  loop:
    - "{{ app_dir }}"
    - "{{ app_dir }}/data"

- name: Configuration
  template: {src: webd.conf.j2, dest: "{{ app_conf }}", owner: root, group: "{{ app_user }}", mode: "0640"}
  notify: restart webd

- name: Settings
  ansible.builtin.template:
    src: settings.yml.j2
    dest: "{{ app_dir }}/settings.yml"
    mode: "0644"
  notify: restart webd

- name: Debian marker
  copy: {content: "managed on Debian\n", dest: /etc/webapp-os, mode: "0644"}
  when: ansible_facts['distribution'] == "Debian"

- name: Red Hat marker
  copy: {content: "managed on Red Hat\n", dest: /etc/webapp-os-redhat}
  when: ansible_distribution == "RedHat"

- name: Login banner
  lineinfile: {path: /etc/issue.net, line: "Authorised use only", regexp: "^Authorised"}

- name: Initialise data
  command: touch {{ app_dir }}/data/.initialised
  args:
    creates: "{{ app_dir }}/data/.initialised"

- name: Mark the data ready
  shell: echo ready >ready && chmod 0640 ready
  args:
    chdir: "{{ app_dir }}/data"
    creates: "{{ app_dir }}/data/ready"

- name: No message of the day
  shell: rm -f /etc/motd
  args:
    removes: /etc/motd

- name: Service
  service: {name: optimus-webd, state: started, enabled: true}

- name: Admin key
  authorized_key:
    user: ann
    key: "` + annKey + `"

- name: Nightly backup
  cron: {name: backup, minute: "0", hour: "3", job: /usr/local/bin/webapp-backup, user: root}

- name: Log rotation
  cron: {name: rotate, minute: "*/5", job: /usr/sbin/webapp-rotate, user: root, cron_file: webapp-rotate}

# Unprivileged or not, a container's /proc/sys is read-only: both tools
# can only persist the value (reload: false), which is what is compared.
- name: Forwarding
  sysctl: {name: net.ipv4.ip_forward, value: "1", sysctl_file: /etc/sysctl.d/90-webapp.conf, reload: false}

- name: Cache
  mount: {path: "{{ app_dir }}/cache", src: tmpfs, fstype: tmpfs, opts: "size=16m,mode=1777", state: mounted}

- name: Host name
  hostname: {name: app1}
`,
	"handlers/main.yml": `- name: restart webd
  service: {name: optimus-webd, state: restarted}
`,
	"templates/webd.conf.j2": `# {{ app_name }} on {{ inventory_hostname }}
listen {{ app_port }}
user {{ app_user }}
name {{ app_name | lower | regex_replace('[^a-z0-9]+', '-') }}
features {{ features | join(',') }}
debug {{ enable_debug | bool | ternary('on', 'off') }}
os {{ ansible_distribution }} {{ ansible_distribution_major_version }} {{ ansible_facts['os_family'] }}
{% for p in app_packages | sort %}
package {{ p | upper }}
{% endfor %}
{% if 'app' in group_names %}
group app
{% endif %}
`,
	"templates/settings.yml.j2": `{{ settings | to_nice_yaml }}
admins: {{ admins | map(attribute='name') | join(' ') }}
`,
}

// annKey is the public half of a key made for this test and thrown away.
const annKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID09RGj71l6HsPDnSRwke+hoVOl7OaCy9QIscCcV0GQo ann@laptop"

const webappPlaybook = `- hosts: app
  roles:
    - webapp
`

// hostState prints what the role manages on a host, for comparison:
// accounts, files with hash, mode and owner, packages, the service.
const hostState = `set -e
for u in webapp ann ben; do getent passwd $u | cut -d: -f1,3,4,6,7; echo "$u in: $(id -nG $u)"; done
getent group webapp | cut -d: -f1,3,4
for f in /etc/optimus-webd.conf /srv/webapp/settings.yml /etc/webapp-os /etc/issue.net /srv/webapp/data/.initialised; do
	stat -c '%n %a %U %G' $f; sha256sum $f
done
for d in /srv/webapp /srv/webapp/data /home/ann /home/ben; do stat -c '%n %a %U %G' $d; done
[ -e /etc/webapp-os-redhat ] && echo "redhat marker present" || echo "no redhat marker"
[ -e /home/webapp ] && echo "webapp home present" || echo "no webapp home"
dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' optimus-alpha optimus-beta optimus-webd
service optimus-webd status >/dev/null && echo "optimus-webd running" || echo "optimus-webd stopped"
ls /etc/rc2.d /etc/rc0.d | grep optimus-webd || echo "optimus-webd not enabled"
stat -c '%n %a %U %G' /srv/webapp/data/ready; cat /srv/webapp/data/ready
[ -e /etc/motd ] && echo "motd present" || echo "no motd"
for f in /home/ann/.ssh /home/ann/.ssh/authorized_keys /etc/cron.d/webapp-rotate; do stat -c '%n %a %U %G' $f; done
echo "--- authorized_keys"; cat /home/ann/.ssh/authorized_keys
# Each tool marks its cron entries with its own comment: the entries
# themselves are compared.
echo "--- crontab of root"; crontab -l -u root | grep -v '^#' || true
echo "--- /etc/cron.d/webapp-rotate"; grep -v '^#' /etc/cron.d/webapp-rotate || true
# Each tool names its sysctl.d file its own way: what a boot applies is
# compared, every file's settings with comments and blanks dropped.
echo "--- persisted sysctl"; cat /etc/sysctl.conf /etc/sysctl.d/*.conf | sed 's/#.*//; s/[[:space:]]//g' | grep -v '^$' | sort
echo "--- mount"; awk '$2 == "/srv/webapp/cache" { $1 = $1; print "fstab:", $0 }' /etc/fstab
awk '$2 == "/srv/webapp/cache" { print "mounted:", $1, $2, $3 }' /proc/self/mounts; stat -c '%n %a %U %G' /srv/webapp/cache
# Ansible's hostname module writes only /etc/hostname on a Debian without
# systemd (the running name changes at the next boot); Optimus sets both,
# which the test checks apart.
echo "hostname: $(cat /etc/hostname)"
echo "--- /etc/optimus-webd.conf"; cat /etc/optimus-webd.conf
echo "--- /srv/webapp/settings.yml"; cat /srv/webapp/settings.yml
`

// TestImportedRoleMatchesAnsible imports a role with its inventory,
// converges one fresh host with Optimus and its twin with Ansible, and
// finds both in the same state; a second Optimus run changes nothing.
func TestImportedRoleMatchesAnsible(t *testing.T) {
	requireAnsible(t)
	debs := downloadedDebs(t, "python3-apt-debs", "python3-apt", "python-apt-common", "distro-info-data")
	cron := downloadedDebs(t, "cron-debs", "cron", "cron-daemon-common")
	// Both tools set the running host name and mount a tmpfs, which
	// take CAP_SYS_ADMIN.
	hosts := testhost.StartWith(t, 2, testhost.CapSysAdmin...)
	optimusHost, ansibleHost := hosts[0], hosts[1]
	for _, h := range hosts {
		// Ansible's apt module needs python3-apt, which it installs from
		// the host's repositories: the local one holds it. Its cron
		// module needs crontab(1) even for a file in /etc/cron.d, so both
		// hosts get cron.
		h.Exec(t, "mkdir -p /srv/optimus-repo /srv/cron-debs")
		for from, to := range map[string]string{debs: "/srv/optimus-repo/", cron: "/srv/cron-debs/"} {
			if out, err := exec.Command("docker", "cp", from+"/.", h.Container+":"+to).CombinedOutput(); err != nil {
				t.Fatalf("docker cp: %v: %s", err, out)
			}
		}
		h.Exec(t, "cat >/tmp/repo.sh <<'EOF'\n"+tinyDebs+webdRepo+"EOF\nsh /tmp/repo.sh")
		// cron pre-depends on cron-daemon-common: one dpkg run each.
		h.Exec(t, "for p in cron-daemon-common cron; do dpkg -i /srv/cron-debs/${p}_*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }; done; rm -r /srv/cron-debs")
	}

	src := t.TempDir()
	for name, content := range webappRole {
		p := filepath.Join(src, "roles", "webapp", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, content)
	}
	writeFile(t, filepath.Join(src, "site.yml"), webappPlaybook)
	inventory := func(h *testhost.Host) string {
		// Both inventories call their host app1: templates render the same.
		return fmt.Sprintf("[app]\napp1 ansible_host=127.0.0.1 ansible_port=%d ansible_user=root ansible_ssh_private_key_file=%s ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes' ansible_python_interpreter=/usr/bin/python3\n",
			h.Port, h.KeyFile, h.KnownHostsFile)
	}
	writeFile(t, filepath.Join(src, "optimus.ini"), inventory(optimusHost))
	writeFile(t, filepath.Join(src, "ansible.ini"), inventory(ansibleHost))

	out := t.TempDir()
	r := run(t, nil, "import", "ansible", "-i", filepath.Join(src, "optimus.ini"), filepath.Join(src, "site.yml"), "-o", out)
	if r.code != 0 || !strings.Contains(r.stderr, "1 of 1 hosts, 20 of 20 tasks, 1 of 1 handlers converted; 0 left out") {
		t.Fatalf("import: %s", r)
	}
	if r := run(t, nil, "validate", "-f", out); r.code != 0 {
		t.Fatalf("validate the import: %s", r)
	}
	if r := run(t, nil, "apply", "-f", out, "--yes"); r.code != 0 {
		t.Fatalf("optimus apply: %s", r)
	}
	if r := run(t, nil, "diff", "-f", out); r.code != 0 {
		t.Errorf("a second Optimus run would change something: %s", r)
	}

	runAnsiblePlaybook(t, src, filepath.Join(src, "ansible.ini"), filepath.Join(src, "site.yml"))

	got, want := optimusHost.Exec(t, hostState), ansibleHost.Exec(t, hostState)
	if got != want {
		t.Errorf("the hosts differ\n--- Optimus\n%s--- Ansible\n%s", got, want)
	}
	// Guard against two hosts equal because nothing happened.
	for _, line := range []string{"ann:2101:2101:/home/ann:/bin/bash", "ann in: ann webapp", "optimus-webd running", "S01optimus-webd",
		"/etc/optimus-webd.conf 640 root webapp", "/srv/webapp 750 root webapp", "os Debian 12 Debian", "package OPTIMUS-ALPHA", "group app",
		"name web-app-1", "debug off", "admins: ann ben", "no redhat marker", "no webapp home",
		"/srv/webapp/data/ready 640 root root", "no motd", "/home/ann/.ssh/authorized_keys 600 ann ann", annKey,
		"0 3 * * * /usr/local/bin/webapp-backup", "*/5 * * * * root /usr/sbin/webapp-rotate", "net.ipv4.ip_forward=1",
		"fstab: tmpfs /srv/webapp/cache tmpfs size=16m,mode=1777 0 0", "mounted: tmpfs /srv/webapp/cache tmpfs",
		"/srv/webapp/cache 1777 root root", "hostname: app1"} {
		if !strings.Contains(got, line) {
			t.Errorf("the Optimus host lacks %q:\n%s", line, got)
		}
	}
	if name := optimusHost.Exec(t, "hostname"); name != "app1\n" {
		t.Errorf("the Optimus host's running name is %q, want app1", name)
	}
}

// requireAnsible skips without ansible-playbook, except under CI=true.
func requireAnsible(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("ansible-playbook is missing (CI=true, so this is not skipped): apt-get install ansible-core")
	}
	t.Skip("ansible-playbook is missing: apt-get install ansible-core")
}

// downloadedDebs returns a directory holding the packages named (with
// apt-get download, once: the directory is kept in hack/.testhosts), for
// what a test host needs beyond a minimal Debian.
func downloadedDebs(t *testing.T, name string, pkgs ...string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(repoRoot, "hack", ".testhosts", name))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, pkgs[0]+"_*.deb")); len(m) > 0 {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "debs-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", append([]string{"download"}, pkgs...)...)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download %s (the Ansible side of the test needs it on the test hosts): %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if m, _ := filepath.Glob(filepath.Join(dir, pkgs[0]+"_*.deb")); len(m) == 0 {
			t.Fatal(err)
		}
	}
	return dir
}

var recap = regexp.MustCompile(`(?m)^\S+\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)`)

// runAnsiblePlaybook runs the playbook and requires that no host failed.
func runAnsiblePlaybook(t *testing.T, dir, inventory, playbook string) {
	t.Helper()
	cfg := filepath.Join(dir, "ansible.cfg")
	writeFile(t, cfg, "[defaults]\nhost_key_checking = True\nretry_files_enabled = False\ninterpreter_python = /usr/bin/python3\nlocal_tmp = "+filepath.Join(dir, ".ansible-tmp")+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ansible-playbook", "-i", inventory, playbook)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	m := recap.FindStringSubmatch(string(out))
	if err != nil || m == nil || m[1] != "0" || m[2] != "0" {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
}
