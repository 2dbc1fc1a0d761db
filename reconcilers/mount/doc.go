// Package mount reconciles Mount resources: the /etc/fstab entry of a mount
// point and whether it is mounted. Mounting and unmounting need
// CAP_SYS_ADMIN; where the host withholds it (an unprivileged container)
// the fstab entry still converges and the plan says the mounted state is
// not settable.
package mount
