package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jinjaManifests targets two hosts with Jinja2 templates that read
// variables one or both hosts lack, directly or through another variable,
// beside variables the templates may go without.
const jinjaManifests = `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web1, labels: {role: web}}
spec:
  address: 127.0.0.1
  vars: {app_port: 80, app_conf: "{{ app_dirr }}/app.conf"}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web2, labels: {role: web}}
spec:
  address: 127.0.0.2
  vars: {app_port: 81}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: app}
spec:
  hostSelector: {matchLabels: {role: web}}
  path: /etc/app.conf
  template: {engine: jinja2}
  content: |
    # {{ inventory_hostname }} {{ ansible_distribution }} {{ group_names | join(',') }}
    listen {{ app_port }}
    {{ app_name | default('app') }}{% if debug is defined %} {{ debug }}{% endif %}
    conf {{ app_conf }}
    {% for u in app_users %}user {{ u }}{% endfor %}
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: debian}
spec:
  hostSelector: {matchFacts: {os.id: debian}}
  path: /etc/debian.conf
  source: debian.conf.j2
  template: true
`

// TestValidateJinjaVariables: validate, and diff before it reaches any
// host, name each variable a Jinja2 template reads that a targeted host
// does not define, with the manifest's file:line, the template's line and
// the hosts; a selector on facts makes it a warning.
func TestValidateJinjaVariables(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"site.yaml": jinjaManifests, "debian.conf.j2": "mirror {{ apt_mirror }}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site := filepath.Join(dir, "site.yaml")
	code, out, errOut := runCLI(t, nil, "validate", "-f", dir)
	want := []string{
		"invalid manifests (3 errors):",
		site + `:22: File/app: spec.content: Jinja2 template, line 4: variable "app_conf" is undefined for host web2 (1 of the 2 targeted): define it in the Host's vars, or read it as {{ app_conf | default(...) }}`,
		site + `:22: File/app: spec.content: Jinja2 template, line 4: variable "app_dirr" (read by app_conf) is undefined for host web1 (1 of the 2 targeted): define it in the Host's vars`,
		site + `:22: File/app: spec.content: Jinja2 template, line 5: variable "app_users" is undefined for 2 of the 2 hosts targeted (web1, web2): define it in the Host's vars, or read it as {{ app_users | default(...) }}`,
	}
	if code != 1 || out != "" {
		t.Errorf("validate: code %d, stdout %q", code, out)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w+"\n") {
			t.Errorf("validate's errors lack\n%s\nin:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut, "app_name") || strings.Contains(errOut, "debug") || strings.Contains(errOut, "apt_mirror") {
		t.Errorf("an optional variable, or one behind matchFacts, is an error:\n%s", errOut)
	}
	code, _, diffErr := runCLI(t, nil, "diff", "-f", dir)
	if code != exitDiffError || !strings.Contains(diffErr, want[3]) {
		t.Errorf("diff: code %d, stderr:\n%s", code, diffErr)
	}

	// With every variable defined, what remains is the warning for the
	// hosts matchFacts may select.
	fixed := strings.Replace(jinjaManifests, `vars: {app_port: 81}`, `vars: {app_port: 81, app_conf: /etc/app, app_users: [ann]}`, 1)
	fixed = strings.Replace(fixed, `app_port: 80, app_conf: "{{ app_dirr }}/app.conf"`, `app_port: 80, app_dir: /srv, app_conf: "{{ app_dir }}/app.conf", app_users: []`, 1)
	if err := os.WriteFile(site, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, nil, "validate", "-f", dir)
	wantWarning := "warning: " + site + `:35: File/debian: spec.source: Jinja2 template debian.conf.j2:1: variable "apt_mirror" is undefined for 2 of the 2 hosts targeted (web1, web2): define it in the Host's vars, or read it as {{ apt_mirror | default(...) }} (if its facts match spec.hostSelector.matchFacts)` + "\n"
	if code != 0 || out != "4 resources valid (2 hosts)\n" || errOut != wantWarning {
		t.Errorf("validate: code %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, wantWarning)
	}
}
