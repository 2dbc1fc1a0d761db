// Package jinja renders File templates written in Jinja2, the template
// language of Ansible roles, so that a role's templates can be used
// unchanged. It wraps a Go implementation of Jinja2 (gonja), configured as
// Ansible's template module renders (blocks trimmed, trailing newline kept,
// undefined variables an error), and adds the Ansible filters people use
// most that Jinja2 itself lacks.
package jinja
