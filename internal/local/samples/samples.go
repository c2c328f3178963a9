// Package samples defines flexhook's sample events — the files in events/
// that `sam local invoke -e` and `flexhook invoke` take — together with the
// Twilio state they expect, so that the files, the local simulator seeded by
// `make run`, and the end-to-end tests can never disagree.
//
// The events are signed with documented test credentials (AccountSID, AuthToken, CRMWebhookSecret, CRMAPIToken),
// which exist only here and in the local secret that `make run` serves.
// TaskRouter samples carry no Timestamp, so they stay valid when replayed
// later (the replay window applies only to events that carry a time); the CRM
// samples authenticate with a bearer token for the same reason, since a
// Standard Webhooks signature expires after five minutes. The CRM source
// presets (Sources, files under events/crm-sources/) are signed the way each
// CRM signs: the Zendesk and HubSpot ones at SignedAt, so they verify only on
// a clock within five minutes of it; Sample.EventAt re-signs them for a live
// replay.
package samples

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// The local test credentials. Never use them anywhere real.
const (
	AccountSID       = "AC0000000000000000000000000000f1e0"
	AuthToken        = "flexhooklocaltesttoken0000000000"
	CRMWebhookSecret = "whsec_ZmxleGhvb2stbG9jYWwtY3JtLXNpZ25pbmcta2V5"
	CRMAPIToken      = "flexhook-local-crm-token-0000000001"
)

// SecretJSON is the SecretString of the local test secret.
func SecretJSON() string {
	b, _ := json.Marshal(map[string]any{
		"account_sid":        AccountSID,
		"auth_token":         AuthToken,
		"crm_webhook_secret": CRMWebhookSecret,
		"crm_api_token":      CRMAPIToken,
		// The secrets of the CRM source presets, by preset name.
		"crm_sources": map[string]string{"zendesk": ZendeskSigningSecret, "hubspot": HubSpotClientSecret, "salesforce": SalesforceToken},
	})
	return string(b)
}

// Host is the API Gateway host the samples were sent to; with PUBLIC_BASE_URL
// unset the function rebuilds the signed URL from it.
const Host = "abc123defg.execute-api.us-east-1.amazonaws.com"

// WorkspaceSID is the TaskRouter workspace of the sample tasks.
const WorkspaceSID = "WS0000000000000000000000000000f1e0"

// Channel is a sample Interaction Channel and the tasks on it.
type Channel struct {
	InteractionSID, ChannelSID string
	Tasks                      []Task
}

// Task is a sample TaskRouter task.
type Task struct {
	SID              string
	AssignmentStatus string
	Attributes       string // JSON
}

// Sample is one event file and what handling it must produce.
type Sample struct {
	// Name is the file name under events/, without ".json".
	Name string
	// Description says what the event shows.
	Description string
	// WantStatus is the HTTP status the function answers.
	WantStatus int
	// WantChannel, when set, is the channel status after the event.
	WantChannel string
	// Channel is the channel the event concerns, if any.
	Channel *Channel
	// Also are more channels that must end in WantChannel too.
	Also []*Channel
	// event builds the event; t is the time a signature covers, for the
	// samples whose signature covers one.
	event func(t time.Time) ([]byte, error)
}

// Event returns the event document.
func (s Sample) Event() ([]byte, error) { return s.EventAt(SignedAt()) }

// sid builds a deterministic sample SID: prefix, zeros, a number.
func sid(prefix string, n int) string { return fmt.Sprintf("%s%028x%04x", prefix, 0, 0xf100+n) }

func flexAttributes(ch *Channel, customer string) string {
	b, _ := json.Marshal(map[string]any{
		"flexInteractionSid":        ch.InteractionSID,
		"flexInteractionChannelSid": ch.ChannelSID,
		"conversationSid":           sid("CH", 1),
		"channelType":               "web",
		"customerName":              customer,
		"customerAddress":           customer + "@example.com",
		"conversations":             map[string]any{"conversation_id": ch.InteractionSID, "initiated_by": "customer"},
		"direction":                 "inbound",
	})
	return string(b)
}

// Channels returns the sample channels, each in its initial state: seed the
// simulator with them before replaying the samples.
func Channels() []*Channel {
	canceled := &Channel{InteractionSID: sid("KD", 1), ChannelSID: sid("UO", 1)}
	canceled.Tasks = []Task{{SID: sid("WT", 1), AssignmentStatus: "canceled", Attributes: flexAttributes(canceled, "Ada Lovelace")}}
	transferred := &Channel{InteractionSID: sid("KD", 2), ChannelSID: sid("UO", 2)}
	transferred.Tasks = []Task{
		{SID: sid("WT", 2), AssignmentStatus: "completed", Attributes: flexAttributes(transferred, "Grace Hopper")},
		{SID: sid("WT", 3), AssignmentStatus: "assigned", Attributes: flexAttributes(transferred, "Grace Hopper")},
	}
	completed := &Channel{InteractionSID: sid("KD", 3), ChannelSID: sid("UO", 3)}
	completed.Tasks = []Task{{SID: sid("WT", 4), AssignmentStatus: "completed", Attributes: flexAttributes(completed, "Alan Turing")}}
	crm := &Channel{InteractionSID: sid("KD", 4), ChannelSID: sid("UO", 4)}
	crm.Tasks = []Task{{SID: sid("WT", 5), AssignmentStatus: "wrapping", Attributes: flexAttributes(crm, "Katherine Johnson")}}
	return []*Channel{canceled, transferred, completed, crm}
}

// VoiceTask is a sample task without an Interaction Channel.
func VoiceTask() Task {
	return Task{SID: sid("WT", 9), AssignmentStatus: "canceled", Attributes: `{"call_sid":"CA0000000000000000000000000000f109","from":"+15550100","direction":"inbound"}`}
}

