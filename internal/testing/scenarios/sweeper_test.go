package scenarios

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/sweeper"
)

// Endings of the sweeper's simulated day. None reached the webhook.
const (
	endChat   = iota // the agent ends the chat: Flex closes the channel
	leave            // Leave: inactive, waiting for the customer
	park             // parked: active with no task
	leaveLate        // Leave, then a leftover invite declined: inactive, with a close event
	declined         // orphan: a parked channel's unpark invite declined
	timedOut         // orphan: the customer wrote to a parked channel, workflow timeout
	deleted          // orphan: the live task deleted through the API
	failed           // interaction creation failed
	// declinedThenPark: an invite declined while the agent works the task
	// (a declined transfer), then, a minute later, Park: active with no
	// task, and an earlier close event that the Park supersedes.
	declinedThenPark
	endings
)

// daySchedule is the order endings repeat in: mostly conversations to
// leave alone, so that the day has more than one page (200) of
// task.system-deleted events for fewer closes.
var daySchedule = []int{endChat, leave, park, declined, park, endChat, timedOut, leave, leaveLate, park, deleted, failed, declinedThenPark}

// conversation plays one conversation of the day, ending in kind.
func conversation(t *testing.T, tw *flextest.Server, fl flextest.Flows, kind int) flextest.Channel {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ch, task := fl.Start(flextest.Channel{})
	switch kind {
	case endChat:
		check(fl.AgentEndsChat(task.SID))
	case leave:
		check(fl.Leave(task.SID))
	case park:
		check(fl.Park(task.SID))
	case leaveLate:
		invite := tw.AddChannelTask(ws, ch, flextest.TaskReserved)
		check(fl.Leave(task.SID))
		check(fl.DeclineInvite(invite.SID))
	case declined:
		check(fl.Park(task.SID))
		invite, err := fl.Unpark(ch.InteractionSID, ch.SID)
		check(err)
		check(fl.DeclineInvite(invite.SID))
	case timedOut:
		check(fl.Park(task.SID))
		next, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
		check(err)
		check(fl.WorkflowTimeout(next.SID))
	case deleted:
		check(fl.DeleteTask(task.SID))
	case failed:
		check(fl.FailChannel(ch.InteractionSID, ch.SID))
	case declinedThenPark:
		invite := tw.AddChannelTask(ws, ch, flextest.TaskReserved)
		check(fl.DeclineInvite(invite.SID))
		tw.Advance(time.Minute)
		check(fl.Park(task.SID))
	}
	return ch
}

