// Command bench measures Optimus against a tuned Ansible on the same real
// hosts, and Optimus alone as the number of Host resources grows.
//
//	go run ./hack/bench [-hosts 3] [-scale 30,300] [-keep] [-json PATH]
//
// Each host gets the same workload: 20 users, 20 directories and 20 files
// (60 resources). Every cold run starts on freshly created test containers
// (see test/testhost); the no-op run follows on the converged hosts. Ansible
// runs with pipelining, forks >= hosts, no fact gathering and its default
// ControlPersist; Optimus runs as the built binary, process start included.
// Both tools must leave the hosts in the same state (a fingerprint of users,
// modes, owners and file hashes read with docker exec), or the bench fails.
//
// The scale runs point N Host resources round-robin at the same containers,
// each Host with its own 60 resources selected by a label, and record wall
// time and peak RSS of the optimus process. A phase breakdown (dial, observe
// round trip, plan, act round trip) comes from running the engine in-process
// with timing wrappers around the transport and the reconcilers.
//
// The results are printed as tables plus one line "BENCH {json}"; -json also
// writes that document to a file. Ansible is installed with apt when
// ansible-playbook is missing. Every container started is removed on exit,
// unless -keep.
package main
