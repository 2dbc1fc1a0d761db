package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/test/testhost"
)

// perKind is how many users, directories and files each host gets.
const perKind = 20

// workload is the resources of one target: a real host in the comparison,
// one Host resource in the scale runs.
type workload struct {
	users, dirs, files []string
	contents           []string
}

// newWorkload names the resources; tag, when set, makes them distinct per
// Host resource ("h017": users bh017u05, directories /srv/bench/h017/d05).
func newWorkload(tag string) workload {
	var w workload
	for i := 1; i <= perKind; i++ {
		user := fmt.Sprintf("bu%02d", i)
		dir := fmt.Sprintf("/srv/bench/d%02d", i)
		if tag != "" {
			user = fmt.Sprintf("b%su%02d", tag, i)
			dir = fmt.Sprintf("/srv/bench/%s/d%02d", tag, i)
		}
		w.users = append(w.users, user)
		w.dirs = append(w.dirs, dir)
		w.files = append(w.files, dir+"/file.txt")
		w.contents = append(w.contents, fmt.Sprintf("bench file %s\nmanaged by the benchmark\nthird line\n", dir))
	}
	return w
}

// optimusResources writes the workload as User, Directory and File
// resources; a non-empty tag names them after it and selects the Host
// labelled bench-host=tag.
func (w workload) optimusResources(b *strings.Builder, tag string) {
	sel, prefix := "", ""
	if tag != "" {
		sel = "  hostSelector: {matchLabels: {bench-host: " + tag + "}}\n"
		prefix = tag + "-"
	}
	for i, u := range w.users {
		fmt.Fprintf(b, "---\napiVersion: optimus.dev/v1alpha1\nkind: User\nmetadata: {name: %s}\nspec:\n%s  shell: /bin/bash\n", u, sel)
		fmt.Fprintf(b, "---\napiVersion: optimus.dev/v1alpha1\nkind: Directory\nmetadata: {name: %sd%02d}\nspec:\n%s  path: %s\n  mode: \"0755\"\n",
			prefix, i+1, sel, w.dirs[i])
		fmt.Fprintf(b, "---\napiVersion: optimus.dev/v1alpha1\nkind: File\nmetadata: {name: %sf%02d}\nspec:\n%s  path: %s\n  mode: \"0644\"\n  content: %s\n",
			prefix, i+1, sel, w.files[i], strconv.Quote(w.contents[i]))
	}
}

// hostResource is one Host resource reaching h as root.
func hostResource(b *strings.Builder, name string, labels string, h *testhost.Host) {
	fmt.Fprintf(b, `---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: %s
  labels: {%s}
spec:
  address: 127.0.0.1
  port: %d
  user: root
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
`, name, labels, h.Port, h.KeyFile, h.KnownHostsFile)
}

// writeOptimus writes the comparison manifests: every host gets the workload.
func writeOptimus(dir string, hosts []*testhost.Host) error {
	var b strings.Builder
	for i, h := range hosts {
		hostResource(&b, fmt.Sprintf("bench-%d", i+1), "bench: \"1\"", h)
	}
	newWorkload("").optimusResources(&b, "")
	return writeFresh(dir, "bench.yaml", b.String())
}

// writeScale writes n Host resources, round-robin over hosts, each with its
// own workload.
func writeScale(dir string, n int, hosts []*testhost.Host) error {
	var b strings.Builder
	for i := range n {
		tag := fmt.Sprintf("h%03d", i+1)
		hostResource(&b, tag, "bench-host: "+tag, hosts[i%len(hosts)])
	}
	for i := range n {
		tag := fmt.Sprintf("h%03d", i+1)
		newWorkload(tag).optimusResources(&b, tag)
	}
	return writeFresh(dir, "scale.yaml", b.String())
}

// writeFresh replaces dir with one file.
func writeFresh(dir, name, content string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

// writeAnsible writes ansible.cfg, the inventory and the playbook into dir
// and returns the playbook's path.
func writeAnsible(dir string, hosts []*testhost.Host) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`[defaults]
inventory = %s
forks = %d
host_key_checking = True
gathering = explicit
retry_files_enabled = False
interpreter_python = /usr/bin/python3

[ssh_connection]
pipelining = True
`, filepath.Join(dir, "inventory.yaml"), max(len(hosts), 5))
	var inv strings.Builder
	inv.WriteString("all:\n  hosts:\n")
	for i, h := range hosts {
		fmt.Fprintf(&inv, "    bench-%d: {ansible_host: 127.0.0.1, ansible_port: %d}\n", i+1, h.Port)
	}
	fmt.Fprintf(&inv, `  vars:
    ansible_user: root
    ansible_ssh_private_key_file: %s
    ansible_python_interpreter: /usr/bin/python3
    ansible_ssh_common_args: -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes
`, hosts[0].KeyFile, hosts[0].KnownHostsFile)

	w := newWorkload("")
	var pb strings.Builder
	pb.WriteString(`- name: bench
  hosts: all
  gather_facts: false
  tasks:
    - name: users
      ansible.builtin.user: {name: "{{ item }}", shell: /bin/bash}
      loop:
`)
	for _, u := range w.users {
		fmt.Fprintf(&pb, "        - %s\n", u)
	}
	pb.WriteString(`    - name: directories
      ansible.builtin.file: {path: "{{ item }}", state: directory, mode: "0755"}
      loop:
`)
	for _, d := range w.dirs {
		fmt.Fprintf(&pb, "        - %s\n", d)
	}
	pb.WriteString(`    - name: files
      ansible.builtin.copy: {dest: "{{ item.path }}", content: "{{ item.content }}", mode: "0644"}
      loop:
`)
	for i, f := range w.files {
		fmt.Fprintf(&pb, "        - {path: %s, content: %s}\n", f, strconv.Quote(w.contents[i]))
	}
	files := map[string]string{"ansible.cfg": cfg, "inventory.yaml": inv.String(), "playbook.yaml": pb.String()}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "playbook.yaml"), nil
}

// fingerprintScript prints, for the workload, what both tools must agree
// on: uid-independent account fields, modes and owners, file hashes.
func (w workload) fingerprintScript() string {
	return `for u in ` + strings.Join(w.users, " ") + `; do
	getent passwd "$u" | awk -F: '{print "user", $1, $6, $7}' || echo "user $u missing"
	echo "group $u $(id -gn "$u" 2>&1)"
	stat -c 'home %n %a %U %G' "$(getent passwd "$u" | cut -d: -f6)" 2>&1
done
for p in ` + strings.Join(w.dirs, " ") + ` ` + strings.Join(w.files, " ") + `; do
	stat -c 'path %n %F %a %U %G' "$p" 2>&1
done
sha256sum ` + strings.Join(w.files, " ") + ` 2>&1
exit 0
`
}
