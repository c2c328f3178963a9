package scenarios

import (
	"net/http"
	"strings"
	"time"
)

// taskRetention is how long TaskRouter (and the simulator, by default)
// keeps an ended task.
const taskRetention = 5 * time.Minute

var httpClient = &http.Client{Timeout: 45 * time.Second}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
