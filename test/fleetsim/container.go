package fleetsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/optimus-cm/optimus/test/testhost"
)

// readyTimeout bounds how long a container's simd may take to answer.
const readyTimeout = time.Minute

// buildSimd builds simd static, so it runs in the image whatever its libc.
func buildSimd(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/optimus-cm/optimus/test/fleetsim/simd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("fleetsim: build simd (run from inside the optimus module): %v\n%s", err, b)
	}
	return nil
}

// startContainer creates the k-th container serving hosts r[0]..r[1]-1,
// copies simd and the fleet's secrets in, starts it and waits until its last
// host answers with the key it should have.
func (f *Fleet) startContainer(ctx context.Context, opts Options, image, payload string, k int, r [2]int) error {
	name := f.Containers[k]
	args := []string{"create", "--name", name,
		"--label", testhost.LabelTest + "=1", "--label", LabelFleet + "=" + opts.Prefix,
		// The machine's network, so that a host is a port on 127.0.0.1
		// without a docker-proxy per port; simd binds 127.0.0.1 only.
		"--network", "host",
		// Mounting each host's view needs CAP_SYS_ADMIN, and no AppArmor
		// profile (Docker's denies mount(2)); seccomp off and a tmpfs /tmp
		// as for testhost containers: forks and files cost what they cost
		// on a machine.
		"--cap-add", "SYS_ADMIN", "--security-opt", "apparmor=unconfined", "--security-opt", "seccomp=unconfined",
		"--tmpfs", "/tmp:rw,exec,mode=1777", "--tmpfs", "/fleet:rw,exec,mode=755",
		"--entrypoint", "/fleetsim/simd"}
	if !opts.Persistent {
		args = append(args, "--label", testhost.LabelPID+"="+strconv.Itoa(os.Getpid()))
	}
	args = append(args, image, "serve", "-first", strconv.Itoa(r[0]), "-count", strconv.Itoa(r[1]-r[0]),
		"-base-port", strconv.Itoa(opts.BasePort), "-total", strconv.Itoa(opts.Hosts))
	if _, err := docker(ctx, args...); err != nil {
		return err
	}
	if _, err := docker(ctx, "cp", payload+"/.", name+":/fleetsim"); err != nil {
		return err
	}
	if _, err := docker(ctx, "start", name); err != nil {
		return err
	}
	seed, err := os.ReadFile(payload + "/seed")
	if err != nil {
		return err
	}
	last := f.Hosts[r[1]-1]
	signer, err := HostSigner(seed, last.Name)
	if err != nil {
		return err
	}
	if err := waitSSH(ctx, last.Addr(), signer.PublicKey()); err != nil {
		logs, _ := docker(context.WithoutCancel(ctx), "logs", "--tail", "20", name)
		return fmt.Errorf("fleetsim: container %s: %w\n%s", name, err, logs)
	}
	return nil
}

var errGotKey = errors.New("host key seen")

// waitSSH returns once addr offers want as its host key.
func waitSSH(ctx context.Context, addr string, want ssh.PublicKey) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var offered ssh.PublicKey
		cfg := &ssh.ClientConfig{
			User: "probe",
			HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
				offered = key
				return errGotKey
			},
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _, _, err = ssh.NewClientConn(c, addr, cfg)
			c.Close()
			if offered != nil && bytes.Equal(offered.Marshal(), want.Marshal()) {
				return nil
			}
			if offered != nil {
				return fmt.Errorf("%s offers a host key that is not the fleet's (another server on the port?)", addr)
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer SSH within %s: %v", addr, readyTimeout, last)
}

// writeKnownHosts writes every host's key, as [127.0.0.1]:port lines.
func (f *Fleet) writeKnownHosts(seed []byte) error {
	var b strings.Builder
	for _, h := range f.Hosts {
		signer, err := HostSigner(seed, h.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "[%s]:%d %s", h.Address, h.Port, ssh.MarshalAuthorizedKey(signer.PublicKey()))
	}
	tmp := f.KnownHostsFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.KnownHostsFile)
}

// docker runs the docker CLI and returns its stdout.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
