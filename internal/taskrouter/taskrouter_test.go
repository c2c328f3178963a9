package taskrouter

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	acct = "AC0123456789abcdef0123456789abcdef"
	ws   = "WS0123456789abcdef0123456789abcdef"
	wt   = "WT0123456789abcdef0123456789abcdef"
	kd   = "KD0123456789abcdef0123456789abcdef"
	uo   = "UO0123456789abcdef0123456789abcdef"
)

// Twilio's documented example (webhooks security page) and twilio-go's own
// test vectors.
func TestVerifyTwilioVectors(t *testing.T) {
	docForm := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	goForm := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
		"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	const bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	jsonBody := []byte(`{"property": "value", "boolean": true}`)
	tests := []struct {
		name string
		url  string
		form url.Values
		body []byte
		sig  string
		want error
	}{
		{"docs example", "https://mycompany.com/myapp.php?foo=1&bar=2", docForm, nil, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", nil},
		{"twilio-go vector", "https://mycompany.com/myapp.php?foo=1&bar=2", goForm, nil, "vOEb5UThFn24KEfnOFLQY2AE5FY=", nil},
		{"explicit :443 signed without", "https://mycompany.com:443/myapp.php?foo=1&bar=2", goForm, nil, "vOEb5UThFn24KEfnOFLQY2AE5FY=", nil},
		{"http signed with port", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", goForm, nil, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", nil},
		{"fragment excluded", "https://mycompany.com/myapp.php?foo=1&bar=2#rp=5xx&rc=3", goForm, nil, "vOEb5UThFn24KEfnOFLQY2AE5FY=", nil},
		{"bodySHA256", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + bodyHash, nil, jsonBody, "a9nBmqA0ju/hNViExpshrM61xv4=", nil},
		{"bodySHA256 tampered body", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + bodyHash, nil, []byte(`{}`), "a9nBmqA0ju/hNViExpshrM61xv4=", ErrBadSignature},
		{"query dropped", "https://mycompany.com/myapp.php", docForm, nil, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", ErrBadSignature},
		{"param changed", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{"Digits": {"9"}}, nil, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", ErrBadSignature},
		{"wrong sort", "https://mycompany.com/myapp.php?foo=1&bar=2", goForm, nil, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", ErrBadSignature},
		{"empty", "https://mycompany.com/myapp.php?foo=1&bar=2", docForm, nil, "", ErrNotSigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.url, tt.form, tt.body, tt.sig, "12345"); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify(%q) = %v, want %v", tt.url, err, tt.want)
			}
		})
	}
}

func TestSignVerifyRotation(t *testing.T) {
	form := url.Values{"EventType": {"task.completed"}, "AccountSid": {acct}, "TaskAttributes": {`{"a":"é ü"}`}}
	u := "https://abc.execute-api.us-east-1.amazonaws.com/prod/taskrouter?env=prod"
	sig := Sign("newtoken", u, form)
	if err := Verify(u, form, nil, sig, "oldtoken", "newtoken"); err != nil {
		t.Errorf("Verify with the secondary token = %v, want nil", err)
	}
	if err := Verify(u, form, nil, sig, "oldtoken"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with only the old token = %v, want ErrBadSignature", err)
	}
	if err := Verify(u, form, nil, sig, "", ""); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify with empty tokens = %v, want ErrBadSignature", err)
	}
	if got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Errorf("Sign(docs example) = %q, want 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", got)
	}
}

func TestParseForm(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"ok", "EventType=task.completed&AccountSid=" + acct, false},
		{"empty", "", false},
		{"repeated key", "EventType=task.completed&EventType=task.canceled", true},
		{"bad escape", "EventType=%zz", true},
		{"semicolon", "a=1;b=2", true},
		{"invalid utf8 raw", "EventType=\xff", true},
		{"invalid utf8 escaped", "EventType=%ff", true},
		{"nul byte", "EventType=a%00b", true},
		{"nul in key", "%00=1", true},
		{"repeated after unescape", "a=1&%61=2", true},
		{"repeated then bad escape", "a=1&a=2&b=%zz", true},
		{"plus and escapes", "a+b=c+d%20e%2B&%41=%42", false},
		{"only separators", "&&&", false},
		{"too many fields", strings.Repeat("&", maxFormFields), true},
		{"at the field limit", strings.Repeat("&", maxFormFields-1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseForm([]byte(tt.body))
			var fe *FieldError
			if gotErr := errors.As(err, &fe); gotErr != tt.wantErr {
				t.Errorf("ParseForm(%q) error = %v, want error %v", tt.body, err, tt.wantErr)
			}
		})
	}
}

