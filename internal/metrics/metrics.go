// Package metrics writes CloudWatch metrics as Embedded Metric Format (EMF)
// log lines (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// one JSON line on stdout per request, which CloudWatch Logs turns into
// metrics. No SDK, no network call, nothing added to the request's latency
// beyond formatting one line.
//
// Dimensions are kept low-cardinality — function, route, outcome — and never
// carry SIDs or other per-request values.
package metrics

import (
	"io"
	"strconv"
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

// Emitter writes EMF lines. It is safe for concurrent use.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
	buf      []byte
}

// New returns an Emitter writing to w (stdout in Lambda) for the named
// function (webhook, worker, sweeper).
func New(w io.Writer, function string, now func() time.Time) *Emitter {
	if now == nil {
		now = time.Now
	}
	return &Emitter{w: w, function: function, now: now}
}

// Record writes the metrics of one request as one EMF line. Write errors
// are ignored: metrics must never fail a request.
func (e *Emitter) Record(r Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.buf[:0]
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, e.now().UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Function","Route","Outcome"],["Function","Outcome"]],"Metrics":[{"Name":"`+MetricRequests+`","Unit":"Count"}]},`+
		`{"Namespace":"`+Namespace+`","Dimensions":[["Function","Route"]],"Metrics":[`+
		`{"Name":"`+MetricLatency+`","Unit":"Milliseconds"},{"Name":"`+MetricFlexLatency+`","Unit":"Milliseconds"},`+
		`{"Name":"`+MetricFlexAttempts+`","Unit":"Count"},{"Name":"`+MetricFlexRetries+`","Unit":"Count"},`+
		`{"Name":"`+MetricColdStart+`","Unit":"Count"}]}]}`...)
	b = appendString(b, "Function", e.function)
	b = appendString(b, "Route", r.Route)
	b = appendString(b, "Outcome", r.Outcome)
	b = append(b, `,"`+MetricRequests+`":1`...)
	b = appendFloat(b, MetricLatency, ms(r.Duration))
	b = appendFloat(b, MetricFlexLatency, ms(r.FlexLatency))
	b = appendInt(b, MetricFlexAttempts, r.FlexAttempts)
	b = appendInt(b, MetricFlexRetries, max(r.FlexAttempts-max(r.FlexCalls, 1), 0))
	cold := 0
	if r.ColdStart {
		cold = 1
	}
	b = appendInt(b, MetricColdStart, cold)
	b = append(b, "}\n"...)
	e.buf = b
	_, _ = e.w.Write(b)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// appendString adds ,"k":"v" with v reduced to a safe dimension value:
// dimension values are flexhook's own constants, so anything unexpected is
// replaced rather than escaped.
func appendString(b []byte, k, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, k...)
	b = append(b, `":"`...)
	if v == "" {
		v = "none"
	}
	for i := 0; i < len(v) && i < 64; i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/') {
			c = '_'
		}
		b = append(b, c)
	}
	return append(b, '"')
}

func appendInt(b []byte, k string, v int) []byte {
	b = append(b, `,"`...)
	b = append(b, k...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(v), 10)
}

func appendFloat(b []byte, k string, v float64) []byte {
	b = append(b, `,"`...)
	b = append(b, k...)
	b = append(b, `":`...)
	return strconv.AppendFloat(b, v, 'f', 3, 64)
}
