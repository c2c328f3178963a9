package crm

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Zendesk event-connectors page documents this example with the order
// BODY + TIMESTAMP (tRDSF…); standard Zendesk webhooks sign TIMESTAMP +
// BODY, which for the same inputs is Rry/4T… (both recomputed in
// /work/shared/reference/crm.md from the documented formula, not by
// flexhook's signer). Verify must accept the second and refuse the first.
func TestVerifyZendeskDocumentedExample(t *testing.T) {
	const (
		secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
		body   = `{"say": "hello"}`
		ts     = "2021-07-25T10:00:00Z"
	)
	now := time.Date(2021, 7, 25, 10, 2, 0, 0, time.UTC)
	hdr := func(sig string) http.Header {
		return http.Header{HeaderZendeskSignature: {sig}, HeaderZendeskTimestamp: {ts}}
	}
	if err := VerifyZendesk(hdr("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="), []byte(body), []string{"other-secret", secret}, now, 0); err != nil {
		t.Errorf("VerifyZendesk(documented TIMESTAMP+BODY signature) = %v, want nil", err)
	}
	if err := VerifyZendesk(hdr("tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="), []byte(body), []string{secret}, now, 0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyZendesk(BODY+TIMESTAMP signature) = %v, want ErrBadSignature", err)
	}
	if got := ZendeskSignature(secret, ts, []byte(body)); got != "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=" {
		t.Errorf("ZendeskSignature = %s, want the documented value", got)
	}
	tests := []struct {
		name string
		h    http.Header
		now  time.Time
		want error
	}{
		{"unsigned", http.Header{}, now, ErrNotSigned},
		{"no timestamp", http.Header{HeaderZendeskSignature: {"x"}}, now, ErrMalformedHeader},
		{"epoch timestamp", http.Header{HeaderZendeskSignature: {"x"}, HeaderZendeskTimestamp: {"1627207200"}}, now, ErrMalformedHeader},
		{"repeated signature", http.Header{HeaderZendeskSignature: {"x", "y"}, HeaderZendeskTimestamp: {ts}}, now, ErrMalformedHeader},
		{"stale", hdr("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="), now.Add(5*time.Minute + time.Second), ErrTimestamp},
		{"future", hdr("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="), now.Add(-8 * time.Minute), ErrTimestamp},
		{"edge of tolerance", hdr("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="), time.Date(2021, 7, 25, 10, 5, 0, 0, time.UTC), nil},
		{"other body", hdr("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="), now, ErrBadSignature},
	}
	for _, tt := range tests {
		b := body
		if tt.name == "other body" {
			b = `{"say": "bye"}`
		}
		if err := VerifyZendesk(tt.h, []byte(b), []string{secret}, tt.now, 0); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: VerifyZendesk = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// The v3 vector is computed with Python's hmac from HubSpot's documented
// formula, METHOD + URI + BODY + TIMESTAMP, over the URI with the listed
// escapes (%3A, %40) decoded.
func TestVerifyHubSpotV3(t *testing.T) {
	const (
		secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
		body   = `{"interaction_sid":"KD00000000000000000000000000000e01"}`
		ts     = "1700000000000"
		sig    = "2jEWlxr3RiqYHAtr5x29lihnT3Wg0XYN4b/6fFTX8yc="
		called = "https://www.example.com/webhook_uri?a=b%3Ac%40d"
	)
	now := time.UnixMilli(1700000000000).Add(time.Minute)
	h := http.Header{HeaderHubSpotSignature: {sig}, HeaderHubSpotTimestamp: {ts}}
	if err := VerifyHubSpotV3("POST", called, h, []byte(body), []string{"old", secret}, now, 0); err != nil {
		t.Fatalf("VerifyHubSpotV3(vector) = %v, want nil", err)
	}
	if got := HubSpotURI(called); got != "https://www.example.com/webhook_uri?a=b:c@d" {
		t.Errorf("HubSpotURI = %q", got)
	}
	if got := HubSpotURI("https://x/a%2fb%20c%3b"); got != "https://x/a/b%20c;" {
		t.Errorf("HubSpotURI keeps unlisted escapes: got %q", got)
	}
	for _, tt := range []struct {
		name, method, url string
		now               time.Time
		want              error
	}{
		{"older than 5 minutes", "POST", called, now.Add(5 * time.Minute), ErrTimestamp},
		{"from the future", "POST", called, now.Add(-10 * time.Minute), ErrTimestamp},
		{"other method", "PUT", called, now, ErrBadSignature},
		{"other URL", "POST", "https://www.example.com/webhook_uri", now, ErrBadSignature},
	} {
		if err := VerifyHubSpotV3(tt.method, tt.url, h, []byte(body), []string{secret}, tt.now, 0); !errors.Is(err, tt.want) {
			t.Errorf("%s: VerifyHubSpotV3 = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := VerifyHubSpotV3("POST", called, http.Header{HeaderHubSpotSignature: {sig}, HeaderHubSpotTimestamp: {"17e11"}}, []byte(body), []string{secret}, now, 0); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("bad timestamp: %v, want ErrMalformedHeader", err)
	}
}

func TestVerifyBasicAndToken(t *testing.T) {
	basic := func(s string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(s))}}
	}
	creds := []string{"zendesk:old-password", "zendesk:new-password"}
	for _, tt := range []struct {
		name string
		h    http.Header
		want error
	}{
		{"rotated credential", basic("zendesk:new-password"), nil},
		{"wrong password", basic("zendesk:guess"), ErrBadToken},
		{"prefix of a password", basic("zendesk:new-passwor"), ErrBadToken},
		{"no header", http.Header{}, ErrNotSigned},
		{"bearer", http.Header{"Authorization": {"Bearer zendesk:new-password"}}, ErrMalformedHeader},
		{"not base64", http.Header{"Authorization": {"Basic %%%"}}, ErrMalformedHeader},
		{"no colon", basic("zendesk"), ErrMalformedHeader},
	} {
		if err := VerifyBasic(tt.h, creds); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: VerifyBasic = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := VerifyToken("tok-0123456789abcdef", []string{"tok-0123456789abcdef"}); err != nil {
		t.Errorf("VerifyToken(match) = %v", err)
	}
	if err := VerifyToken("tok-0123456789abcdeX", []string{"tok-0123456789abcdef"}); !errors.Is(err, ErrBadToken) {
		t.Errorf("VerifyToken(mismatch) = %v", err)
	}
}

func TestVerifyOrgID(t *testing.T) {
	const id18 = "00D5g000004ABCdEAF"
	for _, tt := range []struct {
		configured, got string
		ok              bool
	}{
		{id18, id18, true},
		{id18[:15], id18, true},
		{id18, id18[:15], true},
		{id18, "00D5g000004ABCdXXX", true},  // the checksum suffix is not compared
		{id18, "00D5g000004ABCDEAF", false}, // case matters in the first 15
		{id18, "00D5g000004ABCe", false},
		{id18, "00D5g000004ABC", false},
		{id18, "", false},
	} {
		err := VerifyOrgID(tt.configured, tt.got)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrWrongOrg)) {
			t.Errorf("VerifyOrgID(%q, %q) = %v, want ok=%v", tt.configured, tt.got, err, tt.ok)
		}
	}
	if !errors.Is(ErrWrongOrg, ErrBadToken) {
		t.Error("ErrWrongOrg does not wrap ErrBadToken")
	}
}

