// Package v1alpha1 holds the resource types users write in manifests: the
// common object metadata, label selectors, conditions, and one spec type per
// kind (Host, User, Group, File, ...), with their validation tags and defaults.
//
// The doc comment of every spec field is what `optimus explain` prints, so it
// is written for the person editing a manifest.
package v1alpha1
