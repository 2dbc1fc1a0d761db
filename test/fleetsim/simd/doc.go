// Command simd is the SSH server of a simulated fleet (package fleetsim).
// It runs inside a test-host container as root, on the machine's network:
//
//	simd serve -first F -count C -base-port P -total N
//
// listens on 127.0.0.1:P+i for the simulated hosts F..F+C-1 of a fleet of
// N, and runs each session's command with the container's /bin/sh in the
// simulated host's own mount namespace. The helper subcommand
//
//	simd session NAME [COMMAND]
//
// is what serve runs for a session: it builds that view and execs the shell.
// simd is built static (CGO_ENABLED=0) and copied into the container, so it
// needs nothing from the image but /bin/sh and nsenter.
package main
