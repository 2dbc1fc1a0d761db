package manifest

import (
	"os"
	"path/filepath"
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
