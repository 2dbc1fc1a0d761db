// Package v1alpha1 holds the resource types users write in manifests: the
// common object metadata, label selectors, conditions, and one spec type per
// kind (Host, User, Group, File, ...), with their validation tags and defaults.
//
// The doc comment of every spec field is what `optimus explain` prints, so it
// is written for the person editing a manifest. The custom validation tags
// (see LookupRule) are defined once here and serve loading, the JSON Schema and
// explain. A spec names the local files it reads with the struct tag
// optimus:"path" (see PathFields), which gives built-in and custom kinds the
// same path resolution and change detection (FileInputs).
package v1alpha1
