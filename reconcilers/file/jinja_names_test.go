package file

import (
	"slices"
	"sort"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestJinjaHostVariablesAreWhatTemplatesSee: validate takes these names as
// defined on every host; a name added here and not there would let an
// undefined variable through, or refuse a defined one.
func TestJinjaHostVariablesAreWhatTemplatesSee(t *testing.T) {
	var got []string
	for k := range JinjaVars("web1", nil, nil, nil) {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(v1alpha1.JinjaHostVariables)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("JinjaVars sets %q,\nv1alpha1.JinjaHostVariables names %q", got, want)
	}
}
