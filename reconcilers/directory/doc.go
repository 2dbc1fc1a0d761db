// Package directory reconciles Directory resources: directories created with
// their mode and ownership, and removed (recursively only with force).
package directory
