package daemon

import (
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// A resource that reads variables reaches the engine as each host's own
// variant; the host's generation must follow the variant's spec, not the
// template's, or a changed value would never be rolled out.
func TestGenerationFollowsAHostsVariant(t *testing.T) {
	file := func(content string) *v1alpha1.Resource {
		return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "File"}, Metadata: v1alpha1.ObjectMeta{Name: "motd"},
			Spec: &v1alpha1.FileSpec{Path: "/etc/motd", Content: &content}}
	}
	template := file("${vars.motd}")
	digests := resourceDigests([]*v1alpha1.Resource{template}, nil)
	h := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "web1"}, Spec: &v1alpha1.HostSpec{}}
	one := generation(h, []*v1alpha1.Resource{file("one")}, digests, nil)
	two := generation(h, []*v1alpha1.Resource{file("two")}, digests, nil)
	if one == two {
		t.Errorf("generation %s for two different variants of File/motd", one)
	}
}
