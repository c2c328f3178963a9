package stack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency/dynamotest"
	"github.com/flexhook/flexhook/internal/local/process"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/local/sqstrigger"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
	"github.com/flexhook/flexhook/internal/retry"
)

// WorkerPackage is the queue worker function durable mode builds and runs.
const WorkerPackage = "./functions/worker"

// Durable mode's local settings.
const (
	// WorkerTimeout is the worker function's timeout, as in template.yaml.
	WorkerTimeout = 30 * time.Second
	// WorkerRetryBase is the worker's WORKER_RETRY_BASE: the delay before a
	// failed job is delivered again (10s in template.yaml; short here so the
	// demo's outage drains quickly).
	WorkerRetryBase = time.Second
	// WorkerRecheckAfter is the worker's RECHECK_AFTER: the delay before a
	// close skipped for a live task is checked again (60s in template.yaml;
	// short here so the demo's skip is final within seconds).
	WorkerRecheckAfter = time.Second
	// QueueMaxReceiveCount is the close queue's maxReceiveCount: after that
	// many failed deliveries a job moves to the dead-letter queue.
	QueueMaxReceiveCount = 10
	// QueueVisibilityTimeout is the close queue's visibility timeout: a job
	// whose invocation crashed comes back after it. It exceeds the worker's
	// timeout, so a running job is never delivered twice.
	QueueVisibilityTimeout = WorkerTimeout + 5*time.Second
	// BatchSize is the event source mapping's batch size, as in
	// template.yaml.
	BatchSize = 10
	// TableName is the local idempotency table in dynalite.
	TableName = "flexhook-idempotency"
)

// stopMappingWait bounds the wait for the event source mapping to stop.
const stopMappingWait = 10 * time.Second

// durable is what durable mode adds to a System: the queue, the optional
// idempotency table, and the worker fed by the event source mapping.
type durable struct {
	sqs       *sqstest.Server
	tableURL  string // dynalite's endpoint; "" without a table
	tableNote string // why there is no table
	twilioURL string // the worker's TWILIO_API_BASE_URL; "" for real Twilio

	worker  *tracedFunction
	logs    *logTap
	mapping *sqstrigger.Mapping
	jobs    *recent[JobObservation]
	live    func(JobObservation) // prints a job in live mode; nil before Start ends
}

