package flextest_test

import (
	"strings"
	"testing"
	"time"

	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

func TestUpdateChannelTransitions(t *testing.T) {
	tests := []struct {
		name       string
		repeat     flextest.RepeatClose
		from       string
		status     string
		routing    bool
		wantErr    int // Twilio error code; 0 for success
		wantStatus string
		wantCloses int
	}{
		{name: "active to closed", from: "active", status: "closed", wantStatus: "closed", wantCloses: 1},
		{name: "active to closed with routing", from: "active", status: "closed", routing: true, wantStatus: "closed", wantCloses: 1},
		{name: "active to inactive with routing", from: "active", status: "inactive", routing: true, wantStatus: "inactive", wantCloses: 1},
		{name: "setup to closed", from: "setup", status: "closed", wantStatus: "closed", wantCloses: 1},
		{name: "setup to inactive", from: "setup", status: "inactive", routing: true, wantStatus: "inactive", wantCloses: 1},
		{name: "transfer to closed", from: "transfer", status: "closed", wantStatus: "closed", wantCloses: 1},
		{name: "pause to closed", from: "pause", status: "closed", wantStatus: "closed", wantCloses: 1},
		{name: "inactive to closed", from: "inactive", status: "closed", routing: true, wantStatus: "closed", wantCloses: 1},
		{name: "pause to inactive", from: "pause", status: "inactive", routing: true, wantErr: 45359, wantStatus: "pause"},
		{name: "failed to closed", from: "failed", status: "closed", wantErr: 45359, wantStatus: "failed"},
		{name: "failed to inactive", from: "failed", status: "inactive", routing: true, wantErr: 45359, wantStatus: "failed"},
		{name: "closed again is ok", from: "closed", status: "closed", wantStatus: "closed"},
		{name: "closed again with routing is ok", from: "closed", status: "closed", routing: true, wantStatus: "closed"},
		{name: "closed to inactive is ok", from: "closed", status: "inactive", routing: true, wantStatus: "closed"},
		{name: "inactive again is ok", from: "inactive", status: "inactive", routing: true, wantStatus: "inactive"},
		{name: "closed again is an error", repeat: flextest.RepeatCloseError, from: "closed", status: "closed", wantErr: 45359, wantStatus: "closed"},
		{name: "inactive again is an error", repeat: flextest.RepeatCloseError, from: "inactive", status: "inactive", routing: true, wantErr: 45359, wantStatus: "inactive"},
		{name: "inactive to closed under error mode", repeat: flextest.RepeatCloseError, from: "inactive", status: "closed", wantStatus: "closed", wantCloses: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *flextest.Options) { o.RepeatClose = tt.repeat })
			ch := f.fake.AddChannel(flextest.Channel{Status: tt.from})

			got, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams(tt.status, tt.routing))
			if tt.wantErr != 0 {
				te := restError(t, err)
				if te.Status != 400 || te.Code != tt.wantErr {
					t.Errorf("UpdateInteractionChannel(%s, Status=%s) = %d/%d, want 400/%d", tt.from, tt.status, te.Status, te.Code, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("UpdateInteractionChannel(%s, Status=%s) error: %v", tt.from, tt.status, err)
				}
				if s := deref(got.Status); s != tt.wantStatus {
					t.Errorf("UpdateInteractionChannel(%s, Status=%s).Status = %q, want %q", tt.from, tt.status, s, tt.wantStatus)
				}
			}
			if stored, _ := f.fake.Channel(ch.InteractionSID, ch.SID); stored.Status != tt.wantStatus {
				t.Errorf("stored status after %s→%s = %q, want %q", tt.from, tt.status, stored.Status, tt.wantStatus)
			}
			if n := f.fake.CloseCount(ch.SID); n != tt.wantCloses {
				t.Errorf("CloseCount after %s→%s = %d, want %d", tt.from, tt.status, n, tt.wantCloses)
			}
		})
	}
}

func TestUpdateChannelRepeatCloseErrorMessage(t *testing.T) {
	f := newFixture(t, func(o *flextest.Options) { o.RepeatClose = flextest.RepeatCloseError })
	ch := f.fake.AddChannel(flextest.Channel{Status: "closed"})
	_, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", false))
	te := restError(t, err)
	if !strings.Contains(te.Message, "already closed") {
		t.Errorf("repeat close message = %q, want it to say the channel is already closed", te.Message)
	}
}

