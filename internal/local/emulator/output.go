package emulator

import (
	"bytes"
	"sync"
	"time"
)

// Output collects what an Instance writes to Options.Stdout or Stderr,
// which the emulator's goroutines write while the caller reads. It is safe
// for concurrent use; the zero value is ready.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Wait polls until ok holds for everything written so far or limit passes,
// and reports whether it held. The function's stdout reaches the Output
// through the emulator's pipes, so a log line can arrive after the
// invocation's response.
func (o *Output) Wait(limit time.Duration, ok func(string) bool) bool {
	for deadline := time.Now().Add(limit); !ok(o.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