// startDurable starts what durable mode adds — goaws, dynalite when it is
// installed, the worker's tap of the simulator, the worker under its own
// emulator and the event source mapping (not yet polling) — and returns the
// variables the webhook needs to enqueue. workerBin is the worker binary.
func (s *System) startDurable(ctx context.Context, o Options, workerBin string) ([]string, error) {
	d := &durable{jobs: newRecent[JobObservation]()}
	d.jobs.limit = keep * 4
	var err error
	d.sqs, err = sqstest.Start(ctx, sqstest.Options{
		MaxReceiveCount:   QueueMaxReceiveCount,
		VisibilityTimeout: QueueVisibilityTimeout,
		Output:            o.Logs,
	})
	if err != nil {
		return nil, fmt.Errorf("start the local SQS (goaws): %w", err)
	}
	s.closers = append(s.closers, d.sqs.Close)
	if o.NoTable {
		d.tableNote = "none (--no-table)"
	} else if err := s.startTable(ctx, d); err != nil {
		return nil, err
	}
	var tap *twilioTap // nil in RealTwilio mode
	if s.twilio != nil {
		if tap, d.twilioURL, err = s.serveTap(); err != nil {
			return nil, err
		}
	}
	d.logs = newLogTap(o.Logs)
	s.workerEnv = workerEnv(s.awsURL, d.twilioURL, d.env(), o.Env)
	fn, err := s.startFunction(ctx, o, " for the worker", workerBin, s.workerEnv, WorkerTimeout, d.logs)
	if err != nil {
		return nil, err
	}
	d.worker = &tracedFunction{fn: fn, calls: tap, traces: newRecent[trace]()}

	logger := slog.New(slog.NewTextHandler(cmp.Or(o.Logs, io.Discard), nil))
	d.mapping, err = sqstrigger.New(sqsreceive.New(d.sqs.Client()), d.sqs.QueueURL(), d, sqstrigger.Options{
		BatchSize:     BatchSize,
		Wait:          time.Second,
		InvokeTimeout: WorkerTimeout + 5*time.Second,
		QueueARN:      sqstest.ARN(d.sqs.QueueURL()),
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	d.live = func(o JobObservation) { s.printLive(func() string { return formatJob(time.Now(), o) }) }
	s.durable = d
	return d.env(), nil
}

// startTable starts dynalite and creates the idempotency table, or notes
// why there is none: dynalite is optional, so that durable mode works with
// only Go installed.
func (s *System) startTable(ctx context.Context, d *durable) error {
	root, err := process.ModuleRoot() // where npm ci installs dynalite
	if err != nil {
		d.tableNote = "none (" + err.Error() + ")"
		return nil
	}
	db, err := dynamotest.Launch(root)
	switch {
	case errors.Is(err, dynamotest.ErrNotInstalled):
		d.tableNote = "none: dynalite is not installed (npm ci installs it)"
		return nil
	case err != nil:
		d.tableNote = "none: dynalite did not start: " + err.Error()
		return nil
	}
	s.closers = append(s.closers, db.Close)
	if err := dynamotest.CreateTableContext(ctx, dynamotest.NewClient(db.Endpoint()), TableName); err != nil {
		return fmt.Errorf("create the idempotency table in dynalite: %w", err)
	}
	d.tableURL = db.Endpoint()
	return nil
}

// env is what both functions need to reach the queue and the table.
func (d *durable) env() []string {
	return append([]string{config.EnvCloseQueueURL + "=" + d.sqs.QueueURL(), "AWS_ENDPOINT_URL_SQS=" + d.sqs.Endpoint()}, d.tableEnv()...)
}

// tableEnv is what a function needs to reach the idempotency table; nil
// without one.
func (d *durable) tableEnv() []string {
	if d == nil || d.tableURL == "" {
		return nil
	}
	return []string{config.EnvIdempotencyTable + "=" + TableName, "AWS_ENDPOINT_URL_DYNAMODB=" + d.tableURL}
}

// run starts the event source mapping, from now on the worker consumes the
// queue, and returns what stops it and waits, bounded, until it has.
func (d *durable) run() func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.mapping.Run(ctx)
	}()
	return func() error {
		cancel()
		select {
		case <-done:
			return nil
		case <-time.After(stopMappingWait):
			return errors.New("the event source mapping did not stop")
		}
	}
}

// Invoke implements sqstrigger.Target: it runs the worker on one batch and
// records what it did with each record.
func (d *durable) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var batch events.SQSEvent
	_ = json.Unmarshal(payload, &batch)
	res, err := d.worker.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	d.observe(res.RequestID, len(batch.Records))
	if res.Failed() {
		return nil, &sqstrigger.FunctionError{Type: res.ErrorType, Message: res.ErrorMessage}
	}
	return res.Payload, nil
}

// observe puts together the job lines of invocation id, which handled n
// records, with the Twilio calls each made.
func (d *durable) observe(id string, n int) {
	tr, _ := d.worker.traces.get(id)
	ctx, cancel := context.WithTimeout(context.Background(), summaryWait)
	lines, _ := d.logs.jobs.waitUntil(ctx, id, func(js []Job) bool { return len(js) >= n })
	cancel()
	for i, j := range lines {
		o := JobObservation{Job: j, FlexCalls: callsFor(tr.calls, j.ChannelSID), ColdStart: tr.cold && i == 0}
		d.jobs.add(o)
		if d.live != nil {
			d.live(o)
		}
	}
}

// finalJob waits for the first final job line about channel recorded after
// mark, until ctx ends.
func (d *durable) finalJob(ctx context.Context, mark int, channel string) (JobObservation, bool) {
	return d.jobs.waitMatch(ctx, mark, func(o JobObservation) bool { return o.Job.ChannelSID == channel && o.Job.Final() })
}

