package emulator

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// supported reports whether the emulator can run on this system.
const supported = true

// sysProcAttr starts the emulator in its own process group, so that Close can
// signal it and anything it forks in one go, and kills it if the process that
// started it dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// procState describes one process from /proc.
type procState struct {
	pid, ppid int
	state     byte
}

// readProc returns the state of the process pid, or false if it is gone.
func readProc(pid int) (procState, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procState{}, false
	}
	// The format is "pid (comm) state ppid ...", where comm may itself
	// contain spaces and parentheses: everything after the last ')' is
	// space-separated.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procState{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return procState{}, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return procState{}, false
	}
	return procState{pid: pid, ppid: ppid, state: f[0][0]}, true
}

// descendants returns the pids of all live descendants of pid, found by
// walking /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readProc(p); ok && st.state != 'Z' {
			children[st.ppid] = append(children[st.ppid], p)
		}
	}
	// Breadth first: out is also the queue of processes whose children
	// are still to be added.
	out := slices.Clone(children[pid])
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// exists reports whether pid is in the process table, running or as a
// zombie that its parent has not reaped yet.
func exists(pid int) bool {
	_, ok := readProc(pid)
	return ok
}

// killGroup sends SIGKILL to the process group led by pid, or to pid alone if
// it leads none. A process that is already gone is not an error.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(pid, syscall.SIGKILL)
	}
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
