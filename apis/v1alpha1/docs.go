package v1alpha1

//go:generate go run ./gen/docs

// Doc returns the doc comment of a type of this package ("UserSpec", "") or
// of one of its fields by JSON name ("UserSpec", "shell"), taken from the
// source by go generate. It returns "" for what is not documented.
func Doc(typeName, field string) string {
	if field == "" {
		return docs[typeName]
	}
	return docs[typeName+"."+field]
}

// Documented is implemented by the spec types of custom kinds so that
// explain and schema can show their documentation. FieldDocs maps "Type" and
// "Type.jsonField" to doc text; `go run
// github.com/optimus-cm/optimus/apis/v1alpha1/gen/docs DIR` writes such a
// map (named docs) from the doc comments of the package in DIR.
type Documented interface {
	FieldDocs() map[string]string
}
