package main

import (
	"flag"
	"fmt"
	"os"
)

// dir is where Start copies simd and the fleet's seed and authorized key
// into the container.
const dir = "/fleetsim"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: simd serve -first F -count C -base-port P -total N | simd session NAME [COMMAND]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		first := fs.Int("first", 0, "index of the first simulated host served")
		count := fs.Int("count", 1, "how many simulated hosts to serve")
		base := fs.Int("base-port", 20000, "port of host 0; host i listens on base-port+i")
		total := fs.Int("total", 0, "hosts in the whole fleet (names are padded to its width)")
		_ = fs.Parse(os.Args[2:])
		if err := serve(*first, *count, *base, max(*total, *first+*count)); err != nil {
			fmt.Fprintln(os.Stderr, "simd:", err)
			os.Exit(1)
		}
	case "session":
		if len(os.Args) < 3 {
			fmt.Fprintln(os.Stderr, "usage: simd session NAME [COMMAND]")
			os.Exit(2)
		}
		command := ""
		if len(os.Args) > 3 {
			command = os.Args[3]
		}
		// Only returns on failure: on success the shell replaced simd.
		err := session(os.Args[2], command)
		fmt.Fprintf(os.Stderr, "simd: simulated host %s: %v\n", os.Args[2], err)
		os.Exit(255)
	default:
		fmt.Fprintf(os.Stderr, "simd: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
