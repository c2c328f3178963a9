package crm

import (
	"errors"
	"strings"
	"testing"
)

const (
	kd = "KDcccccccccccccccccccccccccccccccc"
	uo = "UOdddddddddddddddddddddddddddddddd"
	wt = "WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Request
	}{
		{"channel form", `{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":"closed"}`,
			Request{InteractionSID: kd, ChannelSID: uo, Status: StatusClosed}},
		{"channel form inactive", `{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":"inactive"}`,
			Request{InteractionSID: kd, ChannelSID: uo, Status: StatusInactive}},
		{"status omitted", `{"channel_sid":"` + uo + `","interaction_sid":"` + kd + `"}`,
			Request{InteractionSID: kd, ChannelSID: uo}},
		{"status null", `{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":null}`,
			Request{InteractionSID: kd, ChannelSID: uo}},
		{"status empty", `{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":""}`,
			Request{InteractionSID: kd, ChannelSID: uo}},
		{"task form", `{"task_sid":"` + wt + `"}`, Request{TaskSID: wt}},
		{"task form with status", `{"task_sid":"` + wt + `","status":"inactive"}`, Request{TaskSID: wt, Status: StatusInactive}},
		{"task form, channel fields null", `{"task_sid":"` + wt + `","interaction_sid":null,"channel_sid":""}`, Request{TaskSID: wt}},
		{"upper-case hex", `{"task_sid":"WTBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}`, Request{TaskSID: "WTBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}},
		{"unknown fields of every kind ignored", `{"event":"conversation.done","meta":{"a":[1,{"b":"}]"}],"c":null},"n":-1.5e3,"ok":true,"no":false,"task_sid":"` + wt + `","arr":[]}`,
			Request{TaskSID: wt}},
		{"field names match exactly", `{"Task_Sid":"junk","task_sid":"` + wt + `","TASK_SID":1}`, Request{TaskSID: wt}},
		{"escaped field name", `{"task\u005fsid":"` + wt + `"}`, Request{TaskSID: wt}},
		{"escaped value", `{"task_sid":"WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\u0062"}`, Request{TaskSID: wt}},
		{"white space everywhere", " \n\t{ \"task_sid\" :\r\n \"" + wt + "\" } \n", Request{TaskSID: wt}},
		{"nesting at the limit", `{"task_sid":"` + wt + `","x":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
			Request{TaskSID: wt}},
		{"brackets inside strings do not count", `{"task_sid":"` + wt + `","x":"` + strings.Repeat("[{", 100) + `"}`, Request{TaskSID: wt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, nil", tt.body, got, err, tt.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ``},
		{"white space", "  \n"},
		{"syntax error", `{"task_sid":}`},
		{"unterminated", `{"task_sid":"` + wt},
		{"single quotes", `{'task_sid':'` + wt + `'}`},
		{"trailing comma", `{"task_sid":"` + wt + `",}`},
		{"array", `["` + wt + `"]`},
		{"string", `"` + wt + `"`},
		{"number", `42`},
		{"null", `null`},
		{"trailing data", `{"task_sid":"` + wt + `"} {}`},
		{"trailing garbage", `{"task_sid":"` + wt + `"}x`},
		{"invalid UTF-8 in value", "{\"task_sid\":\"" + wt + "\",\"note\":\"\xff\"}"},
		{"invalid UTF-8 outside strings", "\xbf{\"task_sid\":\"" + wt + "\"}"},
		{"byte order mark", "\uFEFF{\"task_sid\":\"" + wt + "\"}"},
		{"too deep", `{"task_sid":"` + wt + `","x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`},
		{"very deep and unbalanced", strings.Repeat(`{"a":`, 100000)},
		{"bad escape", `{"task_sid":"\x"}`},
		{"control character in string", "{\"task_sid\":\"a\nb\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if !errors.Is(err, ErrMalformedJSON) {
				t.Errorf("Parse(%.80q) = %+v, %v; want %v", tt.body, got, err, ErrMalformedJSON)
			}
			var ve *ValidationError
			if errors.As(err, &ve) {
				t.Errorf("Parse(%.80q) error %v is also a ValidationError", tt.body, err)
			}
			if got != (Request{}) {
				t.Errorf("Parse(%.80q) = %+v with an error, want zero Request", tt.body, got)
			}
		})
	}
}

func TestParseValidation(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{"empty object", `{}`, "interaction_sid"},
		{"only unknown fields", `{"sid":"` + wt + `"}`, "interaction_sid"},
		{"only status", `{"status":"closed"}`, "interaction_sid"},
		{"both forms", `{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","task_sid":"` + wt + `"}`, "task_sid"},
		{"task with interaction", `{"interaction_sid":"` + kd + `","task_sid":"` + wt + `"}`, "task_sid"},
		{"channel without interaction", `{"channel_sid":"` + uo + `"}`, "interaction_sid"},
		{"interaction without channel", `{"interaction_sid":"` + kd + `"}`, "channel_sid"},
		{"interaction null, channel set", `{"interaction_sid":null,"channel_sid":"` + uo + `"}`, "interaction_sid"},
		{"interaction wrong prefix", `{"interaction_sid":"` + uo + `","channel_sid":"` + uo + `"}`, "interaction_sid"},
		{"channel wrong prefix", `{"interaction_sid":"` + kd + `","channel_sid":"` + kd + `"}`, "channel_sid"},
		{"task wrong prefix", `{"task_sid":"` + kd + `"}`, "task_sid"},
		{"task too short", `{"task_sid":"WT123"}`, "task_sid"},
		{"task path traversal", `{"task_sid":"WTbbbbbbbbbbbbbbbbbbbbbbbbbbbb/../"}`, "task_sid"},
		{"task lower-case prefix", `{"task_sid":"wtbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`, "task_sid"},
		{"interaction number", `{"interaction_sid":123,"channel_sid":"` + uo + `"}`, "interaction_sid"},
		{"channel object", `{"interaction_sid":"` + kd + `","channel_sid":{"sid":"` + uo + `"}}`, "channel_sid"},
		{"task array", `{"task_sid":["` + wt + `"]}`, "task_sid"},
		{"task boolean", `{"task_sid":true}`, "task_sid"},
		{"status number", `{"task_sid":"` + wt + `","status":1}`, "status"},
		{"status unknown word", `{"task_sid":"` + wt + `","status":"open"}`, "status"},
		{"status wrong case", `{"task_sid":"` + wt + `","status":"Closed"}`, "status"},
		{"status padded", `{"task_sid":"` + wt + `","status":" closed"}`, "status"},
		{"status long", `{"task_sid":"` + wt + `","status":"` + long + `"}`, "status"},
		{"duplicate task", `{"task_sid":"` + wt + `","task_sid":"` + wt + `"}`, "task_sid"},
		{"duplicate after empty", `{"task_sid":"","task_sid":"` + wt + `"}`, "task_sid"},
		{"duplicate status", `{"task_sid":"` + wt + `","status":"closed","status":"inactive"}`, "status"},
		{"duplicate via escape", `{"task_sid":"` + wt + `","task\u005fsid":"` + wt + `"}`, "task_sid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%.80q) = %+v, %v; want *ValidationError", tt.body, got, err)
			}
			if ve.Field != tt.wantField {
				t.Errorf("Parse(%.80q) error field = %q (%v), want %q", tt.body, ve.Field, err, tt.wantField)
			}
			if errors.Is(err, ErrMalformedJSON) {
				t.Errorf("Parse(%.80q) error %v is also ErrMalformedJSON", tt.body, err)
			}
			if msg := err.Error(); len(msg) > 160 || strings.Contains(msg, long[:20]) {
				t.Errorf("Parse(%.80q) error message is %d bytes: %q", tt.body, len(msg), msg)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"bad SID quoted briefly", `{"task_sid":"WT123"}`,
			`crm: task_sid: must be a TaskRouter Task SID ("WT" and 32 hex digits), got "WT123"`},
		{"long value cut", `{"interaction_sid":"` + kd + `x","channel_sid":"` + uo + `"}`,
			`crm: interaction_sid: must be a Flex Interaction SID ("KD" and 32 hex digits), got "KDcccccccccc..." (35 bytes)`},
		{"control and non-ASCII replaced", `{"task_sid":"WT\n\"\\é<"}`,
			`crm: task_sid: must be a TaskRouter Task SID ("WT" and 32 hex digits), got "WT?????<"`},
		{"status", `{"task_sid":"` + wt + `","status":"open"}`,
			`crm: status: must be "closed" or "inactive", got "open"`},
		{"wrong type", `{"task_sid":7}`, `crm: task_sid: must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse(%q) error = %v, want %q", tt.body, err, tt.want)
			}
		})
	}
}
