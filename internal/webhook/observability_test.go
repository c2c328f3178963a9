package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/metrics"
)

// emfLine checks one line against the Embedded Metric Format
// specification — every declared dimension is a top-level string, every
// declared metric a top-level number — and returns it decoded.
func emfLine(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("EMF line %q: %v", line, err)
	}
	aws, _ := m["_aws"].(map[string]any)
	if _, ok := aws["Timestamp"].(float64); !ok {
		t.Fatalf("EMF line without _aws.Timestamp: %s", line)
	}
	directives, _ := aws["CloudWatchMetrics"].([]any)
	if len(directives) == 0 {
		t.Fatalf("EMF line without CloudWatchMetrics: %s", line)
	}
	for _, d := range directives {
		d, _ := d.(map[string]any)
		if d["Namespace"] != metrics.Namespace {
			t.Errorf("namespace %v, want %s", d["Namespace"], metrics.Namespace)
		}
		sets, _ := d["Dimensions"].([]any)
		for _, set := range sets {
			for _, k := range set.([]any) {
				v, ok := m[k.(string)].(string)
				if !ok || v == "" {
					t.Errorf("dimension %v has no string value in %s", k, line)
				}
				// Low cardinality: fixed words, never a SID.
				for _, p := range []string{"AC", "WS", "WT", "KD", "UO", "CH"} {
					if strings.HasPrefix(v, p) && len(v) == 34 {
						t.Errorf("dimension %v carries a SID: %s", k, v)
					}
				}
			}
		}
		ms, _ := d["Metrics"].([]any)
		for _, metric := range ms {
			name := metric.(map[string]any)["Name"].(string)
			if _, ok := m[name].(float64); !ok {
				t.Errorf("metric %s has no numeric value in %s", name, line)
			}
		}
	}
	return m
}

// lastLines returns the last EMF line and the last summary log line.
func (f *fixture) lastLines(t *testing.T) (emf, summary map[string]any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(f.metrics.String()), "\n")
	return emfLine(t, lines[len(lines)-1]), f.lastLog()
}

