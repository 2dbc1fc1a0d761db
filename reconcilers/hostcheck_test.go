package reconcilers_test

import (
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// checkingNoteKind refuses a note that names a host var the host lacks.
type checkingNoteKind struct{ noteKind }

func (checkingNoteKind) CheckHost(obj reconcilers.Object[noteSpec], h *v1alpha1.Host) []v1alpha1.FieldError {
	if _, ok := h.Spec.Vars[obj.Spec.Text]; !ok {
		return []v1alpha1.FieldError{{Path: "text", Message: "no var " + obj.Spec.Text}}
	}
	return nil
}

// TestHostCheckerThroughTheRegistry: a typed kind's CheckHost is reached
// through the registry, the loader's hook; a kind without one checks
// nothing.
func TestHostCheckerThroughTheRegistry(t *testing.T) {
	reg, err := reconcilers.NewKindRegistry(kindOf(checkingNoteKind{noteKind{kind: "Checked", key: "k"}}), kindOf(noteKind{kind: "Plain", key: "k2"}))
	if err != nil {
		t.Fatal(err)
	}
	host := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "web1"}, Spec: &v1alpha1.HostSpec{Vars: map[string]any{"port": 1}}}
	res := func(kind, text string) *v1alpha1.Resource {
		return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: kind}, Metadata: v1alpha1.ObjectMeta{Name: "n"}, Spec: &noteSpec{Text: text}}
	}
	if fe := reg.CheckHost(res("Checked", "prot"), host); len(fe) != 1 || fe[0].Path != "text" || fe[0].Message != "no var prot" {
		t.Errorf("misspelt var: %+v", fe)
	}
	if fe := reg.CheckHost(res("Checked", "port"), host); fe != nil {
		t.Errorf("var present: %+v", fe)
	}
	if fe := reg.CheckHost(res("Plain", "prot"), host); fe != nil {
		t.Errorf("a kind without CheckHost: %+v", fe)
	}
}