// callsFor keeps the requests about channel: its own path, or a task list
// filtered on it.
func callsFor(reqs []flextest.Request, channel string) []flextest.Request {
	if channel == "" {
		return reqs
	}
	// A SID is letters and digits, which query encoding keeps as they are.
	return slices.DeleteFunc(slices.Clone(reqs), func(r flextest.Request) bool {
		return !strings.Contains(r.Path+"?"+r.Query.Encode(), channel)
	})
}

// Job is what the local system reads of the worker's log line for one
// queue record (message "job").
type Job struct {
	RequestID   string  `json:"requestId"`
	Outcome     string  `json:"outcome"`
	Replayed    bool    `json:"replayed"`
	Source      string  `json:"source"`
	EventType   string  `json:"event_type"`
	TaskSID     string  `json:"task_sid"`
	ChannelSID  string  `json:"channel_sid"`
	LiveTaskSID string  `json:"live_task_sid"`
	QueueAgeS   float64 `json:"queue_age_s"`
	Retry       bool    `json:"retry"`
	RetryInS    float64 `json:"retry_in_s"`
	Error       string  `json:"error"`
}

// Final reports whether the job is done with: its message was deleted.
// The other outcomes (failed_transient, in_progress, blocked, deferred)
// are retried.
func (j Job) Final() bool { return !j.Retry }

// JobObservation is what the worker did with one queued close job: its log
// line and the Twilio calls it made for the job's channel.
type JobObservation struct {
	Job       Job
	FlexCalls []flextest.Request // nil in RealTwilio mode
	// ColdStart marks the first record of the worker's first invocation.
	ColdStart bool
}

// workerEnv is the worker's environment: what template.yaml would set,
// pointed at the local stand-ins, then the caller's overrides.
func workerEnv(secretsURL, twilioURL string, queueEnv, extra []string) []string {
	env := append(baseEnv("flexhook-worker", secretsURL, twilioURL),
		config.EnvWorkerRetryBase+"="+WorkerRetryBase.String(),
		config.EnvRecheckAfter+"="+WorkerRecheckAfter.String())
	return append(append(env, queueEnv...), extra...)
}

// formatJob renders a worker job as one live line:
//
//	15:04:05 worker: task.completed WT…f1a1: closed, channel UO…f1a1, queued 0.8s; Twilio: GET tasks, POST channel
func formatJob(at time.Time, o JobObservation) string {
	j := o.Job
	var b strings.Builder
	fmt.Fprintf(&b, "%s worker:", at.Format("15:04:05"))
	if o.ColdStart {
		b.WriteString(" cold start,")
	}
	writeEvent(&b, j.EventType, j.TaskSID)
	if j.EventType == "" && j.Source != "" {
		b.WriteString(" " + j.Source + ":")
	}
	b.WriteString(" " + jobDecision(j))
	if j.ChannelSID != "" {
		b.WriteString(", channel " + shortSID(j.ChannelSID))
	}
	fmt.Fprintf(&b, ", queued %.1fs", j.QueueAgeS)
	if j.Error != "" {
		b.WriteString(", error: " + j.Error)
	}
	if o.FlexCalls != nil {
		b.WriteString("; Twilio: " + flexCalls(o.FlexCalls))
	}
	return b.String()
}

// drainPoll is how often Drained looks at the close queue.
const drainPoll = 50 * time.Millisecond

// Drained waits until the close queue holds no message — none waiting, in
// flight, or held back for a retry or a recheck — so that every close job
// queued so far is done with, or until ctx ends. In sync mode the webhook
// closes inline and Drained returns at once.
func (s *System) Drained(ctx context.Context) error {
	if s.durable == nil {
		return nil
	}
	for {
		n, err := s.durable.sqs.Counts(ctx, s.durable.sqs.QueueURL())
		if err != nil {
			return err
		}
		if n.Total == 0 {
			return nil
		}
		if err := retry.Sleep(ctx, drainPoll); err != nil {
			return err
		}
	}
}

// HasTable reports whether durable mode runs with the idempotency table
// (dynalite). Without it a queued close is not deduplicated and a skipped
// close is never rechecked.
func (s *System) HasTable() bool { return s.durable != nil && s.durable.tableURL != "" }
