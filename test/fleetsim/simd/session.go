package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/optimus-cm/optimus/test/fleetsim"
)

// sessionEnv is what sshd gives a root login.
var sessionEnv = []string{
	"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}

// session runs in a new mount and UTS namespace (serve starts it so): it
// mounts the simulated host's view of the file system, names the host, tells
// serve on descriptor 3 that the view is complete, and becomes the shell.
func session(name, command string) error {
	if filepath.Base(name) != name || name == "." || name == ".." {
		return fmt.Errorf("bad host name %q", name)
	}
	root := filepath.Join(fleetsim.StateDir, name)
	for _, d := range fleetsim.Overlaid {
		if _, err := os.Stat(d); err != nil {
			continue // the image has no such directory: nothing to overlay
		}
		upper, work := filepath.Join(root, "upper", d), filepath.Join(root, "work", d)
		if err := errors.Join(os.MkdirAll(upper, 0o755), os.MkdirAll(work, 0o755)); err != nil {
			return err
		}
		opts := "lowerdir=" + d + ",upperdir=" + upper + ",workdir=" + work
		if err := syscall.Mount("overlay", d, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay %s: %w (does the container have CAP_SYS_ADMIN?)", d, err)
		}
	}
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	// Sticky and world-writable, as a host's /tmp (MkdirAll applies umask).
	if err := os.Chmod(tmp, os.ModeSticky|0o777); err != nil {
		return err
	}
	if err := syscall.Mount(tmp, "/tmp", "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /tmp: %w", err)
	}
	if err := syscall.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("set the host name: %w", err)
	}
	ready := os.NewFile(3, "ready")
	if _, err := ready.Write([]byte{1}); err != nil {
		return fmt.Errorf("tell simd the view is ready: %w", err)
	}
	ready.Close()
	if err := os.Chdir("/root"); err != nil {
		return err
	}
	argv := []string{"-sh"}
	if command != "" {
		argv = []string{"sh", "-c", command}
	}
	return syscall.Exec("/bin/sh", argv, sessionEnv)
}
