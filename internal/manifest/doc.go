// Package manifest loads manifest files into typed resources and validates
// the whole set before anything touches a host: strict decoding (unknown
// fields and wrong types are errors), validator tags, cross-field checks,
// duplicate names, dangling references and dependency cycles. Every problem
// is reported at once, each naming file:line, the resource, the field path
// and what is allowed.
//
// Each file is read as one stream of YAML documents, and each document's
// node tree fills the kind's Go spec in a single pass, so every position
// comes from a node. Resources declared in Go (Loader.Declare) skip YAML
// entirely: they are checked as values and their errors name their origin.
package manifest
