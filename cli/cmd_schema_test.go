package cli

import (
	"encoding/json"
	"testing"
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
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || len(doc.AllOf) != 12 || doc.Defs["UserSpec"] == nil {
		t.Errorf("unexpected schema: %s, %d kinds", doc.Schema, len(doc.AllOf))
	}
}
