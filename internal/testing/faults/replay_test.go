package faults

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
)

var replayEvents = flag.Int("faults.events", 10000, "how many events the replay sends")

// The replay: thousands of TaskRouter events — the lifecycles of many
// Interaction Channels' tasks, interleaved, 30 % of them sent again — go
// through the webhook into the close queue while the worker drains it, with
// 10 % of Twilio's answers failed (429, 503, 502) and a few channels whose
// closes Twilio refuses (400) or throttles for good (429). Then, for every
// unique close event and every channel, what must hold: Flex close effects
// equal the channels that must close, each once; no close event lost (each
// is done, failed for good with a reason, or in the dead-letter queue); no
// close while another task of the channel was live.
func TestReplay(t *testing.T) {
	plan := NewPlan(PlanOptions{Events: *replayEvents, DuplicateShare: 0.3, Seed: 2026, Account: samples.AccountSID, Workspace: ws})
	spare := map[string]bool{}
	for _, c := range plan.Channels {
		if c.Kind == Refused || c.Kind == Throttled {
			spare[c.ChannelSID] = true
		}
	}
	var flaky *FlakyTwilio
	// MaxReceiveCount is the template's default, 8. With 5 (its minimum), a job
	// of a handled channel whose deliveries drew an injected failure five
	// times running went to the dead-letter queue about once in fifty runs
	// (seen in CI): rare bad luck, not a lost close, but not the story's end.
	s := newStack(t, stackOptions{MaxReceiveCount: 8, WorkerTimeout: 30 * time.Second, Visibility: 35 * time.Second,
		Twilio: func(sim *flextest.Server) http.Handler {
			flaky = NewFlakyTwilio(sim, FlakyOptions{Share: 0.10, Seed: 7, Spare: func(p string) bool {
				i := strings.LastIndex(p, "/")
				return spare[p[i+1:]]
			}})
			return flaky
		}})
	for _, c := range plan.Channels {
		s.twilio.AddChannel(flextest.Channel{InteractionSID: c.InteractionSID, SID: c.ChannelSID, Type: "chat", Status: flextest.ChannelActive})
		path := "/v1/Interactions/*/Channels/" + c.ChannelSID
		switch c.Kind {
		case Refused:
			s.twilio.Inject(flextest.Fault{Method: http.MethodPost, Path: path, Status: 400, Code: 45359, Message: "Failed to close Channel. Invalid status parameter."})
		case Throttled:
			f := flextest.RateLimited(time.Minute, 0)
			f.Method, f.Path = http.MethodPost, path
			s.twilio.Inject(f)
		}
	}

	fig := Figures{Events: len(plan.Sends), Duplicates: plan.Duplicates(), CloseEvents: plan.CloseEvents(), Channels: len(plan.Channels),
		ByKind: map[Kind]int{}, MustClose: plan.MustClose(), Answers: map[int]int{}, Webhook: map[string]int{}, Jobs: map[string]int{}}
	for _, c := range plan.Channels {
		fig.ByKind[c.Kind]++
	}
	lives := map[string]*Life{}
	payloads := make([][]byte, len(plan.Events))
	stop := s.runWorker()
	start := time.Now()
	for _, snd := range plan.Sends {
		e := plan.Events[snd.Event]
		if !snd.Duplicate {
			s.apply(flaky, plan, e, lives)
			form := plan.Form(e)
			form.Set("TimestampMs", strconv.FormatInt(time.Now().UnixMilli(), 10))
			payloads[snd.Event] = s.signedEvent(form, e.Token)
		}
		r := s.send(payloads[snd.Event])
		fig.Answers[r.Status]++
		for tries := 1; !snd.Duplicate && r.Status == http.StatusServiceUnavailable && tries < 5; tries++ {
			fig.Resent++
			r = s.send(payloads[snd.Event])
			fig.Answers[r.Status]++
		}
		switch {
		case r.Status == http.StatusNoContent:
		case snd.Duplicate && (r.Status == http.StatusServiceUnavailable || r.Status == http.StatusBadGateway):
			// A copy of an event being processed (503 with Retry-After:
			// TaskRouter retries no 4xx), or of one Twilio refused for
			// good (502, the recorded failure).
		default:
			t.Fatalf("event %s of %s (duplicate %v) answered %d %s", e.Type, plan.Channels[e.Channel].ChannelSID, snd.Duplicate, r.Status, r.Body)
		}
	}
	fig.Send = time.Since(start)
	drained := time.Now()
	s.eventually(5*time.Minute, "the close queue drained", s.queueEmpty)
	fig.Drain = time.Since(drained)
	fig.Invocations = stop().Invocations

	problems := s.verifyReplay(plan, flaky, lives, &fig)
	report("\nfaults: replay of %d events through the webhook and the worker under the Lambda emulator (goaws, dynalite, Twilio simulator):\n", fig.Events)
	var b strings.Builder
	if err := fig.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	report("%s\n", b.String())
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more", len(problems)-i)
			break
		}
		t.Error(p)
	}
	if !fig.OK() {
		t.Errorf("replay checks failed:\n%s", b.String())
	}
}

