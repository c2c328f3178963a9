package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// emf is the part of an EMF document the tests check.
type emf struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
}

func TestRecordIsValidEMF(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1_700_000_000_123)
	// The Function dimension is the Lambda function name, unique per stack.
	const function = "flexhook-prod-WebhookFunction-AbC123dEf456"
	e := New(&buf, function, func() time.Time { return at })
	e.Record(Request{Route: "taskrouter", Outcome: "closed", Duration: 12345 * time.Microsecond, FlexLatency: 10 * time.Millisecond, FlexAttempts: 3, ColdStart: true})
	e.Record(Request{Route: "crm", Outcome: "KD0123456789abcdef0123456789abcdef\"}"})

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2", len(lines))
	}
	var doc map[string]any
	if err := json.Unmarshal(lines[0], &doc); err != nil {
		t.Fatalf("line is not JSON: %s", lines[0])
	}
	var meta emf
	if err := json.Unmarshal(lines[0], &meta); err != nil {
		t.Fatal(err)
	}
	if meta.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("Timestamp = %d", meta.AWS.Timestamp)
	}
	// Every declared metric has a numeric value, every dimension a string.
	for _, d := range meta.AWS.CloudWatchMetrics {
		if d.Namespace != Namespace {
			t.Errorf("namespace %q", d.Namespace)
		}
		for _, set := range d.Dimensions {
			for _, dim := range set {
				if _, ok := doc[dim].(string); !ok {
					t.Errorf("dimension %s has no string value", dim)
				}
			}
		}
		for _, m := range d.Metrics {
			if _, ok := doc[m.Name].(float64); !ok {
				t.Errorf("metric %s has no numeric value", m.Name)
			}
		}
	}
	want := map[string]any{
		"Function": function, "Route": "taskrouter", "Outcome": "closed", MetricRequests: 1.0,
		MetricLatency: 12.345, MetricFlexLatency: 10.0, MetricFlexAttempts: 3.0, MetricFlexRetries: 2.0, MetricColdStart: 1.0,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	// Unexpected dimension values are flattened, never injected.
	var second map[string]any
	if err := json.Unmarshal(lines[1], &second); err != nil {
		t.Fatalf("second line is not JSON: %s", lines[1])
	}
	if o := second["Outcome"].(string); len(o) > 64 || o == "" {
		t.Errorf("Outcome = %q", o)
	}
	if second[MetricFlexRetries] != 0.0 || second[MetricColdStart] != 0.0 {
		t.Errorf("retries/cold start = %v/%v, want 0", second[MetricFlexRetries], second[MetricColdStart])
	}
}

func BenchmarkRecord(b *testing.B) {
	var buf bytes.Buffer
	e := New(&buf, "webhook", nil)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		e.Record(Request{Route: "taskrouter", Outcome: "closed", Duration: time.Millisecond, FlexAttempts: 1})
	}
}

// FlexRetries counts attempts beyond one per Twilio call: a look at the
// channel and an update in two attempts are no retry.
func TestFlexRetriesPerCall(t *testing.T) {
	for _, tt := range []struct{ attempts, calls, want int }{
		{2, 2, 0}, {3, 2, 1}, {1, 1, 0}, {1, 2, 0}, {3, 0, 2},
	} {
		var buf bytes.Buffer
		New(&buf, "webhook", nil).Record(Request{Route: "taskrouter", Outcome: "closed", FlexAttempts: tt.attempts, FlexCalls: tt.calls})
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc[MetricFlexRetries] != float64(tt.want) {
			t.Errorf("%d attempts for %d calls: FlexRetries = %v, want %d", tt.attempts, tt.calls, doc[MetricFlexRetries], tt.want)
		}
	}
}