// All returns every sample, in a stable order. Each call builds fresh
// channels, so the samples can be mutated by callers.
func All() []Sample {
	ch := Channels()
	canceled, transferred, completed, crmCh := ch[0], ch[1], ch[2], ch[3]
	return []Sample{
		{
			Name:        "taskrouter-task-canceled",
			Description: "task.canceled of a Flex task: the channel is closed",
			WantStatus:  http.StatusNoContent, WantChannel: "closed", Channel: canceled,
			event: func(time.Time) ([]byte, error) {
				return taskRouterEvent("task.canceled", canceled.Tasks[0], AuthToken)
			},
		},
		{
			Name:        "taskrouter-task-completed-transferred",
			Description: "task.completed of a task transferred away: ignored by default (task.completed is opt-in); with it configured, another task is live on the channel, which stays open",
			WantStatus:  http.StatusNoContent, WantChannel: "active", Channel: transferred,
			event: func(time.Time) ([]byte, error) {
				return taskRouterEvent("task.completed", transferred.Tasks[0], AuthToken)
			},
		},
		{
			Name:        "taskrouter-task-completed",
			Description: "task.completed of the channel's last task: ignored with the default TASKROUTER_CLOSE_EVENTS (Flex closes the channel itself when the agent ends the chat, and Park and Leave complete tasks of open conversations)",
			WantStatus:  http.StatusNoContent, WantChannel: "active", Channel: completed,
			event: func(time.Time) ([]byte, error) {
				return taskRouterEvent("task.completed", completed.Tasks[0], AuthToken)
			},
		},
		{
			Name:        "taskrouter-non-flex-task",
			Description: "task.canceled of a voice task with no Interaction Channel: ignored",
			WantStatus:  http.StatusNoContent,
			event:       func(time.Time) ([]byte, error) { return taskRouterEvent("task.canceled", VoiceTask(), AuthToken) },
		},
		{
			Name:        "taskrouter-bad-signature",
			Description: "a task.canceled signed with the wrong auth token: refused with 403, nothing closed",
			WantStatus:  http.StatusForbidden, WantChannel: "active", Channel: completed,
			event: func(time.Time) ([]byte, error) {
				// A forgery of a task.canceled: its status agrees with the
				// event, so only the signature refuses it.
				task := completed.Tasks[0]
				task.AssignmentStatus = "canceled"
				return taskRouterEvent("task.canceled", task, "wrongtoken0000000000000000000000")
			},
		},
		{
			Name:        "crm-close",
			Description: "a CRM closes a channel by its SIDs, with a bearer token",
			WantStatus:  http.StatusOK, WantChannel: "closed", Channel: crmCh,
			event: func(time.Time) ([]byte, error) {
				body, _ := json.Marshal(map[string]string{"interaction_sid": crmCh.InteractionSID, "channel_sid": crmCh.ChannelSID, "status": "closed"})
				h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + CRMAPIToken}}
				return gatewaytest.NewHTTPEvent("POST", "https://"+Host+"/crm", h, body, eventOptions())
			},
		},
	}
}

// TaskRouterForm is the form TaskRouter posts for eventType on task.
func TaskRouterForm(eventType string, task Task) url.Values {
	return url.Values{
		"EventType": {eventType}, "AccountSid": {AccountSID}, "WorkspaceSid": {WorkspaceSID},
		"WorkspaceName": {"Flex Task Assignment"}, "EventDescription": {"Task " + task.SID + " " + eventType},
		"ResourceType": {"Task"}, "ResourceSid": {task.SID}, "TaskSid": {task.SID},
		"TaskAttributes": {task.Attributes}, "TaskAssignmentStatus": {task.AssignmentStatus},
		"TaskAge": {"184"}, "TaskPriority": {"0"}, "TaskChannelUniqueName": {"chat"},
	}
}

func taskRouterEvent(eventType string, task Task, token string) ([]byte, error) {
	form := TaskRouterForm(eventType, task)
	u := "https://" + Host + "/taskrouter"
	h := http.Header{
		"Content-Type":               {"application/x-www-form-urlencoded; charset=utf-8"},
		taskrouter.SignatureHeader:   {taskrouter.Sign(token, u, form)},
		"User-Agent":                 {"TwilioProxy/1.1"},
		"I-Twilio-Idempotency-Token": {"sample-" + eventType + "-" + task.SID},
	}
	return gatewaytest.NewHTTPEvent("POST", u, h, []byte(form.Encode()), eventOptions())
}

// eventOptions pin time and request id so generated files are stable.
func eventOptions() gatewaytest.EventOptions {
	return gatewaytest.EventOptions{
		RequestID: "sample-request",
		Time:      time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC),
		SourceIP:  "54.172.60.1",
	}
}

// Seed puts the sample channels and tasks into a Twilio simulator in their
// initial state.
func Seed(s *flextest.Server) {
	s.AddWorkspace(WorkspaceSID)
	for _, ch := range append(Channels(), SourceChannels()...) {
		s.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.ChannelSID, Type: "web", Status: "active"})
		for _, t := range ch.Tasks {
			s.AddTask(flextest.Task{SID: t.SID, WorkspaceSID: WorkspaceSID, AssignmentStatus: t.AssignmentStatus, Attributes: t.Attributes, TaskChannelUniqueName: "chat"})
		}
	}
	v := VoiceTask()
	s.AddTask(flextest.Task{SID: v.SID, WorkspaceSID: WorkspaceSID, AssignmentStatus: v.AssignmentStatus, Attributes: v.Attributes, TaskChannelUniqueName: "voice"})
}

// File renders a sample as the indented JSON stored in events/.
func (s Sample) File() ([]byte, error) {
	ev, err := s.Event()
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(ev, &v); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}
