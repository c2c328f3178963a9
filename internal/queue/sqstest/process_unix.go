//go:build unix && !linux

package sqstest

import (
	"errors"
	"syscall"
)

// sysProcAttr starts goaws in a process group of its own, so that Close can
// kill it and anything it starts in one go.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup sends SIGKILL to the process group led by pid. A group that is
// already gone is not an error.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
