package cli

import (
	"encoding/json"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestSchemaCommand(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "schema")
	if code != 0 || errOut != "" {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	var doc struct {
		Schema string                     `json:"$schema"`
		Defs   map[string]json.RawMessage `json:"$defs"`
		AllOf  []any                      `json:"allOf"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || len(doc.AllOf) != len(v1alpha1.BuiltinKinds()) || doc.Defs["UserSpec"] == nil {
		t.Errorf("unexpected schema: %s, %d kinds", doc.Schema, len(doc.AllOf))
	}
}
