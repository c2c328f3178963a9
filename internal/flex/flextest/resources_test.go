package flextest_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/sid"
)

func TestNewSID(t *testing.T) {
	for _, prefix := range []string{"KD", "UO", "WS", "WT", "AC", "CH"} {
		a, b := flextest.NewSID(prefix), flextest.NewSID(prefix)
		if !sid.Valid(prefix, a) {
			t.Errorf("NewSID(%q) = %q, not a valid SID", prefix, a)
		}
		if a == b {
			t.Errorf("NewSID(%q) returned %q twice", prefix, a)
		}
	}
	for _, prefix := range []string{"", "U", "uo", "UOO", "U1"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSID(%q) did not panic", prefix)
				}
			}()
			flextest.NewSID(prefix)
		}()
	}
}

func TestNewAttributes(t *testing.T) {
	ch := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO"), Type: "whatsapp"}
	a := flextest.NewAttributes(ch)
	var got struct {
		FlexInteractionSid        string `json:"flexInteractionSid"`
		FlexInteractionChannelSid string `json:"flexInteractionChannelSid"`
		ConversationSid           string `json:"conversationSid"`
		FlexChannelInviteSid      string `json:"flexChannelInviteSid"`
		ChannelType               string `json:"channelType"`
		CustomerName              string `json:"customerName"`
		CustomerAddress           string `json:"customerAddress"`
		Conversations             struct {
			ConversationID string `json:"conversation_id"`
			Media          []struct {
				Type, Sid string
			} `json:"media"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(a.JSON()), &got); err != nil {
		t.Fatalf("Attributes.JSON() = %s: %v", a.JSON(), err)
	}
	checks := []struct{ field, got, want string }{
		{"flexInteractionSid", got.FlexInteractionSid, ch.InteractionSID},
		{"flexInteractionChannelSid", got.FlexInteractionChannelSid, ch.SID},
		{"channelType", got.ChannelType, "whatsapp"},
		{"conversations.conversation_id", got.Conversations.ConversationID, ch.InteractionSID},
		{"customerName", got.CustomerName, a.CustomerName},
		{"customerAddress", got.CustomerAddress, a.CustomerAddress},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("attributes %s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !sid.Valid("CH", got.ConversationSid) || !sid.Valid("KG", got.FlexChannelInviteSid) {
		t.Errorf("attributes conversationSid %q, flexChannelInviteSid %q: want CH and KG SIDs", got.ConversationSid, got.FlexChannelInviteSid)
	}
	if len(got.Conversations.Media) != 1 || got.Conversations.Media[0].Sid != got.ConversationSid {
		t.Errorf("attributes conversations.media = %+v, want the conversation", got.Conversations.Media)
	}
}

func TestAddDefaultsAndPanics(t *testing.T) {
	s := flextest.New(flextest.Options{})
	ch := s.AddChannel(flextest.Channel{})
	if !sid.Valid("KD", ch.InteractionSID) || !sid.Valid("UO", ch.SID) || ch.Type != "chat" || ch.Status != "active" {
		t.Errorf("AddChannel(zero) = %+v, want generated SIDs, chat, active", ch)
	}
	if got, ok := s.Channel(ch.InteractionSID, ch.SID); !ok || got != ch {
		t.Errorf("Channel() = %+v, %v; want %+v, true", got, ok, ch)
	}
	task := s.AddTask(flextest.Task{WorkspaceSID: testWS})
	if !sid.Valid("WT", task.SID) || task.AssignmentStatus != "pending" || task.Attributes != "{}" || task.DateCreated.IsZero() {
		t.Errorf("AddTask(zero) = %+v, want generated SID, pending, {}, a creation date", task)
	}
	if got := s.Tasks(testWS); len(got) != 1 || got[0].SID != task.SID {
		t.Errorf("Tasks() = %+v, want the added task", got)
	}
	replaced := s.AddTask(flextest.Task{WorkspaceSID: testWS, SID: task.SID, AssignmentStatus: "assigned"})
	if got := s.Tasks(testWS); len(got) != 1 || got[0].AssignmentStatus != replaced.AssignmentStatus {
		t.Errorf("Tasks() after replacing = %+v, want one assigned task", got)
	}

	bad := []struct {
		name string
		add  func()
	}{
		{"channel bad interaction SID", func() { s.AddChannel(flextest.Channel{InteractionSID: "KD1"}) }},
		{"channel bad status", func() { s.AddChannel(flextest.Channel{Status: "open"}) }},
		{"task without workspace", func() { s.AddTask(flextest.Task{}) }},
		{"task bad status", func() { s.AddTask(flextest.Task{WorkspaceSID: testWS, AssignmentStatus: "done"}) }},
		{"task attributes not JSON", func() { s.AddTask(flextest.Task{WorkspaceSID: testWS, Attributes: "{"}) }},
		{"task attributes an array", func() { s.AddTask(flextest.Task{WorkspaceSID: testWS, Attributes: "[]"}) }},
		{"task attributes null", func() { s.AddTask(flextest.Task{WorkspaceSID: testWS, Attributes: "null"}) }},
		{"bad workspace", func() { s.AddWorkspace("WS1") }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.add()
		})
	}
}

func TestReactivateChannelErrors(t *testing.T) {
	s := flextest.New(flextest.Options{})
	failed := s.AddChannel(flextest.Channel{Status: "failed"})
	active := s.AddChannel(flextest.Channel{})
	tests := []struct {
		name    string
		kd, uo  string
		wantErr error
	}{
		{"failed", failed.InteractionSID, failed.SID, flextest.ErrInvalidStatus},
		{"unknown", active.InteractionSID, flextest.NewSID("UO"), flextest.ErrNotFound},
		{"already active", active.InteractionSID, active.SID, nil},
	}
	for _, tt := range tests {
		if err := s.ReactivateChannel(tt.kd, tt.uo); !errors.Is(err, tt.wantErr) {
			t.Errorf("ReactivateChannel(%s) = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}
