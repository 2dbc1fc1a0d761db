package pkg

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

const apt = "_oiso env 'DEBIAN_FRONTEND=noninteractive' apt-get -y -q -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' "

const aptHost = `@manager apt
@apt-installed
nginx	1.22-1	ii 
curl	7.88	ii 
oldpkg	1.0	rc 
@apt-policy
nginx:
  Installed: 1.22-1
  Candidate: 1.24-1
  Version table:
curl:
  Installed: 7.88
  Candidate: 7.88
oldpkg:
  Installed: (none)
  Candidate: 1.0
git:
  Installed: (none)
  Candidate: 1:2.39
@lists
now 100000
apt 99000
`

// fresh says every manager's lists were refreshed 1000 s ago.
const fresh = "@lists\nnow 100000\napt 99000\ndnf 99000\napk 99000\n"

const aptRefresh = `_ol=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/*_Packages* 2>/dev/null | sort -n | tail -n 1); ` +
	`if [ "${_ol:-0}" -le 99000 ]; then _ou=$(env 'DEBIAN_FRONTEND=noninteractive' apt-get update -q -o 'APT::Update::Error-Mode=any' 2>&1) || ` +
	`{ _rc=$?; printf '%s\n' "$_ou" >&2; exit $_rc; }; mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp || exit; fi && `

// What dnf -q -C list --available and apk policy print for git.
const (
	dnfAvailable = "@dnf-available\nAvailable Packages\ngit.x86_64   2.39.3-1.el9   appstream\n"
	apkAvailable = "@apk-available\ngit policy:\n  2.40.1-r0:\n    https://dl-cdn.alpinelinux.org/alpine/v3.18/main\n"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   v1alpha1.PackageSpec
		facts  string
		script string
		err    string
	}{
		{"installed", v1alpha1.PackageSpec{Names: []string{"nginx", "curl"}}, aptHost, "", ""},
		{"install missing only", v1alpha1.PackageSpec{Names: []string{"nginx", "oldpkg", "git"}}, aptHost,
			apt + "install oldpkg git", ""},
		{"latest", v1alpha1.PackageSpec{Names: []string{"nginx", "curl"}, State: "latest"}, aptHost,
			apt + "install nginx", ""},
		{"unknown package refreshes", v1alpha1.PackageSpec{Names: []string{"nginx-light"}}, aptHost,
			aptRefresh + apt + "install nginx-light", ""},
		{"stale lists refresh", v1alpha1.PackageSpec{Names: []string{"git"}, CacheValidTime: &v1alpha1.Duration{Duration: 100}}, aptHost,
			aptRefresh + apt + "install git", ""},
		{"never refreshed", v1alpha1.PackageSpec{Names: []string{"git"}}, "@manager apk\n@apk-installed\n@lists\nnow 5\napk \n",
			`_ol=$(stat -c %Y /var/cache/apk/APKINDEX.* /etc/apk/cache/APKINDEX.* 2>/dev/null | sort -n | tail -n 1); if [ "${_ol:-0}" -le 0 ]; then _ou=$(apk update -q 2>&1) || { _rc=$?; printf '%s\n' "$_ou" >&2; exit $_rc; }; fi && _oiso apk add git`, ""},
		{"stale lists but nothing to install", v1alpha1.PackageSpec{Names: []string{"curl"}, CacheValidTime: &v1alpha1.Duration{Duration: 100}}, aptHost, "", ""},
		{"remove", v1alpha1.PackageSpec{Names: []string{"curl", "git"}, State: "absent"}, aptHost,
			apt + "remove curl", ""},
		{"dnf", v1alpha1.PackageSpec{Names: []string{"git"}}, "@manager dnf\n@dnf-installed\n" + fresh + dnfAvailable, "_oiso dnf -y install git", ""},
		{"dnf unknown package refreshes", v1alpha1.PackageSpec{Names: []string{"git", "nginx"}}, "@manager dnf\n@dnf-installed\n" + fresh + dnfAvailable,
			`_ol=$(stat -c %Y /var/cache/dnf/last_makecache /var/cache/dnf/*.solv 2>/dev/null | sort -n | tail -n 1); if [ "${_ol:-0}" -le 99000 ]; then _ou=$(dnf -q -y makecache 2>&1) || { _rc=$?; printf '%s\n' "$_ou" >&2; exit $_rc; }; fi && _oiso dnf -y install git nginx`, ""},
		{"dnf latest", v1alpha1.PackageSpec{Names: []string{"git"}, State: "latest"},
			"@manager dnf\n@dnf-installed\ngit\t0:2.1-1\tii\n" + fresh + "@dnf-upgrades\ngit.x86_64   2.2-1   updates\n", "_oiso dnf -y upgrade git", ""},
		{"apk", v1alpha1.PackageSpec{Names: []string{"git", "curl"}}, "@manager apk\n@apk-installed\ncurl\t\tii\n" + fresh + apkAvailable, "_oiso apk add git", ""},
		{"apk unknown package refreshes", v1alpha1.PackageSpec{Names: []string{"git", "nginx"}}, "@manager apk\n@apk-installed\n" + fresh + apkAvailable,
			`_ol=$(stat -c %Y /var/cache/apk/APKINDEX.* /etc/apk/cache/APKINDEX.* 2>/dev/null | sort -n | tail -n 1); if [ "${_ol:-0}" -le 99000 ]; then _ou=$(apk update -q 2>&1) || { _rc=$?; printf '%s\n' "$_ou" >&2; exit $_rc; }; fi && _oiso apk add git nginx`, ""},
		{"apk latest", v1alpha1.PackageSpec{Names: []string{"git"}, State: "latest"},
			"@manager apk\n@apk-installed\ngit\t\tii\n" + fresh + "@apk-upgrades\ngit-2.40.1-r0 < 2.41.0-r0\n", "_oiso apk add --upgrade git", ""},
		{"explicit manager missing", v1alpha1.PackageSpec{Names: []string{"git"}, Manager: "dnf"}, aptHost, "", "host has no dnf"},
		{"no manager", v1alpha1.PackageSpec{Names: []string{"git"}}, "", "", "no supported package manager"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Default(&v1alpha1.ObjectMeta{Name: "p"})
			res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "p"}, Spec: &s}
			facts := reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": transport.Result{Stdout: []byte(tc.facts)}})
			actions, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			var got []string
			for _, a := range actions {
				got = append(got, a.Script)
			}
			if err != nil || strings.Join(got, "; ") != tc.script {
				t.Errorf("got %q %v\nwant %q", got, err, tc.script)
			}
		})
	}
}

