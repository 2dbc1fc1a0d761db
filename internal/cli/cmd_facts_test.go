package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/test/testhost"
)

// The facts Optimus reports are what docker exec finds in the container.
func TestFacts(t *testing.T) {
	h := testhost.Start(t, 1)[0]
	dir := t.TempDir()
	doc := fmt.Sprintf(`apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web1, labels: {role: web}}
spec:
  address: 127.0.0.1
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
`, h.Port, h.KeyFile, h.KnownHostsFile)
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	osRelease := h.Exec(t, "cat /etc/os-release")
	field := func(k string) string {
		for _, l := range strings.Split(osRelease, "\n") {
			if v, ok := strings.CutPrefix(l, k+"="); ok {
				return strings.Trim(v, `"`)
			}
		}
		return ""
	}
	cpus, _ := strconv.Atoi(strings.TrimSpace(h.Exec(t, "nproc")))
	arch := strings.TrimSpace(h.Exec(t, "uname -m"))
	addr := strings.Fields(h.Exec(t, "hostname -I"))[0]

	code, out, errOut := runCLI(t, nil, "facts", "-f", dir, "-l", "role=web", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var got []struct {
		Host  string `json:"host"`
		Facts struct {
			OS struct {
				ID        string `json:"id"`
				VersionID string `json:"versionId"`
			} `json:"os"`
			Arch       string `json:"arch"`
			CPUs       int    `json:"cpus"`
			MemoryMB   int    `json:"memoryMB"`
			Hostname   string `json:"hostname"`
			Interfaces []struct {
				Name      string   `json:"name"`
				Addresses []string `json:"addresses"`
			} `json:"interfaces"`
		} `json:"facts"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	f := got[0].Facts
	if got[0].Host != "web1" || f.OS.ID != field("ID") || f.OS.VersionID != field("VERSION_ID") || f.CPUs != cpus || f.Arch != arch ||
		f.Hostname != h.Name || f.MemoryMB <= 0 {
		t.Errorf("facts %+v; want id %s version %s cpus %d arch %s hostname %s", got[0], field("ID"), field("VERSION_ID"), cpus, arch, h.Name)
	}
	if len(f.Interfaces) != 1 || f.Interfaces[0].Name != "eth0" || len(f.Interfaces[0].Addresses) == 0 || f.Interfaces[0].Addresses[0] != addr {
		t.Errorf("interfaces %+v, want eth0 with %s", f.Interfaces, addr)
	}

	code, out, _ = runCLI(t, nil, "facts", "-f", dir)
	if code != 0 || !strings.Contains(out, "web1:\n") || !strings.Contains(out, ".Facts.OS.ID") || !strings.Contains(out, field("ID")) ||
		!regexp.MustCompile(`(?m)^  \.Facts\.OS\.Family +Debian$`).MatchString(out) {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
}