// TestSweeperDay runs the sweeper binary under the emulator over a
// simulated day whose events never reached the webhook, every ended task
// already deleted by TaskRouter: the orphans end closed, once each; Leave,
// Park (also a Park after a declined invite) and failed channels are never
// updated.
func TestSweeperDay(t *testing.T) {
	b := build(t)
	tw := flextest.New(flextest.Options{AccountSID: samples.AccountSID, Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})
	fl := tw.Flows(ws)
	const n = 192
	var chans [endings][]flextest.Channel
	now := time.Now()
	tw.SetNow(now.Add(-24 * time.Hour))
	for i := range n {
		tw.Advance(7 * time.Minute)
		k := daySchedule[i%len(daySchedule)]
		chans[k] = append(chans[k], conversation(t, tw, fl, k))
	}
	tw.SetNow(now) // retention has deleted every ended task
	if got := len(tw.Tasks(ws)); got != 0 {
		t.Fatalf("%d tasks still listed, want none: the sweeper must work from events", got)
	}
	systemDeleted := 0
	for _, e := range tw.Events(ws) {
		if e.Type == "task.system-deleted" {
			systemDeleted++
		}
	}
	if systemDeleted <= 200 {
		t.Fatalf("%d task.system-deleted events: want more than one page (200)", systemDeleted)
	}
	tw.SetNow(time.Now()) // the sweeper's clock: the day ended 1.6 hours ago
	tw.Reset()

	twSrv := httptest.NewServer(tw)
	defer twSrv.Close()
	sm := secretstest.New()
	sm.Put("flexhook/local", samples.SecretJSON())
	smSrv := httptest.NewServer(sm)
	defer smSrv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := &emulator.Output{}
	fn, err := emulator.Start(ctx, emulator.Options{Bootstrap: b.sweeper, Timeout: 90 * time.Second, Stdout: out, Env: []string{
		"TWILIO_SECRET_ID=flexhook/local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smSrv.URL,
		"AWS_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=flexhook-sweeper",
		"TWILIO_API_BASE_URL=" + twSrv.URL,
		"TASKROUTER_WORKSPACE_SID=" + ws,
		"SWEEP_LOOKBACK=25h", // the default close events
		"CLOSE_STATUS=closed",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	event := `{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"` + time.Now().UTC().Format(time.RFC3339) + `","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/sweep"],"detail":{}}`
	res, err := fn.Invoke(ctx, []byte(event))
	if err != nil || res.Failed() {
		t.Fatalf("invoke: %v %s %s\n%s", err, res.ErrorMessage, res.Payload, tail(out.String(), 20))
	}
	var rep sweeper.Report
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		t.Fatalf("report %s: %v", res.Payload, err)
	}

	want := map[int]string{endChat: "closed", leave: "inactive", park: "active", leaveLate: "inactive",
		declined: "closed", timedOut: "closed", deleted: "closed", failed: "failed", declinedThenPark: "active"}
	orphans := 0
	for kind, status := range want {
		closes := 0
		if kind == declined || kind == timedOut || kind == deleted {
			closes = 1
			orphans += len(chans[kind])
		}
		for _, ch := range chans[kind] {
			c, _ := tw.Channel(ch.InteractionSID, ch.SID)
			if c.Status != status || tw.CloseCount(ch.SID) != closes {
				t.Fatalf("ending %d: channel %s after %d closes, want %s after %d", kind, c.Status, tw.CloseCount(ch.SID), status, closes)
			}
		}
	}
	// The exact Twilio calls: the Events pages, then per channel with a
	// closing event one look, and for an active one the live-task guard
	// and the update.
	var looks, guards, updates, other int
	pages := map[string]int{}
	for _, r := range tw.Requests() {
		switch callName(r) {
		case "GET events":
			pages[r.Query.Get("EventType")]++
		case getChannel:
			looks++
		case getTasks:
			guards++
		case postChannel:
			updates++
		default:
			other++
			t.Errorf("unexpected call %s %s", r.Method, r.Path)
		}
	}
	looked := orphans + len(chans[leaveLate]) + len(chans[failed])
	if looks != looked || guards != orphans || updates != orphans || other != 0 {
		t.Errorf("calls: %d looks, %d live-task guards, %d updates; want %d, %d, %d", looks, guards, updates, looked, orphans, orphans)
	}
	// Every page of the 4 default close event types and of the 2 task
	// event types the sweeper reads to find superseded close events (200
	// events a page; an empty walk reads one page).
	kept := map[string]int{}
	for _, e := range tw.Events(ws) {
		kept[e.Type]++
	}
	for _, typ := range []string{"task.canceled", "workflow.timeout", "task.deleted", "task.system-deleted", "task.created", "task.completed"} {
		if want := max(1, (kept[typ]+199)/200); pages[typ] != want {
			t.Errorf("%d Events pages of %s for %d events, want %d", pages[typ], typ, kept[typ], want)
		}
	}
	if len(pages) != 6 || pages["task.system-deleted"] < 2 {
		t.Errorf("Events pages by type %v: want 6 types, more than one page of task.system-deleted", pages)
	}
	if rep.Outcomes["closed"] != orphans || len(rep.Outcomes) != 1 || rep.Open != orphans || rep.Channels != looked ||
		rep.Left["inactive"] != len(chans[leaveLate]) || rep.Left["failed"] != len(chans[failed]) || rep.Truncated ||
		rep.Ignored["task_already_ended"] != systemDeleted || rep.Ignored[sweeper.ReasonSuperseded] != len(chans[declinedThenPark]) ||
		len(chans[declinedThenPark]) == 0 || rep.TaskEvents != kept["task.created"]+kept["task.completed"] {
		t.Errorf("report: %+v", rep)
	}
	if !strings.Contains(out.String(), `"message":"sweep"`) {
		t.Errorf("no sweep summary line:\n%s", tail(out.String(), 20))
	}
}
