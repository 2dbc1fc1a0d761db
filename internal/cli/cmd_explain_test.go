package cli

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		code int
		want []string // substrings of stdout, or of stderr when code != 0
	}{
		{"User", 0, []string{"KIND:     User", "VERSION:  optimus.dev/v1alpha1", "A local user account.",
			"metadata\t<ObjectMeta> -required-", "spec\t<UserSpec>",
			`Use "optimus explain User.spec" for the fields of the spec.`}},
		{"User.spec", 0, []string{"FIELD:    spec <UserSpec>", "shell\t<string>", "Shell is the login shell, an absolute path.",
			"hostSelector\t<LabelSelector>", "dependsOn\t<[]ResourceRef>", "Allowed values: present, absent."}},
		{"user.shell", 0, []string{"FIELD:    shell <string>", "Shell is the login shell"}},
		{"User.spec", 0, []string{"shell\t<string>", "Must be an absolute, clean path such as /etc/motd."}},
		{"File.spec", 0, []string{"mode\t<string>", `Must be octal permission bits as a quoted string, such as "0644".`}},
		{"Host.spec.hostKey.policy", 0, []string{"FIELD:    policy <string>", "accept-new", "Allowed values: strict, accept-new, insecure."}},
		{"Host.spec.connectTimeout", 0, []string{"<duration>", "ConnectTimeout bounds dialling"}},
		{"User.metadata", 0, []string{"name\t<string> -required-", "labels\t<map[string]string>"}},
		{"User.spec.dependsOn", 0, []string{"FIELD:    dependsOn <[]ResourceRef>", "kind\t<string> -required-"}},
		{"File.spec.hostSelector.matchExpressions.operator", 0, []string{"Allowed values: In, NotIn, Exists,\n    DoesNotExist, Gt, Ge, Lt, Le."}},
		{"Cron.spec.schedule", 0, []string{"FIELD:    schedule <string>", "*/15 2-5 * jan,jul mon-fri", "@daily"}},
		{"File.spec.validate", 0, []string{"FIELD:    validate <string>", "nginx -t -c %s"}},
		{"Package.spec.cacheValidTime", 0, []string{"<duration>", "cacheValidTime: 1h", "Default 24h."}},
		{"Mount.spec.state", 0, []string{"Allowed values: mounted, unmounted, present, absent.", "CAP_SYS_ADMIN"}},
		{"Sysctl.spec.value", 0, []string{"FIELD:    value <string>"}},
		{"Hostname.spec.name", 0, []string{"FIELD:    name <string>"}},
		{"File.spec.hostSelector.matchFacts", 0, []string{"matchFacts: {os.id: debian}"}},
		{"Usr", 1, []string{`optimus: unknown kind "Usr" (did you mean User?)`}},
		{"Frobnicator", 1, []string{"(known: AuthorizedKey, BlockInFile, Cron, Directory,"}},
		{"User.spec.shel", 1, []string{`optimus: User.spec has no field "shel" (did you mean shell?)`}},
		{"User.spec.shell.x", 1, []string{"User.spec.shell is of type string and has no fields"}},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "explain", tc.arg)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			got := out
			if tc.code != 0 {
				got = errOut
			}
			norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
			for _, w := range tc.want {
				if !strings.Contains(norm(got), norm(w)) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestExplainListsKinds(t *testing.T) {
	code, out, _ := runCLI(t, nil, "explain")
	if code != 0 || !strings.Contains(out, "Host") || !strings.Contains(out, "A local user account.") {
		t.Errorf("code %d, stdout %q", code, out)
	}
}
