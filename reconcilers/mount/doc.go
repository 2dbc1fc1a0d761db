// Package mount reconciles Mount resources: the /etc/fstab entry of a mount
// point and whether it is mounted. Mounting and unmounting need
// CAP_SYS_ADMIN; where the host withholds it (an unprivileged container)
// the fstab entry still converges and every plan notes the mounted state
// it cannot change (reconcilers.Note).
package mount
