package faults

import (
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// Kind is the story of one channel in a replay.
type Kind int

// The stories a replay tells.
const (
	// Handled: one task, reserved, accepted, wrapped up and completed. The
	// channel must end closed.
	Handled Kind = iota
	// Abandoned: the task is canceled before an agent accepts it. The
	// channel must end closed.
	Abandoned
	// Transferred: task A is transferred to task B, then both end. The
	// channel must end closed, once, whichever event's job closes it.
	Transferred
	// InTransfer: task A ends while task B is still being handled. The
	// channel must stay open: A's job finds B live (skipped_live_task).
	InTransfer
	// Refused: like Handled, but Twilio refuses the close with a 400. The
	// job fails for good (failed_permanent, recorded with the reason) and
	// the channel stays open.
	Refused
	// Throttled: like Handled, but Twilio answers every close of the channel
	// with 429 and a Retry-After longer than the worker's timeout. The job
	// ends in the dead-letter queue and the channel stays open.
	Throttled
)

var kindNames = []string{"handled", "abandoned", "transferred", "in transfer", "refused (400)", "throttled (429)"}

// Kinds lists every Kind, in order.
func Kinds() []Kind { return []Kind{Handled, Abandoned, Transferred, InTransfer, Refused, Throttled} }

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MustClose reports whether a channel of this kind must end closed.
func (k Kind) MustClose() bool { return k == Handled || k == Abandoned || k == Transferred }

// kindWeights are the kinds' shares of the channels, per mille.
var kindWeights = []int{560, 100, 170, 160, 6, 4}

// concurrent is how many channels' events interleave at a time.
const concurrent = 50

// minRare is the fewest Refused and Throttled channels of a plan.
const minRare = 2

// PlanOptions configure NewPlan.
type PlanOptions struct {
	// Events is how many events the replay sends, duplicates included.
	Events int
	// DuplicateShare is the share (0 to 1) of Events that repeat an event
	// sent before: half right after it, as Twilio retries a delivery, half
	// later, as a replay would.
	DuplicateShare float64
	// Seed makes the plan: the same options give the same plan.
	Seed uint64
	// Account and Workspace are the AccountSid and WorkspaceSid of the
	// events.
	Account, Workspace string
}

// Plan is a replay: channels, the unique events their stories produce, and
// the order of the sends, duplicates included.
type Plan struct {
	Account, Workspace string
	Channels           []Channel
	Events             []Event // the unique events, in the order first sent
	Sends              []Send
}

// Channel is one Interaction Channel of a plan with its tasks.
type Channel struct {
	Kind           Kind
	InteractionSID string
	ChannelSID     string
	Tasks          []Task // in creation order
}

// Task is a TaskRouter task of a plan's channel.
type Task struct {
	SID        string
	Attributes string // Flex Conversations task attributes, JSON
}

// Event is one TaskRouter event callback of a plan.
type Event struct {
	Type    string // EventType
	Channel int    // index in Plan.Channels
	Task    int    // index in the channel's Tasks
	// Status is the task's assignment status after the event, which the
	// simulated world takes before the event is sent.
	Status string
	// Token is the delivery's I-Twilio-Idempotency-Token; "" for a delivery
	// without one.
	Token string
	// Closes reports a close event (CloseEvents) of a Flex task whose
	// status agrees with it: the webhook queues a close job for it.
	Closes bool
}

// Send is one delivery of the replay.
type Send struct {
	Event     int  // index in Plan.Events
	Duplicate bool // a repeat of an event sent before
}

// step is one event of a channel's story.
type step struct {
	typ    string
	task   int
	status string
}

// story returns the events of a channel of kind k, in order.
func story(k Kind) []step {
	handle := func(task int) []step {
		return []step{
			{"reservation.created", task, flextest.TaskReserved},
			{"reservation.accepted", task, flextest.TaskAssigned},
		}
	}
	end := func(task int) []step {
		return []step{
			{"task.wrapup", task, flextest.TaskWrapping},
			{"task.completed", task, flextest.TaskCompleted},
		}
	}
	created := func(task int) step { return step{"task.created", task, flextest.TaskPending} }
	switch k {
	case Abandoned:
		return []step{created(0), {"task.canceled", 0, flextest.TaskCanceled}}
	case Transferred:
		s := append([]step{created(0)}, handle(0)...)
		s = append(s, created(1), step{"task.completed", 0, flextest.TaskCompleted})
		return append(append(s, handle(1)...), end(1)...)
	case InTransfer:
		s := append([]step{created(0)}, handle(0)...)
		s = append(s, created(1), step{"task.completed", 0, flextest.TaskCompleted})
		return append(s, handle(1)...)
	}
	s := append([]step{created(0)}, handle(0)...)
	return append(s, end(0)...)
}

// CloseEvents returns the TASKROUTER_CLOSE_EVENTS the fault suites run
// with: every close event, task.completed included, since the stories end
// tasks as an external system would.
func CloseEvents() []string { return slices.Clone(config.CloseEventTypes) }

// NewPlan makes the replay o describes.
func NewPlan(o PlanOptions) Plan {
	rng := mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x706c616e))
	dups := int(float64(o.Events)*o.DuplicateShare + 0.5)
	target := o.Events - dups
	p := Plan{Account: o.Account, Workspace: o.Workspace}
	closeEvents := CloseEvents()

	type script struct {
		channel int
		steps   []step
		next    int
	}
	var active []*script
	generated := 0
	rare := map[Kind]int{}
	newChannel := func() {
		n := len(p.Channels)
		k := Kind(draw(rng, kindWeights))
		// Every plan has a few refused and throttled channels, however
		// small: the 10th and 11th channels are refused, the 20th and 21st
		// throttled, unless the draw gave enough already.
		switch {
		case n >= 10 && n < 10+minRare && rare[Refused] < minRare:
			k = Refused
		case n >= 20 && n < 20+minRare && rare[Throttled] < minRare:
			k = Throttled
		}
		rare[k]++
		ch := Channel{Kind: k, InteractionSID: sidFrom(rng, "KD"), ChannelSID: sidFrom(rng, "UO")}
		st := story(k)
		tasks := 0
		for _, s := range st {
			tasks = max(tasks, s.task+1)
		}
		for range tasks {
			attrs, _ := json.Marshal(map[string]string{
				"flexInteractionSid": ch.InteractionSID, "flexInteractionChannelSid": ch.ChannelSID,
				"channelType": "chat", "direction": "inbound", "customerName": fmt.Sprintf("Customer %d", n),
			})
			ch.Tasks = append(ch.Tasks, Task{SID: sidFrom(rng, "WT"), Attributes: string(attrs)})
		}
		p.Channels = append(p.Channels, ch)
		active = append(active, &script{channel: n, steps: st})
		generated += len(st)
	}
	for len(active) < concurrent && generated < target {
		newChannel()
	}
	for len(active) > 0 {
		i := rng.IntN(len(active))
		sc := active[i]
		s := sc.steps[sc.next]
		sc.next++
		ev := Event{Type: s.typ, Channel: sc.channel, Task: s.task, Status: s.status, Closes: slices.Contains(closeEvents, s.typ)}
		if rng.IntN(2) == 0 {
			ev.Token = fmt.Sprintf("tr-%016x%016x", rng.Uint64(), rng.Uint64())
		}
		p.Events = append(p.Events, ev)
		if sc.next == len(sc.steps) {
			active = slices.Delete(active, i, i+1)
			if generated < target {
				newChannel()
			}
		}
	}

	// Duplicates: each repeats a random event, right after it or later.
	dups = max(o.Events-len(p.Events), 0)
	after := make([][]int, len(p.Events)) // after[i]: duplicates sent after unique send i
	for range dups {
		e := rng.IntN(len(p.Events))
		at := e
		if rng.IntN(2) == 0 {
			at = e + rng.IntN(len(p.Events)-e)
		}
		after[at] = append(after[at], e)
	}
	for i := range p.Events {
		p.Sends = append(p.Sends, Send{Event: i})
		for _, e := range after[i] {
			p.Sends = append(p.Sends, Send{Event: e, Duplicate: true})
		}
	}
	return p
}

