// Command testhosts starts and removes the seed test hosts of the README:
// containers optimus-host-1..N running sshd on 127.0.0.1:50001..5000N, with
// the key and known_hosts in hack/.testhosts/.
//
//	go run ./hack/testhosts up [-n 3]   (re)create the hosts: a fresh start every time
//	go run ./hack/testhosts down        remove them
//	go run ./hack/testhosts image       build the image if its recipe changed
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

const (
	prefix    = "optimus-host"
	firstPort = 50001
	seedLabel = "optimus.seed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testhosts:", err)
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: testhosts up [-n N] | down | image")
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usage()
	}
	start := time.Now()
	switch args[0] {
	case "up":
		fs := flag.NewFlagSet("up", flag.ContinueOnError)
		n := fs.Int("n", 3, "number of hosts")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return up(ctx, *n, start)
	case "down":
		names, err := testhost.RemoveLabeled(ctx, seedLabel, "1")
		if err != nil {
			return err
		}
		fmt.Printf("removed %d hosts (%s) in %s\n", len(names), strings.Join(names, ", "), since(start))
		return nil
	case "image":
		tag, err := testhost.EnsureImage(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Printf("%s ready in %s\n", tag, since(start))
		return nil
	}
	return usage()
}

func up(ctx context.Context, n int, start time.Time) error {
	dir, err := keyDir()
	if err != nil {
		return err
	}
	// A smaller -n than last time must not leave the extra hosts behind.
	if _, err := testhost.RemoveLabeled(ctx, seedLabel, "1"); err != nil {
		return err
	}
	ports := make([]int, n)
	for i := range ports {
		ports[i] = firstPort + i
	}
	hosts, err := testhost.Create(ctx, testhost.Options{
		N: n, Prefix: prefix, Ports: ports, KeyDir: dir,
		Labels: map[string]string{seedLabel: "1"}, Log: os.Stderr, Persistent: true,
	})
	if err != nil {
		return err
	}
	rel := func(p string) string {
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return p
	}
	for _, h := range hosts {
		fmt.Printf("%s  ssh -p %d -i %s -o UserKnownHostsFile=%s root@127.0.0.1\n", h.Name, h.Port, rel(h.KeyFile), rel(h.KnownHostsFile))
	}
	fmt.Printf("started %d hosts in %s (users root, %s with NOPASSWD sudo, %s with password sudo)\n",
		n, since(start), testhost.Deploy, testhost.Operator)
	return nil
}

// keyDir is hack/.testhosts of the module that holds the working directory.
func keyDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "hack", ".testhosts"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it inside the optimus repository (no go.mod found above the working directory)")
		}
		dir = parent
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
