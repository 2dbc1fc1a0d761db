package builtin

import (
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/reconcilers/authorizedkey"
	"github.com/optimus-cm/optimus/reconcilers/blockinfile"
	"github.com/optimus-cm/optimus/reconcilers/cron"
	"github.com/optimus-cm/optimus/reconcilers/directory"
	"github.com/optimus-cm/optimus/reconcilers/exec"
	"github.com/optimus-cm/optimus/reconcilers/file"
	"github.com/optimus-cm/optimus/reconcilers/group"
	"github.com/optimus-cm/optimus/reconcilers/hostname"
	"github.com/optimus-cm/optimus/reconcilers/lineinfile"
	"github.com/optimus-cm/optimus/reconcilers/mount"
	"github.com/optimus-cm/optimus/reconcilers/pkg"
	"github.com/optimus-cm/optimus/reconcilers/service"
	"github.com/optimus-cm/optimus/reconcilers/symlink"
	"github.com/optimus-cm/optimus/reconcilers/sysctl"
	"github.com/optimus-cm/optimus/reconcilers/user"
)

// Kinds returns every kind that ships with Optimus, with its reconciler.
// Host is not listed: every tool has it.
func Kinds() []reconcilers.Kind {
	return []reconcilers.Kind{
		user.Kind, group.Kind, file.Kind, directory.Kind, symlink.Kind, lineinfile.Kind, blockinfile.Kind,
		authorizedkey.Kind, pkg.Kind, service.Kind, exec.Kind,
		cron.Kind, sysctl.Kind, mount.Kind, hostname.Kind,
	}
}
