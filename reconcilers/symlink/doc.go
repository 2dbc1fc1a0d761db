// Package symlink reconciles Symlink resources: symbolic links pointed at
// their target, replacing a file or an empty directory only with force.
package symlink
