package v1alpha1

import (
	"strings"
	"testing"
)

func TestMatchFactsCheck(t *testing.T) {
	sel := &LabelSelector{MatchFacts: map[string]string{"os.id": "debian", "os.flavour": "x"}}
	errs := sel.Check()
	if len(errs) != 1 || errs[0].Path != "matchFacts[os.flavour]" || !strings.Contains(errs[0].Message, "os.id, os.idLike") {
		t.Errorf("errors %+v", errs)
	}
	if !(&LabelSelector{}).MatchesFacts(nil) || sel.MatchesFacts(nil) {
		t.Error("a selector without facts must match anything; one with facts nothing unknown")
	}
}

func TestFileValidateNeedsPlaceholder(t *testing.T) {
	if errs := (&FileSpec{Validate: "nginx -t"}).Check(); len(errs) != 1 || errs[0].Path != "validate" {
		t.Errorf("errors %+v", errs)
	}
	if errs := (&FileSpec{Validate: "nginx -t -c %s"}).Check(); len(errs) != 0 {
		t.Errorf("errors %+v", errs)
	}
}
