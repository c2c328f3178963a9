package preview

import (
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/local/samples"
)

func cfg(t *testing.T, env map[string]string) config.Webhook {
	env[config.EnvSecretID] = "x"
	c, err := config.LoadWebhook(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExplainSamples(t *testing.T) {
	creds := Credentials{AuthTokens: []string{samples.AuthToken}, CRMTokens: []string{samples.CRMAPIToken}, AccountSID: samples.AccountSID}
	want := map[string]string{
		"taskrouter-task-canceled": "close",
		// task.completed is opt-in (TASKROUTER_CLOSE_EVENTS default).
		"taskrouter-task-completed-transferred": "ignore",
		"taskrouter-task-completed":             "ignore",
		"taskrouter-non-flex-task":              "ignore",
		"taskrouter-bad-signature":              "reject",
		"crm-close":                             "close",
	}
	c := cfg(t, map[string]string{config.EnvWorkspaceSID: samples.WorkspaceSID})
	for _, s := range samples.All() {
		ev, err := s.Event()
		if err != nil {
			t.Fatal(err)
		}
		r := Explain(ev, c, creds, time.Now())
		if r.Decision != want[s.Name] {
			t.Errorf("%s: decision %s (%s), want %s", s.Name, r.Decision, r.Rule, want[s.Name])
		}
		if r.Decision == "close" {
			if s.Channel == nil || !strings.Contains(r.String(), s.Channel.ChannelSID) {
				t.Errorf("%s: explanation does not name the channel:\n%s", s.Name, r)
			}
			if !strings.Contains(r.Request, `Routing={"status":"closed"}`) {
				t.Errorf("%s: request %q", s.Name, r.Request)
			}
		}
	}
	// Without credentials, authentication is not judged.
	ev, _ := samples.All()[4].Event()
	if r := Explain(ev, c, Credentials{}, time.Now()); r.Decision != "close" || !strings.Contains(r.Auth, "not checked") {
		t.Errorf("bad signature without credentials: %+v", r)
	}
}

func TestExplainSettings(t *testing.T) {
	ev, _ := samples.All()[0].Event()
	r := Explain(ev, cfg(t, map[string]string{"CLOSE_STATUS": "inactive", "DRY_RUN": "true"}), Credentials{}, time.Now())
	if !strings.Contains(r.Request, "Status=inactive") || !strings.Contains(r.String(), "DRY_RUN") {
		t.Errorf("inactive dry run: %s", r)
	}
	r = Explain(ev, cfg(t, map[string]string{"CLOSE_TASKS": "wrapup", "CLOSE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q.fifo"}), Credentials{}, time.Now())
	if strings.Contains(r.Request, "Routing") || !strings.Contains(r.String(), "worker") {
		t.Errorf("wrapup in durable mode: %s", r)
	}
	r = Explain(ev, cfg(t, map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.completed"}), Credentials{}, time.Now())
	if r.Decision != "ignore" {
		t.Errorf("task.canceled with only task.completed configured: %s", r)
	}
	if r := Explain([]byte(`{}`), cfg(t, map[string]string{}), Credentials{}, time.Now()); r.Decision != "reject" {
		t.Errorf("not an event: %+v", r)
	}
}

// TestExplainRow: the report names the decision-table row used, and with
// task.completed configured the transfer sample closes, the live-task
// look-up deciding at run time.
func TestExplainRow(t *testing.T) {
	events := map[string]string{config.EnvCloseEvents: "task.canceled,task.completed", config.EnvWorkspaceSID: samples.WorkspaceSID}
	for _, tt := range []struct {
		sample, decision, row string
	}{
		{"taskrouter-task-canceled", "close", "task.canceled, workflow.timeout × task canceled → close (close_event)"},
		{"taskrouter-task-completed-transferred", "close", "task.completed × task completed → close (close_event)"},
		{"taskrouter-non-flex-task", "ignore", "task.canceled, workflow.timeout × task canceled, no Interaction Channel → ignore (not_flex_task)"},
	} {
		ev := sampleEvent(t, tt.sample)
		r := Explain(ev, cfg(t, events), Credentials{}, time.Now())
		if r.Decision != tt.decision || r.Row != tt.row || !strings.Contains(r.String(), "table row:  "+tt.row) {
			t.Errorf("%s: decision %s, row %q; want %s, %q", tt.sample, r.Decision, r.Row, tt.decision, tt.row)
		}
		if r.Decision == "close" && !strings.Contains(r.String(), "inactive → already_closed") {
			t.Errorf("%s: the look before closing is not described:\n%s", tt.sample, r)
		}
	}
	r := Explain(sampleEvent(t, "taskrouter-task-completed"), cfg(t, map[string]string{}), Credentials{}, time.Now())
	if r.Decision != "ignore" || !strings.Contains(r.Row, "event_not_configured") {
		t.Errorf("task.completed by default: %s", r)
	}
}

func sampleEvent(t *testing.T, name string) []byte {
	t.Helper()
	for _, s := range samples.All() {
		if s.Name == name {
			ev, err := s.Event()
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
	}
	t.Fatalf("no sample %s", name)
	return nil
}