// apply makes the simulated world what e says — a task created, or its
// status changed — before e is sent, as TaskRouter does, and records the
// task's life on the timeline.
func (s *stack) apply(flaky *FlakyTwilio, plan Plan, e Event, lives map[string]*Life) {
	s.t.Helper()
	ch := plan.Channels[e.Channel]
	task := ch.Tasks[e.Task]
	var err error
	seq := flaky.Do(func() {
		if e.Type == "task.created" {
			s.twilio.AddTask(flextest.Task{SID: task.SID, WorkspaceSID: plan.Workspace, AssignmentStatus: e.Status,
				Attributes: task.Attributes, TaskChannelUniqueName: "chat"})
			return
		}
		err = s.twilio.SetTaskStatus(plan.Workspace, task.SID, e.Status)
	})
	if err != nil {
		s.t.Fatalf("set task %s %s: %v", task.SID, e.Status, err)
	}
	switch e.Status {
	case flextest.TaskPending:
		lives[task.SID] = &Life{TaskSID: task.SID, ChannelSID: ch.ChannelSID, Start: seq}
	case flextest.TaskCompleted, flextest.TaskCanceled:
		lives[task.SID].End = seq
	}
}

// verifyReplay checks every close event and every channel, fills in the
// figures and returns what is wrong.
func (s *stack) verifyReplay(plan Plan, flaky *FlakyTwilio, lives map[string]*Life, fig *Figures) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var problems []string
	dlq := map[string]bool{}
	for {
		msgs, err := s.q.Receive(ctx, s.sqs.DLQURL(), sqsreceive.ReceiveOptions{Max: sqsreceive.MaxBatch, Wait: time.Second, Visibility: time.Minute})
		if err != nil {
			s.t.Fatalf("read the dead-letter queue: %v", err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			fig.DeadLetters++
			if dm, err := closejob.DecodeMessage(m.Body); err == nil {
				dlq[dm.Key] = true
			} else {
				problems = append(problems, fmt.Sprintf("dead-letter message %s is not a close job: %v", m.ID, err))
			}
		}
	}

	// Every unique close event: done, failed for good with a reason, or
	// waiting in the dead-letter queue.
	outcomesByChannel := map[int][]string{}
	for _, e := range plan.Events {
		if !e.Closes {
			continue
		}
		key := plan.Key(e)
		rec, err := s.store.Get(ctx, key)
		switch {
		case err == nil && rec.Status == idempotency.StatusDone:
			var d struct {
				Failure string `json:"failure"`
			}
			_ = json.Unmarshal([]byte(rec.Detail), &d)
			if rec.Outcome == closejob.OutcomeFailedPermanent {
				if d.Failure == "" {
					fig.Lost++
					problems = append(problems, fmt.Sprintf("close event %s: failed_permanent without a reason", key))
					continue
				}
				fig.FailedPermanent++
			}
			outcomesByChannel[e.Channel] = append(outcomesByChannel[e.Channel], rec.Outcome)
		case dlq[key]:
			outcomesByChannel[e.Channel] = append(outcomesByChannel[e.Channel], "dead-letter")
		case err == nil || errors.Is(err, idempotency.ErrNotFound):
			fig.Lost++
			problems = append(problems, fmt.Sprintf("close event %s (%s, %s): lost — record %+v, not in the dead-letter queue", key, e.Type, plan.Channels[e.Channel].Kind, rec))
		default:
			s.t.Fatalf("read the table: %v", err)
		}
	}

	// Every channel ends as its story says.
	for i, c := range plan.Channels {
		got, _ := s.twilio.Channel(c.InteractionSID, c.ChannelSID)
		n := s.twilio.CloseCount(c.ChannelSID)
		fig.CloseEffects += n
		if n > 1 {
			fig.ClosedTwice++
		}
		outs := outcomesByChannel[i]
		wantStatus, wantCloses := flextest.ChannelActive, 0
		if c.Kind.MustClose() {
			wantStatus, wantCloses = flextest.ChannelClosed, 1
		}
		var want string
		switch c.Kind {
		case Handled, Abandoned:
			want = "closed"
		case Transferred:
			// Whichever job comes first after both tasks ended closes the
			// channel; the other finds it closed (Twilio answers a repeated
			// close 200, so its outcome is closed too, with no effect), or
			// came while the other task was live.
			want = "closed, with already_closed or skipped_live_task"
			if len(outs) == 2 && count(outs, "closed") >= 1 && count(outs, "closed")+count(outs, "already_closed")+count(outs, "skipped_live_task") == 2 {
				want = ""
			}
		case InTransfer:
			want = "skipped_live_task"
		case Refused:
			want = closejob.OutcomeFailedPermanent
		case Throttled:
			want = "dead-letter"
		}
		if want != "" && !(len(outs) == 1 && outs[0] == want) {
			problems = append(problems, fmt.Sprintf("channel %s (%s): close events ended %v, want %s", c.ChannelSID, c.Kind, outs, want))
			fig.WrongState++
		} else if got.Status != wantStatus || n != wantCloses {
			problems = append(problems, fmt.Sprintf("channel %s (%s): %s after %d close effects, want %s after %d", c.ChannelSID, c.Kind, got.Status, n, wantStatus, wantCloses))
			fig.WrongState++
		}
	}

	var all []Life
	for _, l := range lives {
		all = append(all, *l)
	}
	live := LiveCloses(flaky.Closes(), all)
	fig.LiveCloses = len(live)
	for _, c := range live {
		problems = append(problems, "closed while another task was live: "+c.String())
	}

	st := flaky.Stats()
	fig.TwilioRequests, fig.Injected = st.Requests, st.Injected
	for _, r := range s.twilio.Requests() {
		if r.Fault && r.Status == http.StatusBadRequest {
			fig.Refusals++
		}
	}
	messages := map[string]bool{}
	for _, l := range lines(s.workerLogs, "job") {
		fig.Jobs[l.Outcome]++
		if l.Replayed {
			fig.Replayed++
		}
		messages[l.MessageID] = true
	}
	fig.Messages = len(messages)
	for _, l := range lines(s.webhookLogs, "request") {
		o := l.Outcome
		if l.Replayed {
			o += " (replayed)"
		}
		fig.Webhook[o]++
		if l.Outcome == "queued" {
			fig.Queued++
		}
	}
	return problems
}

func count(ss []string, s string) int {
	n := 0
	for _, v := range ss {
		if v == s {
			n++
		}
	}
	return n
}
