package etcdtest

import "syscall"

// procAttr makes a member die with the process that started it, however
// that process ends (a chaos run killed outright leaves no etcd behind).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
