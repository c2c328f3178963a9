package scenarios

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"
)

// taskRetention is how long TaskRouter (and the simulator, by default)
// keeps an ended task.
const taskRetention = 5 * time.Minute

var httpClient = &http.Client{Timeout: 45 * time.Second}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
