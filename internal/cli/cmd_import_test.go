package cli

import (
	"strings"
	"testing"
)

// TestImportAnsibleExitCodes: a complete conversion exits 0, one that left
// something out exits 2 and lists it with file:line, and the manifests
// written either way pass validate.
func TestImportAnsibleExitCodes(t *testing.T) {
	const testdata = "../importer/ansible/testdata/"
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "import", "ansible", "-i", testdata+"inventory/ini/hosts.ini", "-o", dir)
	if code != 0 || out != "" || errOut != "import ansible: 5 of 5 hosts converted; 0 left out\n" {
		t.Errorf("inventory: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, nil, "validate", "-f", dir); code != 0 {
		t.Errorf("validate the imported inventory: exit %d\n%s%s", code, out, errOut)
	}

	dir = t.TempDir()
	code, _, errOut = runCLI(t, nil, "import", "ansible", "-i", testdata+"inventory/yaml/hosts.yml", testdata+"roles/webapp", "-o", dir)
	if code != 2 {
		t.Errorf("role with unconvertible tasks: exit %d, want 2\n%s", code, errOut)
	}
	for _, want := range []string{
		testdata + "roles/webapp/tasks/main.yml:93: task \"Delegated\" (command): keyword delegate_to has no Optimus equivalent",
		"optimus: import ansible: 5 of 6 hosts, 13 of 17 tasks, 1 of 2 handlers converted; 6 left out (kept as comments marked NOT CONVERTED)\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, out, errOut := runCLI(t, nil, "validate", "-f", dir); code != 0 || !strings.HasPrefix(out, "18 resources valid (5 hosts)") {
		t.Errorf("validate the imported role: exit %d\n%s%s", code, out, errOut)
	}

	if code, _, errOut := runCLI(t, nil, "import", "ansible"); code != 1 || !strings.Contains(errOut, "give an inventory (-i), a playbook or a role directory") {
		t.Errorf("no arguments: exit %d, stderr %q", code, errOut)
	}
}
