package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// ErrNotDurable is returned by Outage in sync mode: without a queue, an
// outage loses the events instead of holding them.
var ErrNotDurable = errors.New("localrun: the outage demo needs durable mode")

// DefaultOutageEvents is how many events the outage demo sends while Twilio
// is down.
const DefaultOutageEvents = 3

// Bounds of the outage demo's waits.
const (
	// outageFailWait bounds the wait for every job to have failed once: a
	// job's Twilio calls are retried with backoff for a few seconds first.
	outageFailWait = 2 * WorkerTimeout
	// outageDrainWait bounds the wait for the queue to drain after Twilio
	// recovers.
	outageDrainWait = time.Minute
)

// OutageReport is the result of the outage demo.
type OutageReport struct {
	// Accepted counts the events the webhook accepted (2xx) during the
	// outage.
	Accepted int
	// Depth is the close queue's depth once every job had failed at least
	// once (goaws counts in-flight messages too).
	Depth int
	// Failures counts the worker's failed deliveries during the outage.
	Failures int
	// Closed counts the outage's channels closed after recovery.
	Closed int
	// Problems lists every difference from what must happen; empty when as
	// expected.
	Problems []string
}

// OK reports whether the outage went as expected: every event accepted
// and queued, every job failed while Twilio was down, then every channel
// closed exactly once and nothing left in either queue.
func (r OutageReport) OK() bool { return len(r.Problems) == 0 }

// outageChannel is one channel of the outage demo: active, its only task
// just canceled.
type outageChannel struct {
	ch   flextest.Channel
	task samples.Task
}