func TestRefreshIsDescribedAndCombinedOnce(t *testing.T) {
	s := v1alpha1.PackageSpec{Names: []string{"nginx-light"}}
	s.Default(&v1alpha1.ObjectMeta{Name: "p"})
	res := &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "p"}, Spec: &s}
	facts := reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": {Stdout: []byte(aptHost)}})
	req := reconcilers.Request{Resource: res, Facts: facts}
	rec := reconcilers.AsReconciler(Reconciler{})
	actions, err := rec.Plan(context.Background(), req)
	if err != nil || len(actions) != 1 {
		t.Fatalf("%v %+v", err, actions)
	}
	a := actions[0]
	if a.Description != "refresh package lists, then install package nginx-light (apt)" ||
		a.Changes[0] != (reconcilers.Change{Field: "package lists", Before: "unknown to the package lists: nginx-light", After: "refreshed"}) {
		t.Errorf("action %+v", a)
	}
	c := reconcilers.HooksOf(rec).Combiner
	key, items := c.Combinable(req, a)
	if key != "apt install refresh=99000" || len(items) != 1 {
		t.Fatalf("key %q items %v", key, items)
	}
	if got := c.Combine(key, []string{"a", "b"}); got != aptRefresh+apt+"install a b" {
		t.Errorf("combined %q", got)
	}
}

func TestQueryOnlyAsksUpgradesForLatest(t *testing.T) {
	res := func(state string) *v1alpha1.Resource {
		s := &v1alpha1.PackageSpec{State: state}
		s.Default(&v1alpha1.ObjectMeta{Name: "nginx"})
		return &v1alpha1.Resource{Spec: s}
	}
	if q := reconcilers.AsReconciler(Reconciler{}).Queries(nil, []*v1alpha1.Resource{res("present")}); strings.Contains(q[0].Script, "dnf -q -C list --upgrades") ||
		!strings.Contains(q[0].Script, "apt-cache "+aptNoCacheFiles+" policy $p") || !strings.Contains(q[0].Script, "for (p in want) print p }' nginx)") {
		t.Error("present asks for upgrades, or not for apt's candidates (which say whether the lists know the package)")
	}
	if q := reconcilers.AsReconciler(Reconciler{}).Queries(nil, []*v1alpha1.Resource{res("latest")}); !strings.Contains(q[0].Script, "dnf -q -C list --upgrades nginx") {
		t.Error("latest does not ask for upgrades")
	}
}

// TestCombinable: what the engine may merge into one transaction per host.
func TestCombinable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  v1alpha1.PackageSpec
		key   string
		items string
	}{
		{"install", v1alpha1.PackageSpec{Names: []string{"nginx", "git"}}, "apt install", "git"},
		{"apt installs and upgrades at once", v1alpha1.PackageSpec{Names: []string{"nginx", "git"}, State: "latest"}, "apt install", "git nginx"},
		{"remove", v1alpha1.PackageSpec{Names: []string{"curl"}, State: "absent"}, "apt remove", "curl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.Default(&v1alpha1.ObjectMeta{Name: "p"})
			facts := reconcilers.NewFacts(map[string]transport.Result{KeyPrefix + "x": {Stdout: []byte(aptHost)}})
			req := reconcilers.TypedRequest[v1alpha1.PackageSpec]{Resource: &v1alpha1.Resource{Metadata: v1alpha1.ObjectMeta{Name: "p"}, Spec: &s}, Spec: &s, Facts: facts}
			actions, err := Reconciler{}.Plan(context.Background(), req)
			if err != nil || len(actions) != 1 {
				t.Fatalf("%v %v", actions, err)
			}
			key, items := Reconciler{}.Combinable(req, actions[0])
			if key != tc.key || strings.Join(items, " ") != tc.items {
				t.Errorf("Combinable = %q %q, want %q %q", key, items, tc.key, tc.items)
			}
			if got := (Reconciler{}).Combine(key, items); got != Command("apt", strings.Fields(key)[1], items) {
				t.Errorf("Combine = %q", got)
			}
		})
	}
}

func TestParseAvailable(t *testing.T) {
	st := ParseState("@manager dnf\n" + dnfAvailable + apkAvailable + "curl policy:\n  8.1.2-r0:\n    lib/apk/db/installed\n  8.0.1-r0:\n    https://repo\n")
	if got := st.Available["dnf"]; len(got) != 1 || got["git"] != "2.39.3-1.el9" {
		t.Errorf("dnf available %v", got)
	}
	if got := st.Available["apk"]; len(got) != 2 || got["git"] != "2.40.1-r0" || got["curl"] != "8.1.2-r0" {
		t.Errorf("apk available %v", got)
	}
}
