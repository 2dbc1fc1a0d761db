package pkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeManagers are rpm, dnf and apk as shell scripts that know curl as
// installed and git as available, and log how dnf and apk were asked.
var fakeManagers = map[string]string{
	"rpm": `shift 3; for p; do if [ "$p" = curl ]; then printf 'curl\t0:7.76-1\tii\n'; else echo "package $p is not installed"; fi; done`,
	"dnf": `echo "dnf $*" >>"$LOG"; printf 'Available Packages\ngit.x86_64   2.39-1   appstream\n'`,
	"apk": `case $1 in
info) [ "$3" = curl ] ;;
policy) echo "apk $*" >>"$LOG"; printf 'git policy:\n  2.40.1-r0:\n    https://repo\n' ;;
esac`,
}

// TestQueryAsksListsForPackagesNotInstalled runs the query script with a
// PATH that holds the fake managers and the few tools the script needs, as
// on a dnf or apk host: the lists are asked, offline, only about the
// packages not installed, and what they do not know is unknown.
func TestQueryAsksListsForPackagesNotInstalled(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"sh", "awk", "grep", "stat", "sort", "tail", "date"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for name, script := range fakeManagers {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!"+filepath.Join(bin, "sh")+"\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logFile := filepath.Join(dir, "log")
	query := func(names ...string) (State, []string) {
		t.Helper()
		os.Remove(logFile)
		cmd := exec.Command(filepath.Join(bin, "sh"), "-c", QueryScript(names, false))
		cmd.Env = []string{"PATH=" + bin, "LOG=" + logFile}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		logged, _ := os.ReadFile(logFile)
		var calls []string
		for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
			if line != "" {
				// awk lists the packages in no set order: they follow
				// the command's fixed words.
				f := strings.Fields(line)
				slices.Sort(f[map[string]int{"dnf": 5, "apk": 2}[f[0]]:])
				calls = append(calls, strings.Join(f, " "))
			}
		}
		return ParseState(string(out)), calls
	}

	st, calls := query("curl", "git", "nginx")
	if want := []string{"dnf -q -C list --available git nginx", "apk policy git nginx"}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if st.Installed["dnf"]["curl"] != "0:7.76-1" || st.Installed["apk"]["curl"] != "" || len(st.Installed["apk"]) != 1 {
		t.Errorf("installed %v", st.Installed)
	}
	for _, mgr := range []string{"dnf", "apk"} {
		if _, known := st.candidate(mgr, "git"); !known {
			t.Errorf("%s: git unknown", mgr)
		}
		if _, known := st.candidate(mgr, "nginx"); known {
			t.Errorf("%s: nginx known", mgr)
		}
	}

	// Everything installed: the lists are not asked at all.
	if _, calls := query("curl"); len(calls) != 0 {
		t.Errorf("converged host asks the lists: %q", calls)
	}
}
