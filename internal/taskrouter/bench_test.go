package taskrouter

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// benchForm is a task.completed callback of a Flex Conversations task, with
// the fields and attributes TaskRouter sends.
func benchForm() url.Values {
	attrs := `{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `",` +
		`"conversationSid":"CH0123456789abcdef0123456789abcdef","flexChannelInviteSid":"KG0123456789abcdef0123456789abcdef",` +
		`"channelType":"web","customerName":"Ada Lovelace","customerAddress":"ada@example.com","direction":"inbound",` +
		`"customers":{"name":"Ada Lovelace","email":"ada@example.com"},` +
		`"conversations":{"conversation_id":"` + kd + `","initiated_by":"customer","media":[{"type":"ChatTranscript"}]}}`
	now := time.Now()
	return url.Values{
		"EventType": {"task.completed"}, "AccountSid": {acct}, "WorkspaceSid": {ws}, "WorkspaceName": {"Flex Task Assignment"},
		"EventDescription": {"Task " + wt + " completed"}, "ResourceType": {"Task"}, "ResourceSid": {wt}, "TaskSid": {wt},
		"TaskAttributes": {attrs}, "TaskAssignmentStatus": {"completed"}, "TaskAge": {"184"}, "TaskPriority": {"0"},
		"TaskChannelUniqueName": {"chat"}, "TaskQueueSid": {"WQ0123456789abcdef0123456789abcdef"},
		"Timestamp":   {strconv.FormatInt(now.Unix(), 10)},
		"TimestampMs": {strconv.FormatInt(now.UnixMilli(), 10)},
	}
}

const benchURL = "https://abc123.execute-api.us-east-1.amazonaws.com/taskrouter"

func BenchmarkVerify(b *testing.B) {
	form := benchForm()
	body := []byte(form.Encode())
	sig := Sign("tokenPRIMARY0123456789", benchURL, form)
	for _, tc := range []struct {
		name   string
		tokens []string
	}{
		{"primary", []string{"tokenPRIMARY0123456789"}},
		{"secondary", []string{"tokenOTHER", "tokenPRIMARY0123456789"}},
		{"mismatch", []string{"tokenOTHER"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Verify(benchURL, form, body, sig, tc.tokens...)
			}
		})
	}
}

func BenchmarkParseForm(b *testing.B) {
	body := []byte(benchForm().Encode())
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseForm(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	form := benchForm()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(form); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	ev, err := Parse(benchForm())
	if err != nil {
		b.Fatal(err)
	}
	r := Rules{CloseEvents: []string{"task.canceled", "task.completed"}}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := r.Decide(ev); err != nil || !d.Close {
			b.Fatalf("Decide() = %+v, %v", d, err)
		}
	}
}
