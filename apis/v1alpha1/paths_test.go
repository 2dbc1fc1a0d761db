package v1alpha1

import (
	"reflect"
	"slices"
	"testing"
)

// templateSpec is a custom kind's spec: a template file read on the machine
// running optimus, partials held in a list, a key file that is only named.
type templateSpec struct {
	Targeting `json:",inline"`
	Template  string              `json:"template" optimus:"path,input"`
	Partials  []partial           `json:"partials,omitempty"`
	ByName    map[string]*partial `json:"byName,omitempty"`
	KeyFile   string              `json:"keyFile,omitempty" optimus:"path"`
	Plain     string              `json:"plain,omitempty"`
	Vars      map[string]any      `json:"vars,omitempty"`
	Named     map[string]partial  `json:"named,omitempty"`
}

type partial struct {
	File string `json:"file" optimus:"path,input"`
}

func TestPathFieldsAreDeclaredByTags(t *testing.T) {
	got := PathFields(reflect.TypeFor[templateSpec]())
	want := []PathField{{Index: []int{1}, Name: "template", Input: true}, {Index: []int{4}, Name: "keyFile"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PathFields = %+v, want %+v", got, want)
	}
	// Built-in kinds use the same tags.
	if got := PathFields(reflect.TypeFor[FileSpec]()); len(got) != 1 || got[0].Name != "source" || !got[0].Input {
		t.Errorf("FileSpec path fields = %+v", got)
	}
	if got := PathFields(reflect.TypeFor[HostSpec]()); len(got) != 1 || got[0].Name != "privateKeyFile" || got[0].Input {
		t.Errorf("HostSpec path fields = %+v", got)
	}
	if got := PathFields(reflect.TypeFor[string]()); got != nil {
		t.Errorf("PathFields(string) = %+v", got)
	}
}

func TestFileInputs(t *testing.T) {
	spec := &templateSpec{
		Template: "/srv/a.tmpl",
		Partials: []partial{{File: "/srv/p0"}, {File: ""}, {File: "/srv/p2"}},
		ByName:   map[string]*partial{"x": {File: "/srv/x"}},
		KeyFile:  "/keys/id",
		Plain:    "/not/a/path/field",
		Vars:     map[string]any{"file": "/not/searched"},
		Named:    map[string]partial{"y": {File: "/srv/y"}},
	}
	got := FileInputs(spec)
	slices.Sort(got)
	if want := []string{"/srv/a.tmpl", "/srv/p0", "/srv/p2", "/srv/x", "/srv/y"}; !slices.Equal(got, want) {
		t.Errorf("FileInputs = %v, want %v", got, want)
	}

	if got := FileInputs(&FileSpec{Path: "/etc/motd", Source: "/m/motd.txt"}); !slices.Equal(got, []string{"/m/motd.txt"}) {
		t.Errorf("FileInputs(FileSpec) = %v", got)
	}
	if got := FileInputs(&FileSpec{Path: "/etc/motd"}); len(got) != 0 {
		t.Errorf("FileInputs of a File without source = %v", got)
	}
	// A host's key and known_hosts files are paths, not desired state: a
	// known_hosts file that accept-new appends to must not look like a change.
	host := &HostSpec{PrivateKeyFile: "/k/id", HostKey: HostKeySpec{KnownHostsFile: "/k/known"}, PasswordFrom: &SecretSource{File: "/k/pw"}}
	if got := FileInputs(host); len(got) != 0 {
		t.Errorf("FileInputs(HostSpec) = %v, want none", got)
	}
}

func TestWalkPathsRewritesWithJSONPaths(t *testing.T) {
	host := &HostSpec{PrivateKeyFile: "id", HostKey: HostKeySpec{KnownHostsFile: "known"},
		Become: &BecomeSpec{PasswordFrom: &SecretSource{File: "pw"}}}
	var paths []string
	WalkPaths(host, func(p *string, _ PathField, path string) {
		paths = append(paths, path)
		*p = "/abs/" + *p
	})
	if want := []string{"privateKeyFile", "hostKey.knownHostsFile", "become.passwordFrom.file"}; !slices.Equal(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
	if host.PrivateKeyFile != "/abs/id" || host.HostKey.KnownHostsFile != "/abs/known" || host.Become.PasswordFrom.File != "/abs/pw" {
		t.Errorf("not rewritten: %+v", host)
	}
}
