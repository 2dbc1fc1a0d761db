package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// runAnsible runs the playbook and checks PLAY RECAP: no host unreachable
// or failed, and with noop no host changed.
func runAnsible(ctx context.Context, playbook string, noop bool) (float64, error) {
	cmd := exec.CommandContext(ctx, "ansible-playbook", playbook)
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(filepath.Dir(playbook), "ansible.cfg"), "ANSIBLE_NOCOLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("ansible-playbook: %v\n%s", err, tail(out.String()))
	}
	recap := recapLine.FindAllStringSubmatch(out.String(), -1)
	if len(recap) == 0 {
		return 0, fmt.Errorf("ansible-playbook printed no PLAY RECAP:\n%s", tail(out.String()))
	}
	changed := 0
	for _, m := range recap {
		c, _ := strconv.Atoi(m[3])
		changed += c
		if m[4] != "0" || m[5] != "0" {
			return 0, fmt.Errorf("ansible: host %s unreachable=%s failed=%s", m[1], m[4], m[5])
		}
	}
	kind := "cold"
	if noop {
		kind = "no-op"
		if changed != 0 {
			return 0, fmt.Errorf("ansible no-op run reported changed=%d:\n%s", changed, tail(out.String()))
		}
	}
	logf("ansible %s: %.2fs, changed=%d over %d hosts", kind, wall, changed, len(recap))
	return wall, nil
}

// ensureAnsible installs Debian's ansible-core when ansible-playbook is missing.
func ensureAnsible(ctx context.Context) error {
	if _, err := exec.LookPath("ansible-playbook"); err == nil {
		return nil
	}
	logf("ansible-playbook not found: installing ansible-core with apt")
	sudo := []string{}
	if os.Geteuid() != 0 {
		sudo = []string{"sudo"}
	}
	for _, args := range [][]string{{"apt-get", "update"}, {"apt-get", "install", "-y", "ansible-core"}} {
		args = append(sudo, args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
	}
	_, err := exec.LookPath("ansible-playbook")
	return err
}
