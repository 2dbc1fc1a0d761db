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
