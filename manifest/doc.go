// Package manifest loads manifest files into typed resources and validates
// the whole set before anything touches a host: strict decoding (unknown
// fields and wrong types are errors), validator tags, cross-field checks,
// duplicate names, dangling references and dependency cycles. Every problem
// is reported at once, each naming file:line, the resource, the field path
// and what is allowed.
package manifest
