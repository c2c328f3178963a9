package taskrouter

import (
	"encoding/json"
	"testing"
)

// channelKeysReference reads the three channel keys with json.RawMessage,
// the specification attrString is compared with.
func channelKeysReference(attrs string) (kd, uo, conv string, kdSet, uoSet, ok bool) {
	var a struct {
		Interaction   json.RawMessage `json:"flexInteractionSid"`
		Channel       json.RawMessage `json:"flexInteractionChannelSid"`
		Conversations struct {
			ID json.RawMessage `json:"conversation_id"`
		} `json:"conversations"`
	}
	if json.Unmarshal([]byte(attrs), &a) != nil {
		return "", "", "", false, false, false
	}
	str := func(raw json.RawMessage) (s string, set bool) {
		if len(raw) == 0 || string(raw) == "null" {
			return "", false
		}
		if json.Unmarshal(raw, &s) != nil {
			return "", true
		}
		return s, true
	}
	kd, kdSet = str(a.Interaction)
	uo, uoSet = str(a.Channel)
	conv, _ = str(a.Conversations.ID)
	return kd, uo, conv, kdSet, uoSet, true
}

func checkAttrString(t *testing.T, attrs string) {
	t.Helper()
	kd, uo, conv, kdSet, uoSet, ok := channelKeysReference(attrs)
	var a struct {
		Interaction   attrString `json:"flexInteractionSid"`
		Channel       attrString `json:"flexInteractionChannelSid"`
		Conversations struct {
			ID attrString `json:"conversation_id"`
		} `json:"conversations"`
	}
	gotOK := json.Unmarshal([]byte(attrs), &a) == nil
	if gotOK != ok {
		t.Fatalf("decode %q ok = %v, want %v", attrs, gotOK, ok)
	}
	if ok && (a.Interaction != attrString{kd, kdSet} || a.Channel != attrString{uo, uoSet} || a.Conversations.ID.s != conv) {
		t.Fatalf("decode %q = %+v, want kd %q/%v uo %q/%v conversation %q", attrs, a, kd, kdSet, uo, uoSet, conv)
	}
}

func TestAttrStringMatchesRawMessage(t *testing.T) {
	for _, attrs := range []string{
		`{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `"}`,
		`{"flexInteractionSid":null,"flexInteractionChannelSid":1,"conversations":{"conversation_id":"` + kd + `"}}`,
		`{"flexInteractionSid":"a","flexInteractionSid":null}`,
		`{"flexInteractionSid":null,"flexInteractionSid":"b"}`,
		`{"FLEXINTERACTIONSID":"\u004bD","flexInteractionChannelSid":"a\"b"}`,
		"{\"flexInteractionSid\":\"\xff\"}",
		`{"flexInteractionChannelSid":{"nested":true},"conversations":null}`,
		`{"conversations":"x"}`,
		`[]`, `null`, `"x"`, `{`,
	} {
		checkAttrString(t, attrs)
	}
}

// FuzzAttrString is the differential test of attrString against
// json.RawMessage.
func FuzzAttrString(f *testing.F) {
	f.Add(`{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `","conversations":{"conversation_id":null}}`)
	f.Fuzz(func(t *testing.T, attrs string) { checkAttrString(t, attrs) })
}
