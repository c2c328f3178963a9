package taskrouter

import (
	"encoding/json"

	"github.com/flexhook/flexhook/internal/jsondepth"
	"github.com/flexhook/flexhook/internal/sid"
)

// Channel names the Flex Interaction Channel a task belongs to.
type Channel struct {
	InteractionSID string // KD…, task attribute flexInteractionSid
	ChannelSID     string // UO…, task attribute flexInteractionChannelSid
}

// maxAttributesDepth bounds the nesting of task attributes flexhook will
// parse; Flex's own attributes nest three levels deep.
const maxAttributesDepth = 32

// ChannelFromAttributes finds the Interaction Channel in a task's attributes
// JSON: flexInteractionSid and flexInteractionChannelSid, with
// conversations.conversation_id as a fallback for the interaction SID. ok is
// false when the task carries no channel (voice, legacy chat or custom
// tasks): such tasks are not flexhook's to close. A document that is not a
// JSON object, or channel keys that are not well-formed SIDs, are a
// *FieldError.
//
// Keys match exactly, as TaskRouter's expressions and the Flex UI read
// them: the document is decoded into maps and the keys looked up there,
// because a struct would also take "FLEXINTERACTIONCHANNELSID" (encoding/json
// matches struct fields case-insensitively), letting one document name
// different channels to different readers.
func ChannelFromAttributes(attrs string) (ch Channel, ok bool, err error) {
	if attrs == "" {
		return Channel{}, false, nil
	}
	if jsondepth.Exceeds(attrs, maxAttributesDepth) {
		return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is nested too deeply"}
	}
	var a map[string]json.RawMessage
	if err := json.Unmarshal([]byte(attrs), &a); err != nil {
		return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is not a JSON object"}
	}
	var conv map[string]json.RawMessage
	if raw := a["conversations"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &conv); err != nil {
			return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is not a JSON object"}
		}
	}
	kd, kdSet := str(a["flexInteractionSid"])
	uo, uoSet := str(a["flexInteractionChannelSid"])
	if !uoSet && !kdSet {
		return Channel{}, false, nil
	}
	if !kdSet {
		// Flex puts the interaction SID in both places; accept the second
		// only when it is an interaction SID.
		if id, _ := str(conv["conversation_id"]); sid.Valid(sid.Interaction, id) {
			kd, kdSet = id, true
		}
	}
	switch {
	case !uoSet:
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionChannelSid", Reason: "is missing while flexInteractionSid is set"}
	case !sid.Valid(sid.Channel, uo):
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionChannelSid", Reason: "is not a UO SID"}
	case !kdSet:
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionSid", Reason: "is missing while flexInteractionChannelSid is set"}
	case !sid.Valid(sid.Interaction, kd):
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionSid", Reason: "is not a KD SID"}
	}
	return Channel{InteractionSID: kd, ChannelSID: uo}, true, nil
}

// str decodes a JSON string; set is false for an absent or null value, and
// a non-string value decodes as set but empty (so it fails validation).
func str(raw json.RawMessage) (s string, set bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true
	}
	return s, true
}
