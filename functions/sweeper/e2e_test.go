package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/sweeper"
)

// The sweeper's built bootstrap under the Lambda emulator, invoked with an
// EventBridge scheduled event as Lambda would, against the Twilio and
// Secrets Manager stand-ins.
func TestSweepUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test under the Lambda emulator; skipped with -short")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := emulator.Build(ctx, "./functions/sweeper", dir)
	if err != nil {
		t.Fatal(err)
	}
	tw := flextest.New(flextest.Options{AccountSID: samples.AccountSID, Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})
	fl := tw.Flows(samples.WorkspaceSID)
	// Thirty minutes ago: an orphan whose live task was deleted through the
	// API, and a conversation whose declined extra invite leaves its first
	// agent's task live. Both tasks are long gone from the task list.
	tw.SetNow(time.Now().Add(-30 * time.Minute))
	orphan, task := fl.Start(flextest.Channel{})
	if err := fl.DeleteTask(task.SID); err != nil {
		t.Fatal(err)
	}
	transferred, _ := fl.Start(flextest.Channel{})
	if err := fl.DeclineInvite(tw.AddChannelTask(samples.WorkspaceSID, transferred, "reserved").SID); err != nil {
		t.Fatal(err)
	}
	tw.SetNow(time.Now())
	twSrv := httptest.NewServer(tw)
	defer twSrv.Close()
	sm := secretstest.New()
	sm.Put("flexhook/local", samples.SecretJSON())
	smSrv := httptest.NewServer(sm)
	defer smSrv.Close()

	var out emulator.Output
	fn, err := emulator.Start(ctx, emulator.Options{Bootstrap: bin, Timeout: 60 * time.Second, Stdout: &out, Env: []string{
		"TWILIO_SECRET_ID=flexhook/local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smSrv.URL,
		"TWILIO_API_BASE_URL=" + twSrv.URL,
		"TASKROUTER_WORKSPACE_SID=" + samples.WorkspaceSID,
		"SWEEP_LOOKBACK=2h", // the default close events: task.deleted and task.canceled are walked
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	event := `{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"` + time.Now().UTC().Format(time.RFC3339) + `","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/sweep"],"detail":{}}`
	res, err := fn.Invoke(ctx, []byte(event))
	if err != nil || res.Failed() {
		t.Fatalf("invoke: %v %s %s\n%s", err, res.ErrorMessage, res.Payload, out.String())
	}
	var rep sweeper.Report
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		t.Fatalf("report %s: %v", res.Payload, err)
	}
	if rep.Outcomes["closed"] != 1 || rep.Outcomes["skipped_live_task"] != 1 {
		t.Errorf("report = %+v", rep)
	}
	if ch, _ := tw.Channel(orphan.InteractionSID, orphan.SID); ch.Status != "closed" {
		t.Errorf("orphan channel %s, want closed", ch.Status)
	}
	if ch, _ := tw.Channel(transferred.InteractionSID, transferred.SID); ch.Status != "active" {
		t.Errorf("channel with a live task %s, want active", ch.Status)
	}
	if !strings.Contains(out.String(), `"message":"sweep"`) || strings.Contains(out.String(), samples.AuthToken) {
		t.Errorf("sweeper output:\n%s", out.String())
	}
}

// A missing workspace fails the cold start with the variable named.
func TestNewHandlerNeedsWorkspace(t *testing.T) {
	_, err := dependencies.Build(context.Background(), "sweeper", func(k string) string {
		return map[string]string{"TWILIO_SECRET_ID": "x"}[k]
	}, config.LoadSweeper, newHandler)
	if err == nil || !strings.Contains(err.Error(), "TASKROUTER_WORKSPACE_SID") {
		t.Errorf("newHandler without a workspace = %v", err)
	}
}
