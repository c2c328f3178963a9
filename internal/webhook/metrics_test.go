package webhook

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every request emits one EMF line whose dimensions say route and outcome.
func TestMetricsPerRequest(t *testing.T) {
	f := newFixture(t, nil)
	_, task := f.channel("canceled")
	f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
	f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), "forged"))
	f.invoke([]byte(`{}`))
	lines := strings.Split(strings.TrimSpace(f.metrics.String()), "\n")
	want := []struct {
		route, outcome string
		cold           float64
	}{
		{"taskrouter", "closed", 1}, {"taskrouter", "rejected_auth", 0}, {"unknown", "invalid", 0},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d metric lines, want %d:\n%s", len(lines), len(want), f.metrics.String())
	}
	for i, w := range want {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("metric line %d: %v", i, err)
		}
		if m["Route"] != w.route || m["Outcome"] != w.outcome || m["ColdStart"] != w.cold || m["Requests"] != 1.0 || m["Function"] != "webhook" {
			t.Errorf("metric line %d = %v, want route %s outcome %s cold %v", i, m, w.route, w.outcome, w.cold)
		}
		for k, v := range m {
			if s, ok := v.(string); ok && (strings.HasPrefix(s, "UO") || strings.HasPrefix(s, "WT")) {
				t.Errorf("metric line %d carries a SID in %s", i, k)
			}
		}
	}
}
