package flextest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

var requestIDPattern = regexp.MustCompile(`^RQ[0-9a-f]{32}$`)

// do sends a raw request to the fixture's server.
func (f *fixture) do(t *testing.T, method, path string, form url.Values, user, pass string) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

func TestRawAnswers(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	task := f.fake.AddTask(flextest.Task{WorkspaceSID: testWS})
	chPath := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	bogus := "/v1/Interactions/KD1/Channels/UO1"
	tests := []struct {
		name       string
		method     string
		path       string
		form       url.Values
		user, pass string
		wantStatus int
		wantBody   string // exact JSON for errors; empty to skip
		wantHeader map[string]string
	}{
		{
			name: "unknown path", method: "GET", path: "/v1/Nope", user: testAccount, pass: testToken,
			wantStatus: 404,
			wantBody:   `{"code":20404,"message":"The requested resource /v1/Nope was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`,
		},
		{
			name: "malformed SIDs", method: "POST", path: bogus, form: url.Values{"Status": {"closed"}}, user: testAccount, pass: testToken,
			wantStatus: 404,
			wantBody:   `{"code":20404,"message":"The requested resource ` + bogus + ` was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`,
		},
		{
			name: "channel delete", method: "DELETE", path: chPath, user: testAccount, pass: testToken,
			wantStatus: 405,
			wantBody:   `{"code":20004,"message":"Method not allowed","more_info":"https://www.twilio.com/docs/errors/20004","status":405}`,
			wantHeader: map[string]string{"Allow": "GET, POST"},
		},
		{
			name: "task post", method: "POST", path: "/v1/Workspaces/" + testWS + "/Tasks/" + task.SID, form: url.Values{}, user: testAccount, pass: testToken,
			wantStatus: 405, wantHeader: map[string]string{"Allow": "GET"},
		},
		{
			name: "no credentials", method: "GET", path: chPath,
			wantStatus: 401,
			wantBody:   `{"code":20003,"detail":"Your AccountSid or AuthToken was incorrect.","message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`,
			wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Twilio API"`},
		},
		{
			name: "wrong password on unknown path", method: "GET", path: "/v1/Nope", user: testAccount, pass: "nope",
			wantStatus: 401, wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Twilio API"`},
		},
		{
			name: "routing with spaces and form keys in any order", method: "POST", path: chPath,
			form: url.Values{"Routing": {" {\n \"status\" : \"closed\" } "}, "Status": {"inactive"}}, user: testKey, pass: testSecret,
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.method, tt.path, tt.form, tt.user, tt.pass)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("%s %s body =\n%s\nwant\n%s", tt.method, tt.path, body, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("%s %s Content-Type = %q, want application/json; charset=utf-8", tt.method, tt.path, ct)
			}
			if id := resp.Header.Get("Twilio-Request-Id"); !requestIDPattern.MatchString(id) {
				t.Errorf("%s %s Twilio-Request-Id = %q, want RQ + 32 hex digits", tt.method, tt.path, id)
			}
			for k, want := range tt.wantHeader {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.path, k, got, want)
				}
			}
			if !json.Valid(body) {
				t.Errorf("%s %s body is not JSON: %s", tt.method, tt.path, body)
			}
		})
	}
}

func TestChannelJSONShape(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	resp, body := f.do(t, "POST", "/v1/Interactions/"+ch.InteractionSID+"/Channels/"+ch.SID,
		url.Values{"Status": {"closed"}}, testAccount, testToken)
	if resp.StatusCode != 200 {
		t.Fatalf("close = %d %s", resp.StatusCode, body)
	}
	u := "https://flex-api.twilio.com/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	want := fmt.Sprintf(`{"sid":%q,"interaction_sid":%q,"type":"chat","status":"closed","error_code":null,"error_message":null,"url":%q,"links":{"invites":%q,"participants":%q,"transfers":%q}}`,
		ch.SID, ch.InteractionSID, u, u+"/Invites", u+"/Participants", u+"/Transfers")
	if string(body) != want {
		t.Errorf("close body =\n%s\nwant\n%s", body, want)
	}
}

func TestRequestLog(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.AddWorkspace(testWS)
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("inactive", true)); err != nil {
		t.Fatalf("close error: %v", err)
	}
	f.clock.Advance(time.Second)
	f.do(t, "GET", "/v1/Workspaces/"+testWS+"/Tasks?AssignmentStatus=assigned", nil, testKey, "wrongsecret")

	reqs := f.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("Requests() = %d entries, want 2", len(reqs))
	}
	post, get := reqs[0], reqs[1]
	if post.Method != "POST" || post.Status != 200 || post.User != testAccount || post.Fault ||
		post.Form.Get("Status") != "inactive" || post.Form.Get("Routing") != `{"status":"closed"}` ||
		!post.Time.Equal(testEpoch) || !requestIDPattern.MatchString(post.RequestID) {
		t.Errorf("POST entry = %+v", post)
	}
	if get.Method != "GET" || get.Status != 401 || get.User != testKey || get.Query.Get("AssignmentStatus") != "assigned" ||
		!get.Time.Equal(testEpoch.Add(time.Second)) {
		t.Errorf("GET entry = %+v", get)
	}
	if dump := fmt.Sprintf("%+v", reqs); strings.Contains(dump, testToken) || strings.Contains(dump, "wrongsecret") {
		t.Errorf("request log holds a password: %s", dump)
	}
	// The log is a copy.
	reqs[0].Form.Set("Status", "changed")
	if got := f.fake.Requests()[0].Form.Get("Status"); got != "inactive" {
		t.Errorf("changing a returned entry changed the log: Status = %q", got)
	}

	counts := []struct {
		method, prefix string
		want           int
	}{
		{"", "", 2},
		{"POST", "/v1/Interactions", 1},
		{"GET", "/v1/Interactions", 0},
		{"", "/v1/Workspaces/" + testWS, 1},
	}
	for _, c := range counts {
		if got := f.fake.Count(c.method, c.prefix); got != c.want {
			t.Errorf("Count(%q, %q) = %d, want %d", c.method, c.prefix, got, c.want)
		}
	}
	f.fake.Reset()
	if n, closes := len(f.fake.Requests()), f.fake.CloseCount(ch.SID); n != 0 || closes != 0 {
		t.Errorf("after Reset: %d requests, CloseCount %d; want 0, 0", n, closes)
	}
	if got, _ := f.fake.Channel(ch.InteractionSID, ch.SID); got.Status != "inactive" {
		t.Errorf("Reset changed the channel to %q", got.Status)
	}
}

func TestLogLimit(t *testing.T) {
	f := newFixture(t, func(o *flextest.Options) { o.LogLimit = 3 })
	for i := range 5 {
		f.do(t, "GET", fmt.Sprintf("/v1/Nope%d", i), nil, testAccount, testToken)
	}
	var paths []string
	for _, r := range f.fake.Requests() {
		paths = append(paths, r.Path)
	}
	if got, want := strings.Join(paths, " "), "/v1/Nope2 /v1/Nope3 /v1/Nope4"; got != want {
		t.Errorf("log with limit 3 = %s, want %s", got, want)
	}
}