func TestUpdateChannelParameterErrors(t *testing.T) {
	tests := []struct {
		name       string
		params     *flexv1.UpdateInteractionChannelParams
		wantStatus int
		wantCode   int
	}{
		{"missing status", &flexv1.UpdateInteractionChannelParams{}, 400, 45358},
		{"empty status", (&flexv1.UpdateInteractionChannelParams{}).SetStatus(""), 400, 45358},
		{"unknown status", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("open"), 400, 45359},
		{"status active", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("active"), 400, 45359},
		{"status in upper case", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("CLOSED"), 400, 45359},
		{"inactive without routing", closeParams("inactive", false), 400, 20001},
		{"routing other status", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed").SetRouting(map[string]any{"status": "open"}), 400, 20001},
		{"routing extra key", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed").SetRouting(map[string]any{"status": "closed", "reason": "x"}), 400, 20001},
		{"routing array", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").SetRouting([]string{"closed"}), 400, 20001},
		// A string is JSON-marshalled by twilio-go, so the JSON arrives quoted.
		{"routing as a JSON string", (&flexv1.UpdateInteractionChannelParams{}).SetStatus("inactive").SetRouting(`{"status":"closed"}`), 400, 20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ch := f.fake.AddChannel(flextest.Channel{})
			_, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, tt.params)
			te := restError(t, err)
			if te.Status != tt.wantStatus || te.Code != tt.wantCode {
				t.Errorf("UpdateInteractionChannel(%s) = %d/%d, want %d/%d", tt.name, te.Status, te.Code, tt.wantStatus, tt.wantCode)
			}
			if stored, _ := f.fake.Channel(ch.InteractionSID, ch.SID); stored.Status != "active" {
				t.Errorf("status after rejected update = %q, want active", stored.Status)
			}
		})
	}
}

func TestChannelNotFound(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	other := flextest.NewSID("UO")
	tests := []struct{ name, kd, uo string }{
		{"unknown channel", ch.InteractionSID, other},
		{"channel under another interaction", flextest.NewSID("KD"), ch.SID},
		{"short interaction SID", "KD123", ch.SID},
		{"wrong channel prefix", ch.InteractionSID, "UX" + ch.SID[2:]},
		{"non-hex channel SID", ch.InteractionSID, ch.SID[:33] + "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.flex.UpdateInteractionChannel(tt.kd, tt.uo, closeParams("closed", true))
			if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
				t.Errorf("UpdateInteractionChannel(%q, %q) = %d/%d, want 404/20404", tt.kd, tt.uo, te.Status, te.Code)
			}
			_, err = f.flex.FetchInteractionChannel(tt.kd, tt.uo)
			if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
				t.Errorf("FetchInteractionChannel(%q, %q) = %d/%d, want 404/20404", tt.kd, tt.uo, te.Status, te.Code)
			}
		})
	}
}

func TestFetchInteractionChannel(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{Type: "whatsapp"})
	failed := f.fake.AddChannel(flextest.Channel{Status: "failed", ErrorCode: 19025, ErrorMessage: "Channel validation error"})

	got, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	if err != nil {
		t.Fatalf("FetchInteractionChannel error: %v", err)
	}
	wantURL := "https://flex-api.twilio.com/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	checks := []struct{ field, got, want string }{
		{"sid", deref(got.Sid), ch.SID},
		{"interaction_sid", deref(got.InteractionSid), ch.InteractionSID},
		{"type", deref(got.Type), "whatsapp"},
		{"status", deref(got.Status), "active"},
		{"url", deref(got.Url), wantURL},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("FetchInteractionChannel().%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if got.ErrorCode != nil || got.ErrorMessage != nil {
		t.Errorf("FetchInteractionChannel() error fields = %v, %v, want nil, nil", got.ErrorCode, got.ErrorMessage)
	}
	links := deref(got.Links)
	for _, name := range []string{"invites", "transfers", "participants"} {
		want := wantURL + "/" + strings.ToUpper(name[:1]) + name[1:]
		if links[name] != want {
			t.Errorf("FetchInteractionChannel().links[%q] = %v, want %q", name, links[name], want)
		}
	}

	got, err = f.flex.FetchInteractionChannel(failed.InteractionSID, failed.SID)
	if err != nil {
		t.Fatalf("FetchInteractionChannel(failed) error: %v", err)
	}
	if deref(got.ErrorCode) != 19025 || deref(got.ErrorMessage) != "Channel validation error" {
		t.Errorf("failed channel error = %v %q, want 19025 %q", deref(got.ErrorCode), deref(got.ErrorMessage), "Channel validation error")
	}
}

