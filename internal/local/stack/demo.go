package stack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/webhook"
)

// ErrNoSimulator is returned by Demo in RealTwilio mode: the demo needs the
// simulator's sample channels.
var ErrNoSimulator = errors.New("localrun: the demo needs the Twilio simulator")

// stepTimeout bounds one demo request: the gateway's integration timeout
// plus the wait for its observation.
const stepTimeout = apigateway.DefaultTimeout + 2*summaryWait

// idempotencyTokenHeader is the header TaskRouter puts on each delivery of
// an event callback.
const idempotencyTokenHeader = "I-Twilio-Idempotency-Token"

// jobWait bounds the wait for the worker to finish a queued job: its
// timeout, plus the mapping's polling.
const jobWait = WorkerTimeout + 5*time.Second

// outcomeQueued is the webhook's outcome when it puts a job on the queue.
const outcomeQueued = "queued"

// closesOutcome reports an outcome the close path produces — in durable
// mode the worker's, after the webhook queued the job.
func closesOutcome(o string) bool {
	switch channelclose.Outcome(o) {
	case channelclose.Closed, channelclose.AlreadyClosed, channelclose.SkippedLiveTask, channelclose.NotFound, channelclose.DryRun:
		return true
	}
	return false
}

// Expect is the outcome a demo step must have.
type Expect struct {
	// Status is the HTTP status the gateway answers.
	Status int
	// Outcome is the outcome in the function's summary log line.
	Outcome string
	// Channel is the channel's status after the step, when the step has a
	// channel.
	Channel string
	// NoFlexCalls requires that the function made no Twilio call.
	NoFlexCalls bool
	// QueuedStatus is the HTTP status in durable mode when the webhook
	// queues the close (CRM callbacks get 202); 0 means Status.
	QueuedStatus int
}

// Step is one scripted request of the demo.
type Step struct {
	// Name says what the request is.
	Name string
	// Channel is the channel whose status is shown before and after; nil
	// when the step concerns none.
	Channel *samples.Channel
	// Build makes the signed request for the gateway at baseURL, at now.
	Build func(baseURL string, now time.Time) (Request, error)
	// Flow, instead of Build, plays a Flex flow on the simulator, whose
	// signed event callbacks reach the gateway as TaskRouter's would reach
	// the Workspace's EventCallbackUrl. The step is judged on the last
	// callback of type Event the flow sent; the Twilio calls of all its
	// callbacks count.
	Flow  func(tw *flextest.Server) error
	Event string
	// Want is what must happen.
	Want Expect
}

// StepResult is what one step did.
type StepResult struct {
	Step Step
	// Status is the HTTP status answered; 0 when no answer came.
	Status int
	// Before and After are the channel's status around the step.
	Before, After string
	// Observation is what the function and the simulator did, when
	// Observed.
	Observation Observation
	Observed    bool
	// Latency is the client's wall time from sending to the whole answer.
	Latency time.Duration
	// Job is what the worker finally did with the step's close job in
	// durable mode; nil when the webhook queued nothing or no final job
	// line came in time.
	Job *JobObservation
	// Done is the time from the webhook's answer to the worker's final job
	// line, in durable mode.
	Done time.Duration
	// Problems lists every difference from Step.Want; empty when as
	// expected.
	Problems []string
}

// OK reports whether the step went as expected.
func (r StepResult) OK() bool { return len(r.Problems) == 0 }

// Report is the result of a demo run.
type Report struct {
	Results []StepResult
}

// Failed returns how many steps did not go as expected.
func (r Report) Failed() int {
	n := 0
	for _, s := range r.Results {
		if !s.OK() {
			n++
		}
	}
	return n
}

// OK reports whether every step went as expected.
func (r Report) OK() bool { return r.Failed() == 0 }

// taskRouterStep signs a TaskRouter event about task, as TaskRouter would
// at now, with token.
func taskRouterStep(eventType string, task samples.Task, token string) func(string, time.Time) (Request, error) {
	return func(base string, now time.Time) (Request, error) {
		form := samples.TaskRouterForm(eventType, task)
		form.Set("TimestampMs", strconv.FormatInt(now.UnixMilli(), 10))
		req, err := TaskRouterRequest(base+webhook.RouteTaskRouter, token, form)
		if err == nil {
			// Each delivery of a TaskRouter event carries a token of its
			// own, which names the event in the idempotency store: a demo
			// played again is new events, not replays of the first.
			req.Header.Set(idempotencyTokenHeader, rand.Text())
		}
		return req, err
	}
}

