package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/optimus-cm/optimus/test/fleetsim"
	"github.com/optimus-cm/optimus/transport"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: fleetsim up -hosts N [-containers K] [-prefix NAME] [-base-port P] [-dir DIR] [-measure M]\n       fleetsim down [-prefix NAME]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	hosts := fs.Int("hosts", 100, "simulated hosts")
	containers := fs.Int("containers", 1, "containers that share them out")
	prefix := fs.String("prefix", "fleetsim", "container name prefix; tells fleets apart")
	basePort := fs.Int("base-port", 20000, "port of the first host on 127.0.0.1")
	dir := fs.String("dir", filepath.Join("hack", ".fleetsim"), "where the key, known_hosts and fleet.json go")
	measure := fs.Int("measure", 0, "connect this many hosts and print the memory per connected host")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if os.Args[1] == "down" {
		err = fleetsim.Down(ctx, *prefix)
	} else {
		err = up(ctx, fleetsim.Options{Hosts: *hosts, Containers: *containers, Prefix: *prefix, BasePort: *basePort, Dir: *dir, Persistent: true, Log: os.Stderr}, *measure)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

func up(ctx context.Context, opts fleetsim.Options, measure int) error {
	start := time.Now()
	f, err := fleetsim.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d simulated hosts up in %s\n", len(f.Hosts), time.Since(start).Round(10*time.Millisecond))
	fmt.Println(filepath.Join(opts.Dir, "fleet.json"))
	idle, err := f.Memory(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("memory idle: %.1f MiB for %d hosts, %.1f KiB per host\n", mib(idle), len(f.Hosts), float64(idle)/1024/float64(len(f.Hosts)))
	if measure <= 0 {
		return nil
	}
	return measureConnected(ctx, f, min(measure, len(f.Hosts)), idle)
}

// measureConnected connects n hosts as Optimus does (one connection and one
// kept shell each, a few dials at a time), checks each answers to its own
// name, and prints the memory the fleet gained per connected host.
func measureConnected(ctx context.Context, f *fleetsim.Fleet, n int, idle int64) error {
	conns := make([]transport.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			c, err := transport.Dial(gctx, f.Resource(i))
			if err != nil {
				return fmt.Errorf("%s: %w", f.Hosts[i].Name, err)
			}
			conns[i] = c
			r, err := transport.Run(gctx, c, "hostname")
			if err != nil {
				return fmt.Errorf("%s: %w", f.Hosts[i].Name, err)
			}
			if got := string(r.Stdout); got != f.Hosts[i].Name+"\n" {
				return fmt.Errorf("%s answers hostname %q", f.Hosts[i].Name, got)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d hosts connected in %s\n", n, time.Since(start).Round(10*time.Millisecond))
	used, err := f.Memory(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("memory connected: %d hosts with an SSH connection and a kept shell each: +%.1f MiB, %.0f KiB per connected host\n",
		n, mib(used-idle), float64(used-idle)/1024/float64(n))
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