func TestCloseChannelTaskEffects(t *testing.T) {
	statuses := []string{"pending", "reserved", "assigned", "wrapping", "completed", "canceled"}
	tests := []struct {
		name    string
		status  string
		routing bool
		want    map[string]string // from → to
	}{
		{
			name: "closed without routing wraps up", status: "closed",
			want: map[string]string{"pending": "canceled", "reserved": "wrapping", "assigned": "wrapping",
				"wrapping": "wrapping", "completed": "completed", "canceled": "canceled"},
		},
		{
			name: "closed with routing completes", status: "closed", routing: true,
			want: map[string]string{"pending": "canceled", "reserved": "completed", "assigned": "completed",
				"wrapping": "completed", "completed": "completed", "canceled": "canceled"},
		},
		{
			name: "inactive with routing completes", status: "inactive", routing: true,
			want: map[string]string{"pending": "canceled", "reserved": "completed", "assigned": "completed",
				"wrapping": "completed", "completed": "completed", "canceled": "canceled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ch := f.fake.AddChannel(flextest.Channel{})
			other := f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID})
			tasks := map[string]flextest.Task{}
			for _, st := range statuses {
				tasks[st] = f.fake.AddChannelTask(testWS, ch, st)
			}
			bystander := f.fake.AddChannelTask(testWS, other, "assigned")
			f.clock.Advance(90 * time.Second)

			if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams(tt.status, tt.routing)); err != nil {
				t.Fatalf("UpdateInteractionChannel error: %v", err)
			}
			for _, from := range statuses {
				got, _ := f.fake.Task(testWS, tasks[from].SID)
				if got.AssignmentStatus != tt.want[from] {
					t.Errorf("task %s after close = %q, want %q", from, got.AssignmentStatus, tt.want[from])
				}
				changedToEnd := got.AssignmentStatus != from && (got.AssignmentStatus == "completed" || got.AssignmentStatus == "canceled")
				if changedToEnd && got.Reason == "" {
					t.Errorf("task %s → %s has no reason", from, got.AssignmentStatus)
				}
				if changed := got.AssignmentStatus != from; changed != got.DateUpdated.After(got.DateCreated) {
					t.Errorf("task %s → %s: DateUpdated %v after DateCreated %v = %v, want %v",
						from, got.AssignmentStatus, got.DateUpdated, got.DateCreated, !changed, changed)
				}
			}
			if got, _ := f.fake.Task(testWS, bystander.SID); got.AssignmentStatus != "assigned" {
				t.Errorf("task of another channel after close = %q, want assigned", got.AssignmentStatus)
			}
			// The fake's task endpoint shows the same state.
			wt, err := f.tr.FetchTask(testWS, tasks["assigned"].SID)
			if err != nil {
				t.Fatalf("FetchTask error: %v", err)
			}
			if deref(wt.AssignmentStatus) != tt.want["assigned"] {
				t.Errorf("FetchTask(assigned).AssignmentStatus = %q, want %q", deref(wt.AssignmentStatus), tt.want["assigned"])
			}
		})
	}
}

func TestRepeatCloseChangesNoTask(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	task := f.fake.AddChannelTask(testWS, ch, "assigned")
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", false)); err != nil {
		t.Fatalf("first close error: %v", err)
	}
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true)); err != nil {
		t.Fatalf("repeat close error: %v", err)
	}
	if got, _ := f.fake.Task(testWS, task.SID); got.AssignmentStatus != "wrapping" {
		t.Errorf("task after repeat close with routing = %q, want wrapping (unchanged)", got.AssignmentStatus)
	}
	if n := f.fake.CloseCount(ch.SID); n != 1 {
		t.Errorf("CloseCount = %d, want 1", n)
	}
}

func TestReactivateChannel(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("inactive", true)); err != nil {
		t.Fatalf("close error: %v", err)
	}
	if err := f.fake.ReactivateChannel(ch.InteractionSID, ch.SID); err != nil {
		t.Fatalf("ReactivateChannel error: %v", err)
	}
	if got, _ := f.fake.Channel(ch.InteractionSID, ch.SID); got.Status != "active" {
		t.Errorf("status after ReactivateChannel = %q, want active", got.Status)
	}
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true)); err != nil {
		t.Fatalf("second close error: %v", err)
	}
	if n := f.fake.CloseCount(ch.SID); n != 2 {
		t.Errorf("CloseCount after close, reactivate, close = %d, want 2", n)
	}
}
