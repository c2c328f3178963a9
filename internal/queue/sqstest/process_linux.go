//go:build linux

package sqstest

import "syscall"

// sysProcAttr starts goaws in a process group of its own, so that Close can
// kill it and anything it starts in one go, and that it dies with the
// process that started it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