// canceledCopy is t as a task.canceled event reports it.
func canceledCopy(t samples.Task) samples.Task {
	t.AssignmentStatus = flextest.TaskCanceled
	return t
}

// Expectations the demo's steps share.
var (
	wantClosed    = Expect{Status: http.StatusNoContent, Outcome: "closed", Channel: flextest.ChannelClosed}
	wantCRMClosed = Expect{Status: http.StatusOK, QueuedStatus: http.StatusAccepted, Outcome: "closed", Channel: flextest.ChannelClosed}
)

// wantIgnored is the expectation of an event ignored with no Twilio call,
// leaving the channel (if any) in status channel.
func wantIgnored(channel string) Expect {
	return Expect{Status: http.StatusNoContent, Outcome: "ignored", Channel: channel, NoFlexCalls: true}
}

// DemoSteps returns the scripted demo: the sample events, signed afresh for
// the local gateway, with the outcome each must have against the sample
// channels in their initial state.
func DemoSteps() []Step {
	ch := samples.Channels()
	canceled, transferred, completed, crmCh := ch[0], ch[1], ch[2], ch[3]
	src := samples.SourceChannels()
	return append([]Step{
		{Name: "task.canceled, Flex task", Channel: canceled,
			Build: taskRouterStep("task.canceled", canceled.Tasks[0], samples.AuthToken), Want: wantClosed},
		{
			// A task of the channel ends while another one (a transfer,
			// an invite) is still live: the live-task guard keeps it open.
			Name: "task.canceled, other task still live", Channel: transferred,
			Build: taskRouterStep("task.canceled", canceledCopy(transferred.Tasks[0]), samples.AuthToken),
			Want:  Expect{Status: http.StatusNoContent, Outcome: "skipped_live_task", Channel: flextest.ChannelActive},
		},
		{
			// task.completed is not a default close event: an agent's
			// own end of the chat closes the channel in Flex, and Park
			// completes tasks of conversations left open.
			Name: "task.completed, last task (opt-in event)", Channel: completed,
			Build: taskRouterStep("task.completed", completed.Tasks[0], samples.AuthToken), Want: wantIgnored(flextest.ChannelActive),
		},
		{Name: "task.canceled, voice task (not Flex)",
			Build: taskRouterStep("task.canceled", samples.VoiceTask(), samples.AuthToken), Want: wantIgnored("")},
		{
			Name: "CRM conversation done (signed)", Channel: crmCh,
			Build: func(base string, now time.Time) (Request, error) {
				body, _ := json.Marshal(map[string]string{"interaction_sid": crmCh.InteractionSID, "channel_sid": crmCh.ChannelSID, "status": "closed"})
				return CRMRequest(base+webhook.RouteCRM, body, CRMAuth{Secret: samples.CRMWebhookSecret, Time: now})
			},
			Want: wantCRMClosed,
		},
		{
			Name: "task.canceled, bad signature", Channel: transferred,
			Build: taskRouterStep("task.canceled", transferred.Tasks[1], "wrongtoken0000000000000000000000"),
			Want:  Expect{Status: http.StatusForbidden, Outcome: "rejected_auth", Channel: flextest.ChannelActive, NoFlexCalls: true},
		},
		// The CRM source presets (samples.CRMSourcesJSON), as each CRM sends.
		{Name: "Zendesk ticket solved (source)", Channel: src[0], Build: sourceStep("zendesk"), Want: wantCRMClosed},
		{Name: "HubSpot ticket closed (source)", Channel: src[1], Build: sourceStep("hubspot"), Want: wantCRMClosed},
		{
			// The last notification's channel: the one the summary names.
			Name: "Salesforce 2 Cases closed (source)", Channel: src[3], Build: sourceStep("salesforce"),
			Want: Expect{Status: http.StatusOK, QueuedStatus: http.StatusOK, Outcome: "closed", Channel: flextest.ChannelClosed},
		},
	}, flowSteps()...)
}

// Demo conversations played with the simulator's Flex flows.
const (
	demoLeave = 11 + iota
	demoPark
	demoTransfer
)

// demoChannel is the channel of demo conversation n, PlaygroundChannel(n), as
// the demo's table shows it.
func demoChannel(n int) *samples.Channel {
	ch := PlaygroundChannel(n)
	return &samples.Channel{InteractionSID: ch.InteractionSID, ChannelSID: ch.SID}
}

