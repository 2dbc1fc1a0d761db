package v1alpha1

import (
	"strings"
)

// CronSpec is one scheduled command: an entry of a user's crontab, or a file
// of its own in /etc/cron.d.
type CronSpec struct {
	Targeting `json:",inline"`
	// Name identifies the entry: a "# optimus: NAME" comment precedes it in
	// the crontab, such as "# optimus: nightly-backup". Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=128,excludesall=\n\r"`
	// User whose crontab holds the entry, and who runs the command, such as
	// www-data. Default: root. Without crontab(1) on the host, the crontab is
	// written as the spool file cron reads (/var/spool/cron/crontabs/USER,
	// mode 0600, owned by USER and group crontab where it exists).
	User string `json:"user,omitempty" validate:"omitempty,max=32,unixname"`
	// Schedule is five fields, "minute hour day-of-month month day-of-week"
	// (lists, ranges, steps and month or day names as in crontab(5):
	// "*/15 2-5 * jan,jul mon-fri"), or a shortcut: @reboot, @hourly, @daily,
	// @midnight, @weekly, @monthly, @yearly, @annually.
	Schedule string `json:"schedule,omitempty" validate:"required_unless=State absent"`
	// Command is the shell command line cron runs, such as "/usr/local/bin/backup --quiet".
	Command string `json:"command,omitempty" validate:"required_unless=State absent,excludesall=\n\r"`
	// CronFile puts the entry alone in /etc/cron.d/CRONFILE (letters, digits,
	// '-' and '_', as run-parts requires) instead of the user's crontab:
	// "cronFile: logrotate-hourly".
	CronFile string `json:"cronFile,omitempty" validate:"omitempty,max=64,cronfile"`
	// State is present (default) or absent (the entry, or the cron.d file, is
	// removed; the crontab's other lines are kept).
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
}

// Default fills in defaults.
func (s *CronSpec) Default(m *ObjectMeta) {
	if s.Name == "" && m != nil {
		s.Name = m.Name
	}
	if s.User == "" {
		s.User = "root"
	}
	if s.State == "" {
		s.State = StatePresent
	}
}

// Check validates the schedule field by field.
func (s *CronSpec) Check() []FieldError {
	if s.State == StateAbsent && s.Schedule == "" {
		return nil
	}
	if err := ParseCronSchedule(s.Schedule); err != nil {
		return []FieldError{{Path: "schedule", Message: err.Error()}}
	}
	return nil
}

// SysctlSpec is a kernel parameter, persisted in
// /etc/sysctl.d/90-optimus-NAME.conf and applied to the running kernel.
// Where /proc/sys is read-only (in a container), the persisted value
// converges and a live value that differs is noted in every plan.
type SysctlSpec struct {
	Targeting `json:",inline"`
	// Name is the parameter, such as net.ipv4.ip_forward. Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=255,sysctlkey"`
	// Value wanted, such as "1" or "4096 87380 6291456" (whitespace between
	// numbers is not significant).
	Value string `json:"value,omitempty" validate:"required_unless=State absent,excludesall=\n\r"`
	// State is present (default) or absent (the file is removed; the running
	// kernel keeps its value until reboot).
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent"`
}

// Default fills in defaults.
func (s *SysctlSpec) Default(m *ObjectMeta) {
	if s.Name == "" && m != nil {
		s.Name = m.Name
	}
	if s.State == "" {
		s.State = StatePresent
	}
	s.Value = strings.Join(strings.Fields(s.Value), " ")
}

// MountSpec is a file system: its /etc/fstab entry and whether it is mounted.
// Mounting and unmounting need CAP_SYS_ADMIN; on a host without it (an
// unprivileged container) only the fstab entry converges.
type MountSpec struct {
	Targeting `json:",inline"`
	// Path is the mount point, such as /srv/cache.
	Path string `json:"path" validate:"required,abspath"`
	// Source is what is mounted: a device (/dev/sdb1), UUID=..., LABEL=...,
	// host:/export, or tmpfs.
	Source string `json:"source,omitempty" validate:"required_unless=State absent,excludesall= \t\n\r"`
	// FSType is the file system type, such as ext4, nfs or tmpfs.
	FSType string `json:"fstype,omitempty" validate:"required_unless=State absent,excludesall= \t\n\r"`
	// Options are the mount options, comma-separated: "size=64m,mode=1777". Default: defaults.
	Options string `json:"options,omitempty" validate:"omitempty,excludesall= \t\n\r"`
	// Dump is fstab's fifth field (0 or 1). Default 0.
	Dump int `json:"dump,omitempty" validate:"min=0,max=1"`
	// Pass is fstab's sixth field, the fsck order (0, 1 or 2). Default 0.
	Pass int `json:"pass,omitempty" validate:"min=0,max=2"`
	// State is mounted (default: in fstab and mounted, the mount point
	// created), unmounted (in fstab, not mounted), present (in fstab, the
	// mounted state left alone) or absent (unmounted and removed from fstab).
	// Mounting and unmounting need CAP_SYS_ADMIN: where the host withholds it
	// (an unprivileged container) only fstab converges, and every plan notes
	// the mounted state it cannot change.
	State string `json:"state,omitempty" validate:"omitempty,oneof=mounted unmounted present absent"`
}

// Mount states.
const (
	StateMounted   = "mounted"
	StateUnmounted = "unmounted"
)

// Default fills in defaults.
func (s *MountSpec) Default(_ *ObjectMeta) {
	if s.Options == "" {
		s.Options = "defaults"
	}
	if s.State == "" {
		s.State = StateMounted
	}
}

// HostnameSpec is the host's name: /etc/hostname and the running kernel's
// name. Setting the running name needs CAP_SYS_ADMIN; without it (an
// unprivileged container) only /etc/hostname converges and a running name
// that differs is noted in every plan.
type HostnameSpec struct {
	Targeting `json:",inline"`
	// Name is the host name, such as web1 or web1.example.com. Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=253,hostname_rfc1123"`
}

// Default fills in defaults.
func (s *HostnameSpec) Default(m *ObjectMeta) {
	if s.Name == "" && m != nil {
		s.Name = m.Name
	}
}