func validForm() url.Values {
	return url.Values{
		"EventType": {"task.completed"}, "AccountSid": {acct}, "WorkspaceSid": {ws}, "TaskSid": {wt},
		"ResourceType": {"Task"}, "TaskAssignmentStatus": {"completed"},
		"TaskAttributes": {`{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `","customerName":"Ada"}`},
		"Timestamp":      {"1700000000"},
	}
}

func TestParse(t *testing.T) {
	ev, err := Parse(validForm())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if ev.Type != "task.completed" || ev.AccountSID != acct || ev.WorkspaceSID != ws || ev.TaskSID != wt ||
		ev.AssignmentStatus != "completed" || !ev.Time.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("Parse = %+v", ev)
	}
	f := validForm()
	f.Set("TimestampMs", "1700000000123")
	if ev, _ := Parse(f); !ev.Time.Equal(time.UnixMilli(1_700_000_000_123)) {
		t.Errorf("Parse with TimestampMs: Time = %v, want the milliseconds to win", ev.Time)
	}
	f.Del("TimestampMs")
	f.Set("Timestamp", "2023-11-14T22:13:20Z")
	if ev, _ := Parse(f); !ev.Time.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("Parse with an RFC 3339 Timestamp: Time = %v", ev.Time)
	}

	tests := []struct {
		field, value string
	}{
		{"EventType", ""}, {"EventType", "TASK.COMPLETED"}, {"EventType", "nodot"}, {"EventType", strings.Repeat("a", 70) + ".x"},
		{"AccountSid", ""}, {"AccountSid", "AC123"}, {"WorkspaceSid", "WS../../x"}, {"TaskSid", "WT" + strings.Repeat("g", 32)},
		{"Timestamp", "yesterday"}, {"Timestamp", "-5"}, {"TimestampMs", "1e12"},
	}
	for _, tt := range tests {
		f := validForm()
		f.Set(tt.field, tt.value)
		_, err := Parse(f)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Parse(%s=%q) error = %v, want a *FieldError for %s", tt.field, tt.value, err, tt.field)
		}
	}
}

func TestCheckAccountAndAge(t *testing.T) {
	ev, _ := Parse(validForm())
	if err := ev.CheckAccount(acct); err != nil {
		t.Errorf("CheckAccount(own) = %v", err)
	}
	if err := ev.CheckAccount("AC" + strings.Repeat("f", 32)); !errors.Is(err, ErrWrongAccount) {
		t.Errorf("CheckAccount(other) = %v, want ErrWrongAccount", err)
	}
	at := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"fresh", at.Add(time.Minute), nil},
		{"at the limit", at.Add(15 * time.Minute), nil},
		{"too old", at.Add(15*time.Minute + time.Second), ErrTooOld},
		{"small skew", at.Add(-4 * time.Minute), nil},
		{"from the future", at.Add(-6 * time.Minute), ErrTooOld},
	}
	for _, tt := range tests {
		if err := ev.CheckAge(tt.now, 15*time.Minute); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: CheckAge = %v, want %v", tt.name, err, tt.want)
		}
	}
	ev.Time = time.Time{}
	if err := ev.CheckAge(at.Add(24*time.Hour), time.Minute); err != nil {
		t.Errorf("CheckAge without a timestamp = %v, want nil", err)
	}
}

