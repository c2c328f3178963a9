package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/samples"
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
		"taskrouter-task-canceled":              "close",
		"taskrouter-task-completed-transferred": "close", // the live-task look-up decides at run time
		"taskrouter-task-completed":             "close",
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
