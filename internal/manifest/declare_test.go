package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

const twoHosts = `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: web1, labels: {role: web}}
spec: {address: 127.0.0.1, port: 50001}
---
apiVersion: optimus.dev/v1alpha1
kind: Host
metadata: {name: db1}
spec: {address: 127.0.0.1, port: 50002}
`

func TestDeclaredResourcesAreCheckedLikeManifests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(path, []byte(twoHosts), 0o644); err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	l.Declare = func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		content := "served by " + h.Metadata.Name + "\n"
		return []*v1alpha1.Resource{{
			TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "File"},
			Metadata: v1alpha1.ObjectMeta{Name: "banner-" + h.Metadata.Name},
			Spec:     &v1alpha1.FileSpec{Path: "/etc/banner", Content: &content},
		}}, nil
	}
	set, err := l.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range set.Hosts() {
		if h.Metadata.Labels[v1alpha1.LabelHostName] != h.Metadata.Name {
			t.Errorf("%s lacks its %s label: %v", h.Metadata.Name, v1alpha1.LabelHostName, h.Metadata.Labels)
		}
		got := set.ForHost(h)
		if len(got) != 1 || got[0].Metadata.Name != "banner-"+h.Metadata.Name {
			t.Fatalf("%s gets %v, want only its own banner", h.Metadata.Name, got)
		}
		f := got[0].Spec.(*v1alpha1.FileSpec)
		if *f.Content != "served by "+h.Metadata.Name+"\n" || f.State != "present" {
			t.Errorf("%s: %+v (defaults must apply)", h.Metadata.Name, f)
		}
	}

	// A bad declared resource is an error naming the host, like a bad manifest.
	l.Declare = func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		return []*v1alpha1.Resource{{
			TypeMeta: v1alpha1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "File"},
			Metadata: v1alpha1.ObjectMeta{Name: "same"},
			Spec:     &v1alpha1.FileSpec{Path: "relative/path"},
		}}, nil
	}
	_, err = l.Load(path)
	if err == nil {
		t.Fatal("bad declared resources were accepted")
	}
	msg := err.Error()
	for _, want := range []string{"desired state for host web1 (Go): File/same: spec.path: must be an absolute",
		"desired state for host db1 (Go): File/same: metadata.name: duplicate File/same: also defined at desired state for host web1 (Go)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

// Resources declared in Go are checked as values: their errors name the host
// they were declared for and the Go origin, never a line of generated YAML.
func TestDeclaredResourcesErrorsNameTheirGoOrigin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(path, []byte(twoHosts), 0o644); err != nil {
		t.Fatal(err)
	}
	l := testLoader(t)
	l.Declare = func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		if h.Metadata.Name != "web1" {
			return nil, nil
		}
		return []*v1alpha1.Resource{
			{TypeMeta: v1alpha1.TypeMeta{Kind: "User"}, Metadata: v1alpha1.ObjectMeta{Name: "bob"},
				Spec: &v1alpha1.UserSpec{Shell: "bin/bash"}},
			{TypeMeta: v1alpha1.TypeMeta{Kind: "Usr"}, Metadata: v1alpha1.ObjectMeta{Name: "x"}, Spec: &v1alpha1.UserSpec{}},
			{TypeMeta: v1alpha1.TypeMeta{Kind: "Group"}, Metadata: v1alpha1.ObjectMeta{Name: "g"}, Spec: &v1alpha1.UserSpec{}},
			{TypeMeta: v1alpha1.TypeMeta{Kind: "File", APIVersion: "optimus.dev/v1"}, Metadata: v1alpha1.ObjectMeta{Name: "f"}, Spec: &v1alpha1.FileSpec{}},
			{TypeMeta: v1alpha1.TypeMeta{Kind: "Group"}, Metadata: v1alpha1.ObjectMeta{Name: "ok"}, Spec: &v1alpha1.GroupSpec{}},
			nil,
		}, nil
	}
	_, err := l.Load(path)
	if err == nil {
		t.Fatal("bad declared resources were accepted")
	}
	const origin = "desired state for host web1 (Go): "
	want := []string{
		origin + "User/bob: spec.shell: must be an absolute, clean path such as /etc/motd",
		origin + `Usr/x: kind: unknown kind "Usr" (did you mean User?)`,
		origin + "Group/g: spec: must be a non-nil *v1alpha1.GroupSpec, not *v1alpha1.UserSpec",
		origin + "File/f: apiVersion: kind File is served by optimus.dev/v1alpha1, not optimus.dev/v1",
		origin + "resource 5 is nil",
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}

	// A valid declared resource that refers to nothing is reported like a
	// manifest's dangling reference, with its Go origin.
	l.Declare = func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		return []*v1alpha1.Resource{{TypeMeta: v1alpha1.TypeMeta{Kind: "Group"}, Metadata: v1alpha1.ObjectMeta{Name: "g-" + h.Metadata.Name},
			Spec: &v1alpha1.GroupSpec{Targeting: v1alpha1.Targeting{DependsOn: []v1alpha1.ResourceRef{{Kind: "Group", Name: "nobody"}}}}}}, nil
	}
	_, err = l.Load(path)
	if want := origin + "Group/g-web1: spec.dependsOn[0]: Group/nobody does not exist in the manifests"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant a line %s", err, want)
	}
}

func TestDeclaredSpecSharedBetweenHostsIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(path, []byte(twoHosts), 0o644); err != nil {
		t.Fatal(err)
	}
	shared := &v1alpha1.GroupSpec{}
	l := testLoader(t)
	l.Declare = func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error) {
		return []*v1alpha1.Resource{{TypeMeta: v1alpha1.TypeMeta{Kind: "Group"}, Metadata: v1alpha1.ObjectMeta{Name: "g-" + h.Metadata.Name}, Spec: shared}}, nil
	}
	_, err := l.Load(path)
	want := "desired state for host db1 (Go): Group/g-db1: spec: the same spec value was already returned for host web1; return a new value for each host"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}
