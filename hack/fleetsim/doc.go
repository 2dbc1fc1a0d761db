// Command fleetsim brings up a simulated fleet (package test/fleetsim):
// thousands of SSH hosts served from a few containers, each with its own
// files, for benchmarks at a scale real sshd containers cannot carry.
//
//	go run ./hack/fleetsim up -hosts 1000 [-containers 1] [-prefix fleetsim] [-base-port 20000] [-measure 100]
//	go run ./hack/fleetsim down [-prefix fleetsim]
//
// up writes the client key, known_hosts and fleet.json (the addresses) to
// -dir, prints fleet.json's path and the memory the fleet uses per host
// idle, and with -measure M, per host with M hosts connected by Optimus'
// own transport (an SSH connection and a kept shell each).
package main
