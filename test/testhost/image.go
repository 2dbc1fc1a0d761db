package testhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Test passwords baked into the image. They protect nothing: the containers
// listen on 127.0.0.1 only and exist for password and sudo tests.
const (
	RootPassword     = "optimus-root"
	DeployPassword   = "optimus-deploy"
	OperatorPassword = "optimus-operator"
)

// Users that exist in every test host. Deploy may sudo without a password,
// Operator must give OperatorPassword.
const (
	Deploy   = "deploy"
	Operator = "operator"
)

// ImageRepository is the local repository the image is tagged in.
const ImageRepository = "optimus-testhost"

var (
	suite    = "bookworm"
	packages = []string{"openssh-server", "sudo", "passwd", "procps", "python3"}
)

// initScript is the container's command: host keys of its own (the image has
// none), then sshd in the foreground as PID 1.
const initScript = `#!/bin/sh
set -e
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
touch /run/testhost-ready
exec /usr/sbin/sshd -D -e
`

// setupScript runs on the build machine with the rootfs directory as $1.
var setupScript = `set -eu
R=$1
cat >"$R/usr/local/sbin/testhost-init" <<'INIT'
` + initScript + `INIT
chmod 0755 "$R/usr/local/sbin/testhost-init"
cat >"$R/etc/ssh/sshd_config.d/optimus-testhost.conf" <<'SSHD'
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
SSHD
rm -f "$R"/etc/ssh/ssh_host_*
# A wrong password fails at once instead of after PAM's 2 s delay.
sed -i 's/pam_unix.so nullok$/pam_unix.so nullok nodelay/' "$R/etc/pam.d/common-auth"
grep -q 'pam_unix.so nullok nodelay' "$R/etc/pam.d/common-auth"
mkdir -p "$R/run/sshd"
chroot "$R" useradd -m -s /bin/bash ` + Deploy + `
chroot "$R" useradd -m -s /bin/bash -g ` + Operator + ` ` + Operator + `
printf '%s\n' 'root:` + RootPassword + `' '` + Deploy + `:` + DeployPassword + `' '` + Operator + `:` + OperatorPassword + `' | chroot "$R" chpasswd
printf '%s\n' '` + Deploy + ` ALL=(ALL) NOPASSWD: ALL' >"$R/etc/sudoers.d/` + Deploy + `"
printf '%s\n' 'Defaults:` + Operator + ` timestamp_timeout=0' '` + Operator + ` ALL=(ALL) ALL' >"$R/etc/sudoers.d/` + Operator + `"
chmod 0440 "$R/etc/sudoers.d/` + Deploy + `" "$R/etc/sudoers.d/` + Operator + `"
`

// Image is the tag of the image for the current recipe.
func Image() string {
	h := sha256.New()
	fmt.Fprintf(h, "suite=%s\nvariant=minbase\npackages=%s\n", suite, strings.Join(packages, ","))
	io.WriteString(h, setupScript)
	return ImageRepository + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// EnsureImage builds the image for the current recipe unless it exists, and
// returns its tag. Concurrent callers (test packages run in parallel) wait for
// one build. Progress goes to log.
func EnsureImage(ctx context.Context, log io.Writer) (string, error) {
	tag := Image()
	if imageExists(ctx, tag) {
		return tag, nil
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), strings.ReplaceAll(tag, ":", "-")+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if imageExists(ctx, tag) {
		return tag, nil
	}
	start := time.Now()
	fmt.Fprintf(log, "building test host image %s (mmdebstrap %s, once per recipe)\n", tag, suite)
	if err := ensureMmdebstrap(ctx, log); err != nil {
		return "", err
	}
	if err := build(ctx, tag, log); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "built %s in %s\n", tag, time.Since(start).Round(100*time.Millisecond))
	return tag, nil
}

func imageExists(ctx context.Context, tag string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", tag).Run() == nil
}

func ensureMmdebstrap(ctx context.Context, log io.Writer) error {
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("mmdebstrap is not installed and installing it needs root: run apt-get install mmdebstrap")
	}
	fmt.Fprintln(log, "installing mmdebstrap with apt-get")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "mmdebstrap"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", args[0], err, tail(out))
		}
	}
	return nil
}

// build streams the rootfs tarball from mmdebstrap straight into docker import.
func build(ctx context.Context, tag string, log io.Writer) error {
	dir, err := os.MkdirTemp("", "optimus-testhost-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	setup := filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(setup, []byte(setupScript), 0o700); err != nil {
		return err
	}
	deb := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--quiet",
		"--include="+strings.Join(packages, ","),
		"--customize-hook=sh "+setup+` "$1"`,
		suite, "-")
	imp := exec.CommandContext(ctx, "docker", "import",
		"--change", `CMD ["/usr/local/sbin/testhost-init"]`,
		"--change", "EXPOSE 22",
		"--message", "optimus test host", "-", tag)
	var debErr, impOut strings.Builder
	deb.Stderr = &debErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	pipe, err := deb.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	if err := deb.Start(); err != nil {
		return fmt.Errorf("start mmdebstrap: %w", err)
	}
	if err := imp.Start(); err != nil {
		deb.Process.Kill()
		deb.Wait()
		return fmt.Errorf("start docker import: %w", err)
	}
	debWait := deb.Wait()
	impWait := imp.Wait()
	if debWait != nil {
		// docker import took the truncated stream for a whole one.
		exec.Command("docker", "rmi", "-f", tag).Run()
		return fmt.Errorf("mmdebstrap: %v\n%s", debWait, tail([]byte(debErr.String())))
	}
	if impWait != nil {
		return fmt.Errorf("docker import: %v\n%s", impWait, tail([]byte(impOut.String())))
	}
	return nil
}

// tail keeps the end of a long tool output for an error message.
func tail(b []byte) string {
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}