// flowSteps are the demo's Flex flows: conversations agents leave open on
// purpose (Leave, Park) stay open, and a conversation transferred to a
// queue stays open while its new task waits there, then closes when that
// task's workflow times out.
func flowSteps() []Step {
	var transferred flextest.Task // the transfer's new task, live after step 1
	// flow begins demo conversation n, a channel with a task assigned to an
	// agent (task.created), and ends it.
	flow := func(n int, end func(flextest.Flows, flextest.Task) error) func(*flextest.Server) error {
		return func(tw *flextest.Server) error {
			fl := tw.Flows(samples.WorkspaceSID)
			_, task := fl.Start(PlaygroundChannel(n))
			return end(fl, task)
		}
	}
	return []Step{
		{
			// Flex's Leave: the task completes, the channel waits for
			// the customer, inactive. task.completed is not a close event.
			Name: "Leave: task.completed (flow)", Channel: demoChannel(demoLeave), Event: "task.completed",
			Flow: flow(demoLeave, func(fl flextest.Flows, t flextest.Task) error { return fl.Leave(t.SID) }),
			Want: wantIgnored(flextest.ChannelInactive),
		},
		{
			// Park an Interaction: the agent's participant is closed, the
			// task completes, the channel stays active for the customer.
			Name: "Park: task.completed (flow)", Channel: demoChannel(demoPark), Event: "task.completed",
			Flow: flow(demoPark, func(fl flextest.Flows, t flextest.Task) error { return fl.Park(t.SID) }),
			Want: wantIgnored(flextest.ChannelActive),
		},
		{
			// A transfer to a queue: the new task waits there (pending,
			// live), the first one completes.
			Name: "Transfer: first task completed (flow)", Channel: demoChannel(demoTransfer), Event: "task.completed",
			Flow: flow(demoTransfer, func(fl flextest.Flows, t flextest.Task) (err error) {
				transferred, err = fl.TransferToQueue(t.SID)
				return err
			}),
			Want: wantIgnored(flextest.ChannelActive),
		},
		{
			// Nobody accepts the transferred conversation's new task: its
			// workflow times out, nothing is live any more, the channel
			// closes (the task.canceled after it finds it closed).
			Name: "Transfer: new task timed out (flow)", Channel: demoChannel(demoTransfer), Event: "workflow.timeout",
			Flow: func(tw *flextest.Server) error {
				if transferred.SID == "" {
					return errors.New("the transfer step did not run")
				}
				return tw.Flows(samples.WorkspaceSID).WorkflowTimeout(transferred.SID)
			},
			Want: wantClosed,
		},
	}
}

// sourceStep builds the request of a CRM source preset.
func sourceStep(name string) func(string, time.Time) (Request, error) {
	return func(base string, now time.Time) (Request, error) {
		u, h, body, err := samples.SourceRequest(name, base, now)
		return Request{Method: http.MethodPost, URL: u, Header: h, Body: body}, err
	}
}

// Demo seeds the simulator with the sample channels in their initial state
// (and the flows' channels, active), sends each step through the local
// gateway, one at a time (a flow step: its event callbacks), and writes one
// line per step to w, then a verdict. It returns ErrNoSimulator in
// RealTwilio mode, ctx's error if ctx ends, or the first error writing to w;
// steps that go wrong are reported in the Report, not as errors.
func (s *System) Demo(ctx context.Context, w io.Writer, steps []Step) (Report, error) {
	if s.twilio == nil {
		return Report{}, ErrNoSimulator
	}
	samples.Seed(s.twilio)
	for _, n := range []int{demoLeave, demoPark, demoTransfer} {
		s.twilio.AddChannel(PlaygroundChannel(n)) // where the flows' conversations start
	}
	p := &printer{w: w}
	if s.durable != nil {
		p.printf("Demo: %d signed events through %s; the webhook queues each close job, the worker runs it.\n", len(steps), s.url)
		p.printf("%-7s %-38s %-24s %-34s %-26s %-17s %4s  %s\n", "", "EVENT", "WEBHOOK", "WORKER DECISION (job log)", "FLEX CALLS (worker)", "CHANNEL", "HTTP", "LATENCY")
	} else {
		p.printf("Demo: %d signed events through %s, handled by the real function.\n", len(steps), s.url)
		p.printf("%-7s %-38s %-34s %-26s %-17s %4s  %s\n", "", "EVENT", "DECISION (function log)", "FLEX CALLS (simulator)", "CHANNEL", "HTTP", "LATENCY")
	}
	var rep Report
	client := &http.Client{Timeout: stepTimeout}
	for i, st := range steps {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r := s.runStep(ctx, client, st)
		rep.Results = append(rep.Results, r)
		p.printf("%s\n", formatStep(i+1, r, s.durable != nil))
	}
	if rep.OK() {
		p.printf("Demo: %d/%d events as expected.\n", len(steps), len(steps))
	} else {
		p.printf("Demo: %d of %d events NOT as expected:\n", rep.Failed(), len(steps))
		for i, r := range rep.Results {
			for _, pr := range r.Problems {
				p.printf("  %d. %s: %s\n", i+1, r.Step.Name, pr)
			}
		}
	}
	return rep, p.err
}