func TestChannelFromAttributes(t *testing.T) {
	tests := []struct {
		name    string
		attrs   string
		want    Channel
		ok      bool
		errFrom string
	}{
		{"flex task", `{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `"}`, Channel{kd, uo}, true, ""},
		{"fallback conversation_id", `{"conversations":{"conversation_id":"` + kd + `"},"flexInteractionChannelSid":"` + uo + `"}`, Channel{kd, uo}, true, ""},
		{"voice task", `{"call_sid":"CA123","from":"+1555"}`, Channel{}, false, ""},
		{"empty", ``, Channel{}, false, ""},
		{"nulls", `{"flexInteractionSid":null,"flexInteractionChannelSid":null}`, Channel{}, false, ""},
		{"not json", `{"flexInteractionSid":`, Channel{}, false, "TaskAttributes"},
		{"array", `[1,2]`, Channel{}, false, "TaskAttributes"},
		{"deep", strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), Channel{}, false, "TaskAttributes"},
		{"bad channel", `{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"UO/../../Tasks"}`, Channel{}, false, "TaskAttributes.flexInteractionChannelSid"},
		{"number channel", `{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":5}`, Channel{}, false, "TaskAttributes.flexInteractionChannelSid"},
		{"missing interaction", `{"flexInteractionChannelSid":"` + uo + `"}`, Channel{}, false, "TaskAttributes.flexInteractionSid"},
		{"missing channel", `{"flexInteractionSid":"` + kd + `"}`, Channel{}, false, "TaskAttributes.flexInteractionChannelSid"},
		{"swapped", `{"flexInteractionSid":"` + uo + `","flexInteractionChannelSid":"` + kd + `"}`, Channel{}, false, "TaskAttributes.flexInteractionChannelSid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ChannelFromAttributes(tt.attrs)
			var fe *FieldError
			switch {
			case tt.errFrom != "" && (!errors.As(err, &fe) || fe.Field != tt.errFrom):
				t.Errorf("ChannelFromAttributes(%s) error = %v, want a *FieldError for %s", tt.attrs, err, tt.errFrom)
			case tt.errFrom == "" && err != nil:
				t.Errorf("ChannelFromAttributes(%s) error = %v", tt.attrs, err)
			case got != tt.want || ok != tt.ok:
				t.Errorf("ChannelFromAttributes(%s) = %v, %v, want %v, %v", tt.attrs, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	r := Rules{CloseEvents: []string{"task.completed", "task.canceled", "workflow.timeout"}}
	ev, _ := Parse(validForm())
	tests := []struct {
		name   string
		mutate func(*Event)
		close  bool
		reason string
		err    bool
	}{
		{"completed flex task", func(*Event) {}, true, ReasonCloseEvent, false},
		{"workflow timeout", func(e *Event) {
			e.Type, e.ResourceType, e.AssignmentStatus = "workflow.timeout", "Workflow", "canceled"
		}, true, ReasonCloseEvent, false},
		{"completed event of an assigned task", func(e *Event) { e.AssignmentStatus = "assigned" }, false, ReasonStatusMismatch, false},
		{"canceled event without a status", func(e *Event) { e.Type, e.AssignmentStatus = "task.canceled", "" }, false, ReasonStatusMissing, false},
		{"status mismatch with bad attributes", func(e *Event) { e.AssignmentStatus = "pending"; e.Attributes = "{" }, false, ReasonStatusMismatch, false},
		{"other event", func(e *Event) { e.Type = "task.created" }, false, ReasonNotConfigured, false},
		{"not configured", func(e *Event) { e.Type = "task.deleted" }, false, ReasonNotConfigured, false},
		{"worker event", func(e *Event) { e.Type = "task.canceled"; e.TaskSID = "" }, false, ReasonNotTask, false},
		{"voice task", func(e *Event) { e.Attributes = `{"call_sid":"CA1"}` }, false, ReasonNotFlex, false},
		{"no workspace", func(e *Event) { e.WorkspaceSID = "" }, false, "", true},
		{"bad attributes", func(e *Event) { e.Attributes = "{" }, false, "", true},
		{"ignored event with bad attributes", func(e *Event) { e.Type = "task.updated"; e.Attributes = "{" }, false, ReasonNotConfigured, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ev
			tt.mutate(&e)
			d, err := r.Decide(e)
			if (err != nil) != tt.err || d.Close != tt.close || d.Reason != tt.reason {
				t.Errorf("Decide(%s) = %+v, %v; want close %v reason %q err %v", e.Type, d, err, tt.close, tt.reason, tt.err)
			}
			if d.Close && (d.Channel != Channel{kd, uo}) {
				t.Errorf("Decide channel = %v", d.Channel)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	f, err := ParseJSON([]byte(`{"EventType":"task.completed","AccountSid":"` + acct + `"}`))
	if err != nil || f.Get("EventType") != "task.completed" {
		t.Errorf("ParseJSON = %v, %v", f, err)
	}
	for _, body := range []string{`[]`, `null`, `{"a":1}`, `{"a":{"b":"c"}}`, `{`} {
		if _, err := ParseJSON([]byte(body)); !errors.As(err, new(*FieldError)) {
			t.Errorf("ParseJSON(%s) = %v, want *FieldError", body, err)
		}
	}
}
