package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
)

// Notification Ids of ../crm/testdata/outbound-two.xml.
const (
	notification1 = "04l5g00000ABCDE1AA"
	notification2 = "04l5g00000ABCDE2AA"
)

// notificationLogs returns the per-notification log lines, by Id.
func (f *fixture) notificationLogs() map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "salesforce notification" {
			id, _ := m["notification_id"].(string)
			out[id] = append(out[id], m)
		}
	}
	return out
}

// Each notification of an Outbound Message is handled on its own: one that
// fails for good (or cannot be mapped, or names a missing channel) is
// acknowledged with its outcome logged under its Id and never blocks the
// others; one that may pass later keeps the message unacknowledged.
func TestSalesforceNotificationsHandledOneByOne(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the message to deliver; ch1 and ch2 are its
		// notifications' channels.
		setup      func(f *fixture, ch1, ch2 flextest.Channel) string
		deliveries int
		wantAck    bool
		wantBody   string // in the non-2xx body
		ch1, ch2   string // channel statuses after the deliveries
		posts1     int    // close requests sent for ch1
		outcome1   string // notification 1's logged outcome, last delivery
		outcome2   string
	}{
		{
			name: "a permanent Twilio refusal does not block the next notification",
			setup: func(f *fixture, ch1, ch2 flextest.Channel) string {
				f.fake.Inject(flextest.Fault{Method: http.MethodPost, Path: "/v1/Interactions/*/Channels/" + ch1.SID, Status: 400})
				return outboundMessage(t, orgID, ch1, ch2)
			},
			deliveries: 3, wantAck: true, ch1: "active", ch2: "closed", posts1: 1,
			outcome1: outcomeFailedPermanent, outcome2: "closed",
		},
		{
			name: "a record that cannot be mapped is acknowledged as invalid",
			setup: func(f *fixture, ch1, ch2 flextest.Channel) string {
				return strings.Replace(outboundMessage(t, orgID, ch1, ch2), ch2.SID, "UO-nope", 1)
			},
			deliveries: 1, wantAck: true, ch1: "closed", ch2: "active", posts1: 1,
			outcome1: "closed", outcome2: outcomeInvalid,
		},
		{
			name: "a deleted record without field data is acknowledged as invalid",
			setup: func(f *fixture, ch1, ch2 flextest.Channel) string {
				m := outboundMessage(t, orgID, ch1, ch2)
				return strings.Replace(strings.Replace(m, ch2.SID, "", 1), ch2.InteractionSID, "", 1)
			},
			deliveries: 1, wantAck: true, ch1: "closed", ch2: "active", posts1: 1,
			outcome1: "closed", outcome2: outcomeInvalid,
		},
		{
			name: "a channel Twilio does not know is a final outcome",
			setup: func(f *fixture, ch1, ch2 flextest.Channel) string {
				gone := flextest.Channel{InteractionSID: "KD" + strings.Repeat("0", 31) + "9", SID: "UO" + strings.Repeat("0", 31) + "9"}
				return outboundMessage(t, orgID, ch1, gone)
			},
			deliveries: 2, wantAck: true, ch1: "closed", ch2: "active", posts1: 1,
			outcome1: "closed", outcome2: "not_found",
		},
		{
			name: "a transient failure is not acknowledged and names its notification",
			setup: func(f *fixture, ch1, ch2 flextest.Channel) string {
				f.fake.Inject(flextest.Fault{Method: http.MethodPost, Path: "/v1/Interactions/*/Channels/" + ch2.SID, Status: 503})
				return outboundMessage(t, orgID, ch1, ch2)
			},
			deliveries: 1, wantAck: false, wantBody: "notification " + notification2 + ": ", ch1: "closed", ch2: "active", posts1: 1,
			outcome1: "closed", outcome2: outcomeFailedTransient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sourceFixture(t)
			f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
			ch1, _ := f.channel("assigned")
			ch2, _ := f.channel("assigned")
			ev := f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml; charset=utf-8", tt.setup(f, ch1, ch2), f.clock.Now())
			for i := range tt.deliveries {
				r := f.invoke(ev)
				if got := salesforceAck(r); got != tt.wantAck {
					t.Fatalf("delivery %d = %d %s, want ack %v", i+1, r.Status, r.Body, tt.wantAck)
				}
				if !tt.wantAck && (r.Status < 300 || !strings.Contains(string(r.Body), tt.wantBody)) {
					t.Errorf("delivery %d = %d %s, want a non-2xx containing %q", i+1, r.Status, r.Body, tt.wantBody)
				}
			}
			if f.status(ch1) != tt.ch1 || f.status(ch2) != tt.ch2 {
				t.Errorf("channels %s, %s; want %s, %s", f.status(ch1), f.status(ch2), tt.ch1, tt.ch2)
			}
			if n := f.fake.Count(http.MethodPost, "/v1/Interactions/"+ch1.InteractionSID+"/Channels/"+ch1.SID); n != tt.posts1 {
				t.Errorf("ch1 close requests = %d, want %d", n, tt.posts1)
			}
			logs := f.notificationLogs()
			for id, want := range map[string]string{notification1: tt.outcome1, notification2: tt.outcome2} {
				lines := logs[id]
				if len(lines) != tt.deliveries {
					t.Fatalf("notification %s: %d log lines, want %d:\n%s", id, len(lines), tt.deliveries, f.logs)
				}
				if got := lines[len(lines)-1]["outcome"]; got != want {
					t.Errorf("notification %s outcome = %v, want %s", id, got, want)
				}
			}
			if strings.Contains(f.logs.String(), "soapenv") || strings.Contains(f.logs.String(), salesforceToken) {
				t.Errorf("the logs hold the raw body or the token:\n%s", f.logs)
			}
		})
	}
}