// runStep sends one step (a flow step: its event callbacks) and compares
// what happened with its expectation.
func (s *System) runStep(ctx context.Context, client *http.Client, st Step) StepResult {
	r := StepResult{Step: st}
	if st.Channel != nil {
		r.Before = s.channelStatus(st.Channel)
	}
	mark := 0
	if s.durable != nil {
		mark = s.durable.jobs.mark()
	}
	var problem string
	if st.Flow != nil {
		problem = s.playFlow(ctx, &r)
	} else {
		problem = s.sendStep(ctx, client, &r)
	}
	if problem != "" {
		r.Problems = []string{problem}
		return r
	}
	// In durable mode, wait for the worker's final job on the channel the
	// step queued a close for.
	if sum := r.Observation.Summary; s.durable != nil && sum != nil && sum.Outcome == outcomeQueued {
		answered := time.Now()
		// A summary of several closes (a Salesforce message of several
		// notifications) names no channel: wait for the step's own.
		channel := sum.ChannelSID
		if channel == "" && st.Channel != nil {
			channel = st.Channel.ChannelSID
		}
		jctx, cancel := context.WithTimeout(ctx, jobWait)
		j, ok := s.durable.finalJob(jctx, mark, channel)
		cancel()
		if ok {
			r.Job, r.Done = &j, time.Since(answered)
		}
	}
	if st.Channel != nil {
		r.After = s.channelStatus(st.Channel)
	}
	r.Problems = check(st.Want, r, s.durable != nil)
	if st.Flow != nil && s.durable != nil {
		// A flow sends several events (a workflow timeout: also
		// task.canceled): the step ends when all their jobs have run, so
		// that none is left in the queue for what comes next.
		dctx, cancel := context.WithTimeout(ctx, stepTimeout)
		if err := s.Drained(dctx); err != nil {
			r.Problems = append(r.Problems, "close queue not drained after the flow: "+err.Error())
		}
		cancel()
	}
	return r
}

// sendStep sends the step's request through the gateway and waits for its
// observation; it returns what kept it from being sent.
func (s *System) sendStep(ctx context.Context, client *http.Client, r *StepResult) string {
	status, id, latency, err := s.send(ctx, client, r.Step.Build)
	if err != nil {
		return err.Error()
	}
	r.Status, r.Latency = status, latency
	wctx, cancel := context.WithTimeout(ctx, 2*summaryWait)
	r.Observation, r.Observed = s.Observation(wctx, id)
	cancel()
	return ""
}

