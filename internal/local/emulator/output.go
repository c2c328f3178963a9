package emulator

import (
	"bytes"
	"sync"
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
