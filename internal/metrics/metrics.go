// Package metrics writes CloudWatch metrics as Embedded Metric Format (EMF)
// log lines (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// one JSON line on stdout per request, which CloudWatch Logs turns into
// metrics. No SDK, no network call, nothing added to the request's latency
// beyond formatting one line.
//
// Dimensions are kept low-cardinality — function, route, outcome — and never
// carry SIDs or other per-request values. The Function dimension is the
// Lambda function name (AWS_LAMBDA_FUNCTION_NAME, passed in by the wiring),
// which is unique per stack, so two stacks in one account and Region never
// share metrics or alarms.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of flexhook's metrics.
const Namespace = "Flexhook"

// Metric names.
const (
	MetricRequests     = "Requests"     // Count, by Route and Outcome
	MetricLatency      = "Latency"      // Milliseconds, whole request
	MetricFlexLatency  = "FlexLatency"  // Milliseconds, time spent in Twilio calls
	MetricFlexAttempts = "FlexAttempts" // Count, HTTP attempts of the channel fetch and the close
	MetricFlexRetries  = "FlexRetries"  // Count, attempts beyond the first of each call
	MetricColdStart    = "ColdStart"    // Count, 1 on a container's first request
)

// Request is what one request contributes.
type Request struct {
	Route        string // taskrouter, crm, sqs, sweep, unknown
	Outcome      string // closed, already_closed, ignored, skipped_live_task, rejected_auth, invalid, failed_transient, failed_permanent, not_found
	Duration     time.Duration
	FlexLatency  time.Duration
	FlexAttempts int
	// FlexCalls is the number of distinct Twilio calls the attempts were
	// for (the channel fetch, the update); 0 counts as 1.
	FlexCalls int
	ColdStart bool
}

// directives is the _aws.CloudWatchMetrics member of every line: which
// members are metrics, with which units, under which dimension sets.
const directives = `[{"Namespace":"` + Namespace + `","Dimensions":[["Function","Route","Outcome"],["Function","Outcome"]],` +
	`"Metrics":[{"Name":"` + MetricRequests + `","Unit":"Count"}]},` +
	`{"Namespace":"` + Namespace + `","Dimensions":[["Function","Route"]],"Metrics":[` +
	`{"Name":"` + MetricLatency + `","Unit":"Milliseconds"},{"Name":"` + MetricFlexLatency + `","Unit":"Milliseconds"},` +
	`{"Name":"` + MetricFlexAttempts + `","Unit":"Count"},{"Name":"` + MetricFlexRetries + `","Unit":"Count"},` +
	`{"Name":"` + MetricColdStart + `","Unit":"Count"}]}]`

// line is one EMF document.
type line struct {
	AWS struct {
		Timestamp         int64           `json:"Timestamp"`
		CloudWatchMetrics json.RawMessage `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Function     string  `json:"Function"`
	Route        string  `json:"Route"`
	Outcome      string  `json:"Outcome"`
	Requests     int     `json:"Requests"`
	Latency      float64 `json:"Latency"`
	FlexLatency  float64 `json:"FlexLatency"`
	FlexAttempts int     `json:"FlexAttempts"`
	FlexRetries  int     `json:"FlexRetries"`
	ColdStart    int     `json:"ColdStart"`
}

// Emitter writes EMF lines. It is safe for concurrent use.
type Emitter struct {
	mu       sync.Mutex
	enc      *json.Encoder
	function string
	now      func() time.Time
}

// New returns an Emitter writing to w (stdout in Lambda) whose Function
// dimension is function: the Lambda function name in AWS, for example
// "flexhook-prod-WebhookFunction-AbC123", or a role name (webhook, worker,
// sweeper) outside Lambda.
func New(w io.Writer, function string, now func() time.Time) *Emitter {
	if now == nil {
		now = time.Now
	}
	return &Emitter{enc: json.NewEncoder(w), function: function, now: now}
}

// Record writes the metrics of one request as one EMF line. Write errors
// are ignored: metrics must never fail a request.
func (e *Emitter) Record(r Request) {
	l := line{
		Function:     dimension(e.function),
		Route:        dimension(r.Route),
		Outcome:      dimension(r.Outcome),
		Requests:     1,
		Latency:      ms(r.Duration),
		FlexLatency:  ms(r.FlexLatency),
		FlexAttempts: r.FlexAttempts,
		FlexRetries:  max(r.FlexAttempts-max(r.FlexCalls, 1), 0),
	}
	if r.ColdStart {
		l.ColdStart = 1
	}
	l.AWS.Timestamp = e.now().UnixMilli()
	l.AWS.CloudWatchMetrics = json.RawMessage(directives)
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(l)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// dimension reduces v to a safe dimension value: dimension values are
// flexhook's own constants and Lambda function names, so anything
// unexpected is replaced rather than escaped, and at most 64 bytes kept.
func dimension(v string) string {
	if v == "" {
		return "none"
	}
	b := []byte(v[:min(len(v), 64)])
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/') {
			b[i] = '_'
		}
	}
	return string(b)
}