// send builds a request for the gateway, now, sends it and reads the
// whole answer: its status, the gateway's request id, and the client's wall
// time.
func (s *System) send(ctx context.Context, client *http.Client, build func(string, time.Time) (Request, error)) (status int, id string, latency time.Duration, err error) {
	req, err := build(s.url, time.Now())
	var hreq *http.Request
	if err == nil {
		hreq, err = req.HTTP(ctx)
	}
	if err != nil {
		return 0, "", 0, fmt.Errorf("build request: %w", err)
	}
	start := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		return 0, "", 0, fmt.Errorf("send: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(apigateway.RequestIDHeader), time.Since(start), nil
}

// playFlow plays a flow step: the simulator sends the flow's event
// callbacks to the gateway, one at a time; the step's observation is that
// of the last callback of type Step.Event, with the Twilio calls of all.
// It returns what kept the flow from playing.
func (s *System) playFlow(ctx context.Context, r *StepResult) string {
	s.twilio.SetEventCallbackURL(s.url + webhook.RouteTaskRouter)
	defer s.twilio.SetEventCallbackURL("")
	seen, from := s.seen.mark(), len(s.twilio.Callbacks())
	start := time.Now()
	if err := r.Step.Flow(s.twilio); err != nil {
		return "flow: " + err.Error()
	}
	r.Latency = time.Since(start)
	sent := s.twilio.Callbacks()[from:]
	var step *flextest.Callback
	for i := range sent {
		if sent[i].Event.Type == r.Step.Event {
			step = &sent[i]
		}
	}
	if step == nil {
		return "the flow sent no " + r.Step.Event + " callback"
	}
	r.Status = step.Status
	wctx, cancel := context.WithTimeout(ctx, 2*summaryWait)
	obs, _ := s.seen.waitSince(wctx, seen, len(sent))
	cancel()
	var calls []flextest.Request
	for _, o := range obs {
		calls = append(calls, o.FlexCalls...)
		if sum := o.Summary; sum != nil && sum.EventType == step.Event.Type && sum.TaskSID == step.Event.TaskSID {
			r.Observation, r.Observed = o, true
		}
	}
	if r.Observed {
		r.Observation.FlexCalls = calls
	}
	return ""
}

func (s *System) channelStatus(ch *samples.Channel) string {
	c, ok := s.twilio.Channel(ch.InteractionSID, ch.ChannelSID)
	if !ok {
		return "missing"
	}
	return c.Status
}

// check lists the differences between want and what r shows. In durable
// mode a close is queued by the webhook and decided by the worker.
func check(want Expect, r StepResult, durable bool) []string {
	var problems []string
	queued := durable && closesOutcome(want.Outcome)
	wantStatus, webhookOutcome := want.Status, want.Outcome
	if queued {
		webhookOutcome = outcomeQueued
		if want.QueuedStatus != 0 {
			wantStatus = want.QueuedStatus
		}
	}
	if r.Status != wantStatus {
		problems = append(problems, fmt.Sprintf("HTTP %d, want %d", r.Status, wantStatus))
	}
	switch sum := r.Observation.Summary; {
	case !r.Observed || sum == nil:
		problems = append(problems, fmt.Sprintf("no summary log line from the function, want outcome %s", webhookOutcome))
	case sum.Outcome != webhookOutcome:
		problems = append(problems, withError(fmt.Sprintf("outcome %s, want %s", sum.Outcome, webhookOutcome), sum.Error))
	case queued && r.Job == nil:
		problems = append(problems, fmt.Sprintf("no final job line from the worker within %s, want outcome %s", jobWait, want.Outcome))
	case queued && r.Job.Job.Outcome != want.Outcome:
		problems = append(problems, withError(fmt.Sprintf("worker outcome %s, want %s", r.Job.Job.Outcome, want.Outcome), r.Job.Job.Error))
	}
	if want.Channel != "" && r.After != want.Channel {
		problems = append(problems, fmt.Sprintf("channel %s after the event, want %s", r.After, want.Channel))
	}
	calls := r.Observation.FlexCalls
	if r.Job != nil {
		calls = append(calls[:len(calls):len(calls)], r.Job.FlexCalls...)
	}
	if n := len(calls); want.NoFlexCalls && n > 0 {
		problems = append(problems, fmt.Sprintf("%d Twilio calls (%s), want none", n, flexCalls(calls)))
	}
	return problems
}

// withError adds the error a log line reported, if any, to msg.
func withError(msg, err string) string {
	if err != "" {
		msg += " (" + err + ")"
	}
	return msg
}

// formatStep renders a step as one line of the demo table; in durable mode
// with the webhook's and the worker's decisions.
func formatStep(n int, r StepResult, durable bool) string {
	mark := "ok  "
	if !r.OK() {
		mark = "FAIL"
	}
	channel := "-"
	if r.Step.Channel != nil {
		channel = r.Before + " → " + r.After
	}
	status, latency := "-", "-"
	if r.Status != 0 {
		status, latency = strconv.Itoa(r.Status), formatLatency(r.Latency)
		if r.Observation.ColdStart {
			latency += " (cold start)"
		}
	}
	flex := "-"
	if r.Observed {
		flex = flexCalls(r.Observation.FlexCalls)
	}
	if !durable {
		return fmt.Sprintf("%s %2d %-38s %-34s %-26s %-17s %4s  %s", mark, n, r.Step.Name, decision(r.Observation), flex, channel, status, latency)
	}
	worker := "-"
	if r.Job != nil {
		worker, flex = jobDecision(r.Job.Job), flexCalls(r.Job.FlexCalls)
		latency += fmt.Sprintf(", done %s later", formatLatency(r.Done))
	}
	return fmt.Sprintf("%s %2d %-38s %-24s %-34s %-26s %-17s %4s  %s", mark, n, r.Step.Name, decision(r.Observation), worker, flex, channel, status, latency)
}

// jobDecision says what the worker decided, from its job line.
func jobDecision(j Job) string {
	d := j.Outcome
	switch {
	case j.LiveTaskSID != "":
		d += " (" + shortSID(j.LiveTaskSID) + " live)"
	case j.Replayed:
		d += " (replayed)"
	case j.Retry && j.RetryInS > 0:
		d += fmt.Sprintf(" (retry in %gs)", j.RetryInS)
	}
	return d
}

// formatLive renders a request served outside the demo as one line:
//
//	15:04:05 POST /taskrouter → 204 (2ms) task.completed WT…f1a1: closed, channel UO…f1a1; Twilio: GET tasks, POST channel
func formatLive(o Observation) string {
	x := o.Exchange
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s → %d (%s)", x.Start.Format("15:04:05"), x.Method, x.Path, x.Status, formatLatency(x.Duration))
	if o.ColdStart {
		b.WriteString(" cold start,")
	}
	switch s := o.Summary; {
	case s != nil:
		writeEvent(&b, s.EventType, s.TaskSID)
		b.WriteString(" " + decision(o))
		if s.ChannelSID != "" {
			b.WriteString(", channel " + shortSID(s.ChannelSID))
		}
		if s.Error != "" {
			b.WriteString(", error: " + s.Error)
		}
	case x.Err != nil:
		b.WriteString(" " + x.Err.Error())
	}
	if x.Invoked && o.FlexCalls != nil {
		b.WriteString("; Twilio: " + flexCalls(o.FlexCalls))
	}
	return b.String()
}

// writeEvent writes the event a live line is about, " type task:", if any.
func writeEvent(b *strings.Builder, eventType, taskSID string) {
	if eventType == "" {
		return
	}
	b.WriteString(" " + eventType)
	if taskSID != "" {
		b.WriteString(" " + shortSID(taskSID))
	}
	b.WriteString(":")
}

// decision says what the function decided, from its summary line.
func decision(o Observation) string {
	s := o.Summary
	switch {
	case s == nil && o.Exchange.Err != nil:
		return "no decision: " + shortError(o.Exchange.Err)
	case s == nil:
		return "-"
	case s.LiveTaskSID != "":
		return s.Outcome + " (" + shortSID(s.LiveTaskSID) + " live)"
	case s.Reason != "":
		return s.Outcome + " (" + s.Reason + ")"
	}
	return s.Outcome
}

// shortError is the gateway's class of failure, for a table cell.
func shortError(err error) string {
	for _, e := range []error{apigateway.ErrTimeout, apigateway.ErrFunction, apigateway.ErrUnavailable, apigateway.ErrBodyTooLarge, apigateway.ErrNoRoute} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "localgw: ")
		}
	}
	return "gateway error"
}

// flexCalls names the Twilio requests made, such as "GET tasks, POST
// channel", with the status of any that failed.
func flexCalls(reqs []flextest.Request) string {
	if len(reqs) == 0 {
		return "none"
	}
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.Method + " " + resourceName(r.Path)
		if r.Status/100 != 2 {
			parts[i] += " (" + strconv.Itoa(r.Status) + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// resourceName names the Twilio resource a path addresses.
func resourceName(p string) string {
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(seg) == 5 && seg[1] == "Interactions" && seg[3] == "Channels":
		return "channel"
	case len(seg) == 4 && seg[1] == "Workspaces" && seg[3] == "Tasks":
		return "tasks"
	case len(seg) == 5 && seg[1] == "Workspaces" && seg[3] == "Tasks":
		return "task"
	}
	u := url.URL{Path: p}
	return u.EscapedPath()
}

// shortSID abbreviates a SID to its prefix and last four digits: WT…f103.
func shortSID(s string) string {
	if len(s) < 8 {
		return s
	}
	return s[:2] + "…" + s[len(s)-4:]
}

// formatLatency rounds d for display: 3ms, 41ms, 1.2s.
func formatLatency(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}
