// Command chaos runs Optimus's controller replicas under a seeded schedule
// of faults and checks, from evidence written outside the controllers,
// that they kept their promises.
//
//	go run ./hack/chaos [-seed N] [-duration 3m] [-hosts 60] [-containers 4] [-race]
//
// It builds optimus-controller once and runs three replicas against a
// three-member etcd (each replica through its own TCP proxies, which the
// run can break and delay) and Host resources spread over test-host
// containers. After the first convergence it injects, every few seconds,
// a fault drawn from the seed: containers stopped, paused or restarted,
// sshd restarted, replicas killed or SIGSTOPped, etcd members killed (a
// majority for a while), a replica cut off from etcd or slowed, busy loops
// starving the CPU; and it changes the manifests meanwhile (content, a
// resource added then pruned, a change that fails on most hosts so
// its rollout halts, and the fix).
//
// Evidence comes from the hosts: an Exec on each host appends every act
// with OPTIMUS_REPLICA, OPTIMUS_FENCING_TOKEN and the host's clock to an
// audit file, and a sampler in each container reads the managed files'
// content, mode and owner through one descriptor four times a second.
// At the end every fault is healed and the invariants are checked; each
// violation is printed and the exit status is 1 (2 when the run itself
// failed). docs/reliability.md lists the faults and the invariants.
//
// Every container, process and temporary directory the run starts is
// removed when it ends, on failure and on SIGINT too.
package main