// RFC 6901 section 5's examples.
func TestPointerRFC6901(t *testing.T) {
	doc, err := DecodeDocument([]byte(`{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8,"big":12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ ptr, want string }{
		{"/foo/0", "bar"}, {"/", "0"}, {"/a~1b", "1"}, {"/c%d", "2"}, {"/e^f", "3"}, {"/g|h", "4"},
		{`/i\j`, "5"}, {`/k"l`, "6"}, {"/ ", "7"}, {"/m~0n", "8"}, {"/big", "12345678901234567890"},
	} {
		p, err := ParsePointer(tt.ptr)
		if err != nil {
			t.Fatalf("ParsePointer(%q) = %v", tt.ptr, err)
		}
		v, ok := p.Resolve(doc)
		got, _ := scalarText(v)
		if !ok || got != tt.want {
			t.Errorf("Resolve(%q) = %v, %v, want %s", tt.ptr, v, ok, tt.want)
		}
	}
	for _, missing := range []string{"/foo/2", "/foo/-", "/foo/01", "/nope", "/foo/0/x"} {
		p, _ := ParsePointer(missing)
		if v, ok := p.Resolve(doc); ok {
			t.Errorf("Resolve(%q) = %v, want not found", missing, v)
		}
	}
	for _, bad := range []string{"foo", "/a~2", "/a~"} {
		if _, err := ParsePointer(bad); !errors.Is(err, ErrBadPointer) {
			t.Errorf("ParsePointer(%q) = %v, want ErrBadPointer", bad, err)
		}
	}
}

func TestParseSourcesErrors(t *testing.T) {
	good := `{"name":"zd","scheme":"zendesk","map":{"interaction_sid":"/kd","channel_sid":"/uo"}}`
	for _, tt := range []struct {
		name, text, source, field string
	}{
		{"not an array", `{"name":"zd"}`, "list", ""},
		{"unknown scheme", `[{"name":"zd","scheme":"webhook","map":{"task_sid":"/wt"}}]`, "zd", "scheme"},
		{"bad pointer", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"wt"}}]`, "zd", "map.task_sid"},
		{"bad escape", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/a~2"}}]`, "zd", "map.task_sid"},
		{"duplicate name", "[" + good + "," + good + "]", "zd", "name"},
		{"missing mapping", `[{"name":"zd","scheme":"zendesk","map":{"status":"closed"}}]`, "zd", "map"},
		{"channel without interaction", `[{"name":"zd","scheme":"zendesk","map":{"channel_sid":"/uo"}}]`, "zd", "map.interaction_sid"},
		{"unknown map key", `[{"name":"zd","scheme":"zendesk","map":{"ticket":"/t","task_sid":"/wt"}}]`, "zd", "map.ticket"},
		{"two unknown map keys (the first named)", `[{"name":"zd","scheme":"zendesk","map":{"zz":"/z","ticket":"/t","yy":"/y","task_sid":"/wt"}}]`, "zd", "map.ticket"},
		{"condition without value", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/wt"},"when":{"pointer":"/s"}}]`, "zd", "when.equals"},
		{"condition with object", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/wt"},"when":{"pointer":"/s","equals":{}}}]`, "zd", "when.equals"},
		{"condition without pointer", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/wt"},"when":{"equals":"solved"}}]`, "zd", "when.pointer"},
		{"org id too short", `[{"name":"sf","scheme":"salesforce-outbound","org_id":"00D5g000004ABC","map":{"task_sid":"Task__c"}}]`, "sf", "org_id"},
		{"org id on zendesk", `[{"name":"zd","scheme":"zendesk","org_id":"00D5g000004ABCd","map":{"task_sid":"/wt"}}]`, "zd", "org_id"},
		{"salesforce pointer", `[{"name":"sf","scheme":"salesforce-outbound","org_id":"00D5g000004ABCd","map":{"task_sid":"/Task__c"}}]`, "sf", "map.task_sid"},
		{"reserved name", `[{"name":"default","scheme":"bearer","map":{"task_sid":"/wt"}}]`, "default", "name"},
		{"bad name", `[{"name":"Zen Desk","scheme":"bearer","map":{"task_sid":"/wt"}}]`, "#1", "name"},
		{"unknown field", `[{"name":"zd","scheme":"bearer","map":{"task_sid":"/wt"},"secret":"x"}]`, "zd", ""},
		{"key in another case", `[{"name":"zd","scheme":"zendesk","Scheme":"bearer","map":{"task_sid":"/t"}}]`, "zd", "Scheme"},
		{"repeated key", `[{"name":"zd","scheme":"zendesk","scheme":"bearer","map":{"task_sid":"/t"}}]`, "zd", "scheme"},
		{"repeated map key", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/t","task_sid":"/u"}}]`, "zd", "map.task_sid"},
		{"condition key in another case", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/t"},"when":{"Pointer":"/s","equals":"x"}}]`, "zd", "when.Pointer"},
		{"repeated condition key", `[{"name":"zd","scheme":"zendesk","map":{"task_sid":"/t"},"when":{"pointer":"/s","equals":"x","equals":"y"}}]`, "zd", "when.equals"},
		{"id pointer on standard-webhooks", `[{"name":"sd","scheme":"standard-webhooks","id":"/x","map":{"task_sid":"/t"}}]`, "sd", "id"},
	} {
		_, err := ParseSources(tt.text)
		var se *SourceError
		if !errors.As(err, &se) {
			t.Errorf("%s: ParseSources = %v, want a *SourceError", tt.name, err)
			continue
		}
		if se.Source != tt.source || se.Field != tt.field {
			t.Errorf("%s: ParseSources error names source %q field %q, want %q %q (%v)", tt.name, se.Source, se.Field, tt.source, tt.field, err)
		}
	}
	srcs, err := ParseSources("[" + good + `,{"name":"sf","scheme":"salesforce-outbound","org_id":"00D5g000004ABCdEAF","map":{"interaction_sid":"KD__c","channel_sid":"UO__c","status":"inactive"},"when":{"field":"Status","equals":"Closed"}}]`)
	if err != nil || len(srcs) != 2 || srcs[1].Scheme != SchemeSalesforceOutbound {
		t.Fatalf("ParseSources(good) = %v, %v", srcs, err)
	}
	if s, err := ParseSources("  "); s != nil || err != nil {
		t.Errorf("ParseSources(blank) = %v, %v", s, err)
	}
}

const (
	tKD = "KD00000000000000000000000000000e01"
	tUO = "UO00000000000000000000000000000e01"
	tWT = "WT00000000000000000000000000000e01"
)

func TestResolveJSON(t *testing.T) {
	srcs, err := ParseSources(`[{"name":"zd","scheme":"zendesk",
		"map":{"interaction_sid":"/ticket/flex~1kd","channel_sid":"/ticket/flex~1uo","task_sid":"/ticket/wt","status":"closed"},
		"when":{"pointer":"/ticket/status","equals":["solved","closed"]},"id":"/ticket/id"}]`)
	if err != nil {
		t.Fatal(err)
	}
	s := &srcs[0]
	body := func(status, kd, uo, wt string) []byte {
		return []byte(`{"ticket":{"id":123456789012345678,"status":"` + status + `","flex/kd":"` + kd + `","flex/uo":"` + uo + `","wt":"` + wt + `"}}`)
	}
	r, err := s.ResolveJSON(body("solved", tKD, tUO, ""))
	if err != nil || r.Ignored || r.Request != (Request{InteractionSID: tKD, ChannelSID: tUO, Status: StatusClosed}) || r.DeliveryID != "123456789012345678" {
		t.Errorf("ResolveJSON(solved) = %+v, %v", r, err)
	}
	r, err = s.ResolveJSON(body("solved", "", "", tWT))
	if err != nil || r.Request.TaskSID != tWT {
		t.Errorf("ResolveJSON(task form) = %+v, %v", r, err)
	}
	r, err = s.ResolveJSON(body("open", "garbage", "", ""))
	if err != nil || !r.Ignored {
		t.Errorf("ResolveJSON(open) = %+v, %v, want ignored", r, err)
	}
	var ve *ValidationError
	if _, err = s.ResolveJSON(body("solved", tKD, "UO123", "")); !errors.As(err, &ve) || !strings.Contains(ve.Field, "/ticket/flex~1uo") {
		t.Errorf("ResolveJSON(bad channel) = %v, want a ValidationError naming the pointer", err)
	}
	if _, err = s.ResolveJSON(body("solved", "", "", "")); !errors.As(err, &ve) {
		t.Errorf("ResolveJSON(nothing) = %v, want a ValidationError", err)
	}
	if _, err = s.ResolveJSON([]byte(`{"ticket":{"status":"solved","flex/kd":1}}`)); !errors.As(err, &ve) {
		t.Errorf("ResolveJSON(number SID) = %v, want a ValidationError", err)
	}
	for _, bad := range []string{``, `{`, `{"a":1}{}`, "\xff", strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		if _, err := s.ResolveJSON([]byte(bad)); !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("ResolveJSON(%q) = %v, want ErrMalformedJSON", bad, err)
		}
	}
}

// A basic source's password is a shared secret like a bearer token: it
// needs at least MinTokenLen characters, and a credential with a shorter
// one is refused when the secret is checked, never used.
func TestNewSourceAuthBasicPassword(t *testing.T) {
	srcs, err := ParseSources(`[{"name":"b","scheme":"basic","map":{"task_sid":"/t"}}]`)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", MinTokenLen)
	for _, tt := range []struct {
		name    string
		secrets []string
		ok      bool
	}{
		{"password of MinTokenLen characters", []string{"admin:" + long}, true},
		{"empty password", []string{"admin:"}, false},
		{"short password", []string{"admin:" + long[1:]}, false},
		{"one short credential among good ones", []string{"admin:" + long, "old:pw"}, false},
		{"no user", []string{":" + long}, false},
	} {
		a, err := NewSourceAuth(&srcs[0], tt.secrets)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadConfig)) {
			t.Errorf("%s: NewSourceAuth = %v, want ok %v (else ErrBadConfig)", tt.name, err, tt.ok)
			continue
		}
		if err != nil && strings.Contains(err.Error(), tt.secrets[len(tt.secrets)-1]) {
			t.Errorf("%s: NewSourceAuth error %q quotes the secret", tt.name, err)
		}
		if a != nil {
			user, pw, _ := strings.Cut(tt.secrets[0], ":")
			h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}}
			if err := a.Verify(Delivery{Header: h}, time.Now()); err != nil {
				t.Errorf("%s: Verify(the credential) = %v", tt.name, err)
			}
		}
	}
}