// Outage plays a Flex outage, in durable mode with the simulator: Twilio
// answers 503 to every request (flextest.Unavailable) while n events (each
// canceling the only task of a fresh channel) arrive; the webhook accepts
// and queues them, the worker's deliveries fail and the jobs wait in the
// queue; then Twilio recovers, and the queue drains. It writes a line per
// phase to w. It returns ErrNotDurable or ErrNoSimulator when the System
// cannot play it, ctx's error if ctx ends, or the first error writing to w;
// what went wrong is in the report.
func (s *System) Outage(ctx context.Context, w io.Writer, n int) (OutageReport, error) {
	switch {
	case s.durable == nil:
		return OutageReport{}, ErrNotDurable
	case s.twilio == nil:
		return OutageReport{}, ErrNoSimulator
	}
	var rep OutageReport
	p := &printer{w: w}
	chans := make([]outageChannel, n)
	for i := range chans {
		ch := s.twilio.AddChannel(flextest.Channel{})
		t := s.twilio.AddChannelTask(samples.WorkspaceSID, ch, flextest.TaskCanceled)
		chans[i] = outageChannel{ch: ch, task: samples.Task{SID: t.SID, AssignmentStatus: t.AssignmentStatus, Attributes: t.Attributes}}
	}
	mark := s.durable.jobs.mark()
	p.printf("Outage: Twilio answers 503 to every request (flextest.Unavailable) while %d events arrive.\n", n)
	s.twilio.Inject(flextest.Unavailable(0))
	defer s.twilio.ClearFaults() // also when ctx ends

	client := &http.Client{Timeout: stepTimeout}
	for i, oc := range chans {
		status, _, latency, err := s.send(ctx, client, taskRouterStep("task.canceled", oc.task, samples.AuthToken))
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("event %d: %v", i+1, err))
			p.printf("  event %d  task.canceled %s  not sent: %v\n", i+1, shortSID(oc.task.SID), err)
			continue
		}
		if status/100 == 2 {
			rep.Accepted++
		} else {
			rep.Problems = append(rep.Problems, fmt.Sprintf("event %d answered %d, want 204 (queued)", i+1, status))
		}
		p.printf("  event %d  task.canceled %s → HTTP %d in %s: queued for channel %s\n", i+1, shortSID(oc.task.SID), status, formatLatency(latency), shortSID(oc.ch.SID))
	}

	// Every job fails at least once while Twilio is down.
	fctx, cancel := context.WithTimeout(ctx, outageFailWait)
	for _, oc := range chans {
		if _, ok := s.durable.jobs.waitMatch(fctx, mark, func(o JobObservation) bool {
			return o.Job.ChannelSID == oc.ch.SID && o.Job.Outcome == "failed_transient"
		}); !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("no failed delivery of the job for channel %s while Twilio was down", oc.ch.SID))
		}
	}
	cancel()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	calls, unavailable := 0, 0
	for _, o := range s.durable.jobs.since(mark) {
		if o.Job.Outcome != "failed_transient" {
			continue
		}
		rep.Failures++
		for _, c := range o.FlexCalls {
			calls++
			if c.Status == http.StatusServiceUnavailable {
				unavailable++
			}
		}
	}
	rep.Depth = max(s.depth(ctx, s.durable.sqs.QueueURL()), 0)
	p.printf("  worker: %d deliveries failed (%d Twilio calls, %d answered 503, retried with backoff within each delivery); the jobs wait for their next delivery (WORKER_RETRY_BASE=%s)\n",
		rep.Failures, calls, unavailable, WorkerRetryBase)
	p.printf("  close queue depth: %d\n", rep.Depth)
	if rep.Depth != rep.Accepted {
		rep.Problems = append(rep.Problems, fmt.Sprintf("queue depth %d during the outage, want %d (every accepted event waiting)", rep.Depth, rep.Accepted))
	}

	s.twilio.ClearFaults()
	recovered := time.Now()
	p.printf("Twilio recovers (faults cleared); waiting for the queue to drain...\n")
	dctx, cancel := context.WithTimeout(ctx, outageDrainWait)
	defer cancel()
	for _, oc := range chans {
		o, ok := s.durable.finalJob(dctx, mark, oc.ch.SID)
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("channel %s: no final job within %s of the recovery", oc.ch.SID, outageDrainWait))
			continue
		}
		tries := 0
		for _, f := range s.durable.jobs.since(mark) {
			if f.Job.ChannelSID == oc.ch.SID && f.Job.Outcome == "failed_transient" {
				tries++
			}
		}
		p.printf("  %s  channel %s after %s, queued %.1fs; Twilio: %s\n",
			jobDecision(o.Job), shortSID(oc.ch.SID), plural(tries, "failed delivery", "failed deliveries"), o.Job.QueueAgeS, flexCalls(o.FlexCalls))
	}
	_ = s.Drained(dctx) // the depth at the end says whether it drained
	drain := time.Since(recovered)
	var closeCounts []int // each channel's number of close effects in the simulator
	for _, oc := range chans {
		c, _ := s.twilio.Channel(oc.ch.InteractionSID, oc.ch.SID)
		cc := s.twilio.CloseCount(oc.ch.SID)
		closeCounts = append(closeCounts, cc)
		if c.Status == flextest.ChannelClosed {
			rep.Closed++
		}
		if c.Status != flextest.ChannelClosed || cc != 1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("channel %s is %s after %d closes, want closed once", oc.ch.SID, c.Status, cc))
		}
	}
	if dead := max(s.depth(ctx, s.durable.sqs.DLQURL()), 0); dead != 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d jobs in the dead-letter queue, want none", dead))
	}
	if depth := s.depth(ctx, s.durable.sqs.QueueURL()); depth != 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("close queue depth %d at the end, want 0", depth))
	}
	if rep.OK() {
		p.printf("Outage: queue drained %s after the recovery; %d/%d channels closed, each exactly once (close counts %s); dead-letter queue empty.\n",
			formatLatency(drain), rep.Closed, n, joinInts(closeCounts))
	} else {
		p.printf("Outage: NOT as expected:\n")
		for _, pr := range rep.Problems {
			p.printf("  %s\n", pr)
		}
	}
	return rep, p.err
}

// depth is how many messages the queue at url holds, -1 when SQS does not
// say.
func (s *System) depth(ctx context.Context, url string) int {
	c, err := s.durable.sqs.Counts(ctx, url)
	if err != nil {
		return -1
	}
	return c.Total
}

// plural renders n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}