// Every outcome is counted with its route, and every metric of the line is
// present; the summary log line carries the fields an operator searches by.
func TestMetricsEveryOutcome(t *testing.T) {
	type scenario struct {
		outcome, route string
		status         int
		attempts       float64 // FlexAttempts
		retries        float64 // FlexRetries: attempts beyond one per call
		eventType      string  // summary event_type, TaskRouter only
		run            func(f *fixture) []byte
		deadline       bool
	}
	taskEvent := func(f *fixture, status, event string) []byte {
		_, task := f.channel(status)
		return f.signedTaskRouter(f.taskEvent(event, task), authToken)
	}
	tests := []scenario{
		{outcome: "closed", route: "taskrouter", status: 204, attempts: 2, eventType: "task.canceled", // fetch, update
			run: func(f *fixture) []byte { return taskEvent(f, "canceled", "task.canceled") }},
		{outcome: "already_closed", route: "taskrouter", status: 204, attempts: 1, eventType: "task.canceled", // the fetch only
			run: func(f *fixture) []byte {
				ch, task := f.channel("canceled")
				f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: "closed"})
				return f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
			}},
		{outcome: "not_closable", route: "taskrouter", status: 204, attempts: 1, eventType: "task.canceled",
			run: func(f *fixture) []byte {
				ch, task := f.channel("canceled")
				f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: "failed"})
				return f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
			}},
		{outcome: "skipped_channel_state", route: "taskrouter", status: 204, attempts: 1, eventType: "task.canceled",
			run: func(f *fixture) []byte {
				ch, task := f.channel("canceled")
				f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: "setup"})
				return f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
			}},
		{outcome: "already_closed", route: "crm", status: 200, attempts: 1,
			run: func(f *fixture) []byte {
				ch, _ := f.channel("assigned")
				f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: "closed"})
				return f.signedCRM(closeBody(ch, "closed"))
			}},
		{outcome: "ignored", route: "taskrouter", status: 204, eventType: "task.updated",
			run: func(f *fixture) []byte { return taskEvent(f, "assigned", "task.updated") }},
		{outcome: "skipped_live_task", route: "taskrouter", status: 204, attempts: 1, eventType: "task.canceled",
			run: func(f *fixture) []byte {
				ch, task := f.channel("canceled")
				f.fake.AddChannelTask(ws, ch, "assigned")
				return f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
			}},
		{outcome: "not_found", route: "crm", status: 404, attempts: 1,
			run: func(f *fixture) []byte {
				return f.signedCRM(closeBody(flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}, "closed"))
			}},
		{outcome: "rejected_auth", route: "taskrouter", status: 403,
			run: func(f *fixture) []byte {
				_, task := f.channel("canceled")
				return f.signedTaskRouter(f.taskEvent("task.canceled", task), "forged-token")
			}},
		{outcome: "invalid", route: "unknown", status: 404,
			run: func(f *fixture) []byte { return f.event("POST", "https://"+publicHost+"/nowhere", http.Header{}, nil) }},
		{outcome: "failed_transient", route: "taskrouter", status: 503, eventType: "task.canceled", deadline: true,
			run: func(f *fixture) []byte {
				f.fake.Inject(flextest.Fault{Method: "POST", Status: 503})
				return taskEvent(f, "canceled", "task.canceled")
			}},
		{outcome: "failed_permanent", route: "taskrouter", status: 502, attempts: 3, retries: 1, eventType: "task.canceled", // fetch, close, fetch
			run: func(f *fixture) []byte {
				f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359})
				return taskEvent(f, "canceled", "task.canceled")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			f := newFixture(t, nil)
			payload := tt.run(f)
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-" + tt.outcome})
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, f.clock.Now().Add(10*time.Second))
				defer cancel()
			}
			if r := f.invokeCtx(ctx, payload); r.Status != tt.status {
				t.Fatalf("status = %d %s, want %d", r.Status, r.Body, tt.status)
			}
			emf, log := f.lastLines(t)
			if emf["Function"] != "webhook" || emf["Route"] != tt.route || emf["Outcome"] != tt.outcome {
				t.Errorf("EMF dimensions = %v/%v/%v, want webhook/%s/%s", emf["Function"], emf["Route"], emf["Outcome"], tt.route, tt.outcome)
			}
			if emf[metrics.MetricRequests] != 1.0 || emf[metrics.MetricColdStart] != 1.0 {
				t.Errorf("Requests = %v, ColdStart = %v, want 1 and 1 (first request)", emf[metrics.MetricRequests], emf[metrics.MetricColdStart])
			}
			attempts, _ := emf[metrics.MetricFlexAttempts].(float64)
			if tt.outcome == "failed_transient" {
				if attempts < 2 {
					t.Errorf("FlexAttempts = %v, want retries", attempts)
				}
			} else if attempts != tt.attempts {
				t.Errorf("FlexAttempts = %v, want %v", attempts, tt.attempts)
			}
			if retries := emf[metrics.MetricFlexRetries]; tt.outcome != "failed_transient" && retries != tt.retries {
				t.Errorf("FlexRetries = %v with %v attempts, want %v", retries, attempts, tt.retries)
			}
			for _, k := range []string{metrics.MetricLatency, metrics.MetricFlexLatency} {
				if v, _ := emf[k].(float64); v < 0 {
					t.Errorf("%s = %v", k, v)
				}
			}
			if log["outcome"] != tt.outcome || log["status"] != float64(tt.status) || log["requestId"] != "req-"+tt.outcome {
				t.Errorf("summary = %v, want outcome %s, status %d, requestId req-%s", log, tt.outcome, tt.status, tt.outcome)
			}
			if _, ok := log["duration_ms"].(float64); !ok || log["route"] == nil {
				t.Errorf("summary = %v, want route and duration_ms", log)
			}
			if tt.eventType != "" && log["event_type"] != tt.eventType {
				t.Errorf("summary event_type = %v, want %s", log["event_type"], tt.eventType)
			}
			if attempts > 0 && log["attempts"] != attempts {
				t.Errorf("summary attempts = %v, want %v", log["attempts"], attempts)
			}
		})
	}
	// A second request on the same container is not a cold start.
	f := newFixture(t, nil)
	f.invoke([]byte(`{}`))
	f.invoke([]byte(`{}`))
	if emf, _ := f.lastLines(t); emf[metrics.MetricColdStart] != 0.0 {
		t.Errorf("second request ColdStart = %v, want 0", emf[metrics.MetricColdStart])
	}
}
