package flextest

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
)

// NewSID returns a random SID with the given two-letter prefix, such as
// NewSID("UO"): the prefix followed by 32 lower-case hexadecimal digits.
// It panics if prefix is not two upper-case ASCII letters.
func NewSID(prefix string) string {
	mustf(len(prefix) == 2 && upper(prefix[0]) && upper(prefix[1]), "NewSID: invalid prefix %q", prefix)
	return prefix + randomHex()
}

func upper(c byte) bool { return 'A' <= c && c <= 'Z' }

// randomHex returns 32 random hexadecimal digits.
func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	return hex.EncodeToString(b[:])
}

// Attributes are the task attributes Flex Conversations writes on the tasks
// it creates for an interaction channel. See the Interactions API examples
// and https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interactions.
type Attributes struct {
	InteractionSID  string // flexInteractionSid, KD…
	ChannelSID      string // flexInteractionChannelSid, UO…
	ConversationSID string // conversationSid, CH…
	InviteSID       string // flexChannelInviteSid, KG…
	ChannelType     string // channelType: sms, whatsapp, chat, web…
	CustomerName    string // customerName
	CustomerAddress string // customerAddress: phone number, e-mail or chat identity
	Direction       string // direction: inbound or outbound
}

// NewAttributes returns realistic attributes for a task on ch, with random
// conversation and invite SIDs and a sample customer.
func NewAttributes(ch Channel) Attributes {
	return Attributes{
		InteractionSID:  ch.InteractionSID,
		ChannelSID:      ch.SID,
		ConversationSID: NewSID("CH"),
		InviteSID:       NewSID("KG"),
		ChannelType:     cmp.Or(ch.Type, "chat"),
		CustomerName:    "Alex Customer",
		CustomerAddress: "+15005550006",
		Direction:       "inbound",
	}
}

// JSON returns the attributes as the JSON object Flex writes, including the
// nested "customers" and "conversations" objects.
func (a Attributes) JSON() string {
	v := map[string]any{
		"flexInteractionSid":        a.InteractionSID,
		"flexInteractionChannelSid": a.ChannelSID,
		"conversationSid":           a.ConversationSID,
		"flexChannelInviteSid":      a.InviteSID,
		"channelType":               a.ChannelType,
		"customerName":              a.CustomerName,
		"customerAddress":           a.CustomerAddress,
		"direction":                 a.Direction,
		"initiatedBy":               "customer",
		"customers": map[string]any{
			"name":  a.CustomerName,
			"phone": a.CustomerAddress,
		},
		"conversations": map[string]any{
			"conversation_id": a.InteractionSID,
			"initiated_by":    "customer",
			"media": []any{
				map[string]any{"type": "ChatTranscript", "sid": a.ConversationSID},
			},
		},
	}
	b, _ := json.Marshal(v) // strings only; cannot fail
	return string(b)
}
