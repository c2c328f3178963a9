package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/sweeper"
)

// sweepWorld is a workspace in the Twilio simulator whose last 40 minutes
// left orphaned, busy, finished, left (Flex Leave) and fresh channels, and
// the sweeper function's environment for it.
type sweepWorld struct {
	twilio                        *flextest.Server
	env                           map[string]string
	orphan, transferred, finished flextest.Channel
	fresh, canceled, left         flextest.Channel
}

func newSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	w := &sweepWorld{twilio: flextest.New(flextest.Options{AccountSID: samples.AccountSID,
		Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})}
	ws := samples.WorkspaceSID
	fl := w.twilio.Flows(ws)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	at := func(ago time.Duration) { w.twilio.SetNow(now.Add(-ago)) }
	// declineExtra invites a second agent to ch, who declines: task.canceled.
	declineExtra := func(ch flextest.Channel) {
		extra := w.twilio.AddChannelTask(ws, ch, flextest.TaskReserved)
		must(fl.DeclineInvite(extra.SID))
	}
	at(35 * time.Minute)
	var t0 flextest.Task
	w.orphan, t0 = fl.Start(flextest.Channel{})
	must(fl.Park(t0.SID))
	invite, err := fl.Unpark(w.orphan.InteractionSID, w.orphan.SID)
	must(err)
	must(fl.DeclineInvite(invite.SID)) // an unpark invite declined: orphan
	at(30 * time.Minute)
	var t1 flextest.Task
	w.canceled, t1 = fl.Start(flextest.Channel{})
	must(fl.Park(t1.SID))
	next, err := fl.CustomerMessage(w.canceled.InteractionSID, w.canceled.SID)
	must(err)
	must(fl.WorkflowTimeout(next.SID)) // no agent took the customer's message: orphan
	at(25 * time.Minute)
	w.transferred, _ = fl.Start(flextest.Channel{})
	declineExtra(w.transferred) // the first agent still works it
	at(20 * time.Minute)
	var t3 flextest.Task
	w.finished, t3 = fl.Start(flextest.Channel{})
	declineExtra(w.finished)
	must(fl.AgentEndsChat(t3.SID))
	at(15 * time.Minute)
	var t4 flextest.Task
	w.left, t4 = fl.Start(flextest.Channel{})
	declineExtra(w.left)
	must(fl.Leave(t4.SID)) // inactive, waiting for the customer
	at(10 * time.Second)
	var t5 flextest.Task
	w.fresh, t5 = fl.Start(flextest.Channel{})
	must(fl.DeleteTask(t5.SID)) // the webhook's
	at(0)

	tw := httptest.NewServer(w.twilio)
	t.Cleanup(tw.Close)
	sm := secretstest.New()
	sm.Put("flexhook/local", samples.SecretJSON())
	smSrv := httptest.NewServer(sm)
	t.Cleanup(smSrv.Close)
	localAWS(t, map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": smSrv.URL})
	w.env = map[string]string{
		"TWILIO_SECRET_ID":         "flexhook/local",
		"TASKROUTER_WORKSPACE_SID": ws,
		"TWILIO_API_BASE_URL":      tw.URL,
		"TASKROUTER_CLOSE_EVENTS":  "task.canceled,workflow.timeout,task.deleted",
		"LOG_LEVEL":                "warn",
	}
	return w
}

func (w *sweepWorld) status(ch flextest.Channel) string {
	c, _ := w.twilio.Channel(ch.InteractionSID, ch.SID)
	return c.Status
}

// flexhook sweep runs the sweeper once with the sweeper function's
// environment: the dry run changes nothing and prints the requests it
// would send; the real run closes the orphans and leaves the channel with a
// live task, the closed one and the one whose task just ended.
func TestSweepCommand(t *testing.T) {
	w := newSweepWorld(t)
	code, stdout, stderr := cli(t, "", w.env, "sweep", "--dry-run")
	if code != exitOK {
		t.Fatalf("sweep --dry-run exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"(dry run: no channel is updated)", "outcomes: dry_run 2, skipped_live_task 1",
		"left alone: closed 1, inactive 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if line := lineWith(stdout, w.orphan.SID); !strings.Contains(line, "dry_run") ||
		!strings.Contains(line, "not sent (dry run): UpdateInteractionChannel "+w.orphan.InteractionSID+"/"+w.orphan.SID+` Status=closed Routing={"status":"closed"}`) {
		t.Errorf("dry run line for the orphan = %q", line)
	}
	for _, ch := range []flextest.Channel{w.orphan, w.canceled, w.transferred, w.fresh} {
		if got := w.status(ch); got != flextest.ChannelActive {
			t.Errorf("the dry run changed channel %s to %s", ch.SID, got)
		}
	}
	if n := w.twilio.Count("POST", "/"); n != 0 {
		t.Errorf("the dry run sent %d POSTs to Twilio", n)
	}

	code, stdout, stderr = cli(t, "", w.env, "sweep", "--json")
	var rep sweeper.Report
	if code != exitOK || json.Unmarshal([]byte(stdout), &rep) != nil {
		t.Fatalf("sweep --json exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	want := map[string]int{"closed": 2, "skipped_live_task": 1}
	if len(rep.Outcomes) != len(want) || rep.Outcomes["closed"] != 2 || rep.Outcomes["skipped_live_task"] != 1 {
		t.Errorf("sweep outcomes = %v, want %v", rep.Outcomes, want)
	}
	for ch, want := range map[flextest.Channel]string{w.orphan: "closed", w.canceled: "closed", w.transferred: "active",
		w.finished: "closed", w.left: "inactive", w.fresh: "active"} {
		if got := w.status(ch); got != want {
			t.Errorf("channel %s is %s after the sweep, want %s", ch.SID, got, want)
		}
	}

	// Nothing is left to do: a second sweep finds no open orphan.
	code, stdout, _ = cli(t, "", w.env, "sweep")
	if code != exitOK || !strings.Contains(stdout, "outcomes: skipped_live_task 1") {
		t.Errorf("second sweep exited %d:\n%s", code, stdout)
	}
}

func TestSweepCommandFailures(t *testing.T) {
	w := newSweepWorld(t)
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		fault      *flextest.Fault
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no workspace", env: map[string]string{"TASKROUTER_WORKSPACE_SID": ""}, wantCode: exitUsage, wantStderr: "TASKROUTER_WORKSPACE_SID is required"},
		{name: "no secret", env: map[string]string{"TWILIO_SECRET_ID": ""}, wantCode: exitUsage, wantStderr: "TWILIO_SECRET_ID"},
		{name: "bad flag value", args: []string{"--max-closes", "0"}, wantCode: exitUsage, wantStderr: "--max-closes"},
		{name: "Twilio refuses the closes", fault: &flextest.Fault{Method: "POST", Status: 400, Code: 45359, Message: "Failed to close Channel."},
			wantCode: exitFailure, wantStdout: "failed 2"},
		{name: "Twilio cannot list events", fault: &flextest.Fault{Method: "GET", Path: "/v1/Workspaces", Status: 403, Code: 20003, Message: "Forbidden"},
			wantCode: exitFailure, wantStderr: "list events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range w.env {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.fault != nil {
				w.twilio.Inject(*tt.fault)
				defer w.twilio.ClearFaults()
			}
			code, stdout, stderr := cli(t, "", env, append([]string{"sweep"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("flexhook sweep %q exited %d, want %d with stdout %q and stderr %q\nstdout: %s\nstderr: %s",
					tt.args, code, tt.wantCode, tt.wantStdout, tt.wantStderr, stdout, stderr)
			}
		})
	}
}