// Salesforce redelivers a notification with the record's latest data: a
// notification Id already handled under other data is a duplicate,
// acknowledged, and the redelivery still closes what was not closed yet.
func TestSalesforceRedeliveryWithLatestDataIsDuplicate(t *testing.T) {
	f := sourceFixture(t)
	f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
	ch1, _ := f.channel("assigned")
	ch2, _ := f.channel("assigned")
	ch3, _ := f.channel("assigned")
	f.fake.Inject(flextest.Fault{Method: http.MethodPost, Path: "/v1/Interactions/*/Channels/" + ch2.SID, Status: 503})
	r := f.invoke(f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", outboundMessage(t, orgID, ch1, ch2), f.clock.Now()))
	if salesforceAck(r) {
		t.Fatalf("first delivery = %d %s, want no ack", r.Status, r.Body)
	}
	f.fake.ClearFaults()
	// Case 1 was linked to another conversation (ch3) before the retry.
	r = f.invoke(f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", outboundMessage(t, orgID, ch3, ch2), f.clock.Now()))
	if !salesforceAck(r) {
		t.Fatalf("redelivery = %d %s, want the ack", r.Status, r.Body)
	}
	if f.status(ch1) != "closed" || f.status(ch2) != "closed" || f.status(ch3) != "active" {
		t.Errorf("channels %s, %s, %s; want closed, closed, active (notification 1 was handled already)", f.status(ch1), f.status(ch2), f.status(ch3))
	}
	if lines := f.notificationLogs()[notification1]; len(lines) != 2 || lines[1]["outcome"] != outcomeDuplicate {
		t.Errorf("notification 1 log lines %v, want the second a %s", lines, outcomeDuplicate)
	}
}

// An Idempotency-Key is scoped to the source that sent it: the same key
// from two sources (or from a source and POST /crm) closes both.
func TestSourceIdempotencyKeyScopedBySource(t *testing.T) {
	legacy := func(f *fixture, ch flextest.Channel, key string) []byte {
		body := `{"kd":"` + ch.InteractionSID + `","uo":"` + ch.SID + `"}`
		hs, u, err := crm.SignDelivery(crm.SchemeBasic, basicCredentials, http.MethodPost, "https://"+publicHost+"/crm/legacy", "", []byte(body), f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		hs.Set("Content-Type", "application/json")
		hs.Set("Idempotency-Key", key)
		return f.event(http.MethodPost, u, hs, []byte(body))
	}
	crmRoute := func(path string) func(f *fixture, ch flextest.Channel, key string) []byte {
		return func(f *fixture, ch flextest.Channel, key string) []byte {
			h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}, "Idempotency-Key": {key}}
			return f.event(http.MethodPost, "https://"+publicHost+path, h, []byte(closeBody(ch, "")))
		}
	}
	type sender func(f *fixture, ch flextest.Channel, key string) []byte
	tests := []struct {
		name          string
		first, second sender
		sameKey       bool // the two share one key space
	}{
		{"POST /crm then source legacy", crmRoute("/crm"), legacy, false},
		{"source legacy then POST /crm", legacy, crmRoute("/crm"), false},
		{"POST /crm then POST /crm/default", crmRoute("/crm"), crmRoute("/crm/default"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sourceFixture(t)
			f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
			ch1, _ := f.channel("assigned")
			ch2, _ := f.channel("assigned")
			if r := f.invoke(tt.first(f, ch1, "order-1042")); r.Status != http.StatusOK {
				t.Fatalf("first = %d %s, want 200", r.Status, r.Body)
			}
			r := f.invoke(tt.second(f, ch2, "order-1042"))
			if tt.sameKey {
				if r.Status != http.StatusUnprocessableEntity || f.status(ch2) != "active" {
					t.Errorf("second = %d %s, ch2 %s; want 422 (same key, other close) and active", r.Status, r.Body, f.status(ch2))
				}
				return
			}
			if r.Status != http.StatusOK || f.status(ch2) != "closed" {
				t.Errorf("second = %d %s, ch2 %s; want 200 and closed: the key collided across sources", r.Status, r.Body, f.status(ch2))
			}
		})
	}
}

// A notification Id recorded under other data (Salesforce redelivers a
// record's latest data) is a duplicate once that record is finished, in
// either delivery mode; while it is still in progress the message is not
// acknowledged, naming the notification.
func TestSalesforceNotificationRecordedWithOtherData(t *testing.T) {
	for _, tt := range []struct {
		name     string
		durable  bool
		finished bool
		wantAck  bool
		queued   int // durable: jobs queued
	}{
		{"finished, sync", false, true, true, 0},
		{"finished, durable", true, true, true, 1},
		{"in progress, sync", false, false, false, 0},
		{"in progress, durable", true, false, false, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := sourceFixture(t)
			store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
			q := &recordingQueue{}
			if tt.durable {
				f.withOptions(Options{Queue: q}, store)
			} else {
				f.withOptions(Options{}, store)
			}
			ch1, _ := f.channel("assigned")
			ch2, _ := f.channel("assigned")
			ctx := context.Background()
			key := sourceKey("salesforce", orgID[:15]+"\x00"+notification1, "")
			claim, err := store.Begin(ctx, key, "hash-of-older-data", f.clock.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if tt.finished {
				if err := store.Complete(ctx, key, claim.Owner, "closed", `{}`, f.clock.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			r := f.invoke(f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", outboundMessage(t, orgID, ch1, ch2), f.clock.Now()))
			if salesforceAck(r) != tt.wantAck {
				t.Fatalf("delivery = %d %s, want ack %v", r.Status, r.Body, tt.wantAck)
			}
			if !tt.wantAck && !strings.Contains(string(r.Body), "notification "+notification1) {
				t.Errorf("delivery = %d %s, want the answer to name notification %s", r.Status, r.Body, notification1)
			}
			if f.status(ch1) != "active" {
				t.Errorf("ch1 %s, want active: notification 1 is another delivery's", f.status(ch1))
			}
			if tt.durable && len(q.msgs) != tt.queued {
				t.Errorf("%d jobs queued, want %d (notification 2 only)", len(q.msgs), tt.queued)
			}
			if !tt.durable && f.status(ch2) != "closed" {
				t.Errorf("ch2 %s, want closed", f.status(ch2))
			}
		})
	}
}
