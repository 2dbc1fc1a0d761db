package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Remove force-removes containers by name; missing ones are fine.
func Remove(ctx context.Context, containers ...string) error {
	if len(containers) == 0 {
		return nil
	}
	out, err := docker(ctx, nil, append([]string{"ps", "-aq"}, nameFilters(containers)...)...)
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	if len(ids) == 0 {
		return nil
	}
	_, err = docker(ctx, nil, append([]string{"rm", "-f", "-v"}, ids...)...)
	return err
}

// RemoveLabeled force-removes every container with label key=value and
// returns their names.
func RemoveLabeled(ctx context.Context, key, value string) ([]string, error) {
	out, err := docker(ctx, nil, "ps", "-a", "--filter", "label="+key+"="+value, "--format", "{{.Names}}")
	if err != nil {
		return nil, err
	}
	names := strings.Fields(out)
	return names, Remove(ctx, names...)
}

func nameFilters(names []string) []string {
	var args []string
	for _, n := range names {
		// The name filter matches substrings; anchor it.
		args = append(args, "--filter", "name=^/?"+n+"$")
	}
	return args
}

// reapOrphans removes test containers whose test process is gone (a test
// binary killed by a timeout cannot run its cleanups).
func reapOrphans(ctx context.Context) {
	if _, err := os.Stat("/proc/self"); err != nil {
		return
	}
	out, err := docker(ctx, nil, "ps", "-a", "--filter", "label="+LabelPID, "--format", `{{.Names}} {{.Label "`+LabelPID+`"}}`)
	if err != nil {
		return
	}
	var dead []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if _, err := os.Stat("/proc/" + f[1]); errors.Is(err, os.ErrNotExist) {
			dead = append(dead, f[0])
		}
	}
	Remove(ctx, dead...)
	// Networks (StartNetwork) go once their containers are gone.
	out, err = docker(ctx, nil, "network", "ls", "--filter", "label="+LabelPID, "--format", `{{.Name}} {{.Label "`+LabelPID+`"}}`)
	if err != nil {
		return
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if _, err := os.Stat("/proc/" + f[1]); errors.Is(err, os.ErrNotExist) {
			docker(ctx, nil, "network", "rm", f[0])
		}
	}
}

// docker runs the docker CLI and returns its stdout.
func docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(shorten(args), " "), err, tail(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// shorten keeps scripts out of error messages.
func shorten(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 60 || strings.Contains(a, "\n") {
			a = "'…'"
		}
		out[i] = a
	}
	return out
}