// sidFrom returns a SID with prefix drawn from rng.
func sidFrom(rng *mrand.Rand, prefix string) string {
	return fmt.Sprintf("%s%016x%016x", prefix, rng.Uint64(), rng.Uint64())
}

// Form is the form TaskRouter posts for e, without its timestamp, which the
// sender adds.
func (p Plan) Form(e Event) url.Values {
	ch := p.Channels[e.Channel]
	t := ch.Tasks[e.Task]
	resourceType, resource := "Task", t.SID
	if e.Type == "reservation.created" || e.Type == "reservation.accepted" {
		resourceType, resource = "Reservation", "WR"+t.SID[2:]
	}
	return url.Values{
		"EventType": {e.Type}, "AccountSid": {p.Account}, "WorkspaceSid": {p.Workspace},
		"WorkspaceName": {"Flex Task Assignment"}, "EventDescription": {resourceType + " " + resource + " " + e.Type},
		"ResourceType": {resourceType}, "ResourceSid": {resource}, "TaskSid": {t.SID},
		"TaskAttributes": {t.Attributes}, "TaskAssignmentStatus": {e.Status},
		"TaskChannelUniqueName": {"chat"}, "TaskPriority": {"0"},
	}
}

// Key is the idempotency key the webhook gives e.
func (p Plan) Key(e Event) string {
	return closejob.TaskRouterKey(e.Type, p.Channels[e.Channel].Tasks[e.Task].SID)
}

// Duplicates returns how many sends repeat an earlier event.
func (p Plan) Duplicates() int { return len(p.Sends) - len(p.Events) }

// CloseEvents returns how many unique events are close events.
func (p Plan) CloseEvents() int { return countFunc(p.Events, func(e Event) bool { return e.Closes }) }

// MustClose returns how many channels must end closed.
func (p Plan) MustClose() int {
	return countFunc(p.Channels, func(c Channel) bool { return c.Kind.MustClose() })
}

// countFunc returns how many elements of s satisfy f.
func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}
