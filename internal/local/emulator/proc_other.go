//go:build !linux

package emulator

import "syscall"

// supported reports whether the emulator can run on this system; it only
// runs on Linux.
const supported = false

func sysProcAttr() *syscall.SysProcAttr { return nil }

func descendants(int) []int { return nil }

func exists(int) bool { return false }

func killGroup(int) error { return nil }
