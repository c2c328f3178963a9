package faults

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

const (
	testAccount = "AC00000000000000000000000000000001"
	testToken   = "flakytoken"
)

// flakyServer serves a simulator with one active channel through a
// FlakyTwilio.
func flakyServer(t *testing.T, o FlakyOptions) (*FlakyTwilio, *flextest.Server, flextest.Channel, *httptest.Server) {
	t.Helper()
	sim := flextest.New(flextest.Options{AccountSID: testAccount, Credentials: map[string]string{testAccount: testToken}})
	ch := sim.AddChannel(flextest.Channel{})
	f := NewFlakyTwilio(sim, o)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, sim, ch, srv
}

// call sends a request to the simulator and returns its status and Twilio
// error code.
func call(t *testing.T, srv *httptest.Server, method, path string, form url.Values) (int, int) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testAccount, testToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Code int `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Code
}

func TestFlakyTwilioInjects(t *testing.T) {
	f, _, ch, srv := flakyServer(t, FlakyOptions{Share: 1, Seed: 3, Failures: []Failure{
		{Name: "503", Weight: 1, Fault: flextest.Unavailable(1)},
		{Name: "429", Weight: 1, Fault: flextest.RateLimited(0, 1)},
	}})
	path := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	for i := range 20 {
		status, code := call(t, srv, http.MethodGet, path, nil)
		if (status != 503 || code != 20503) && (status != 429 || code != 20429) {
			t.Fatalf("request %d answered %d (code %d), want an injected 503 or 429 in Twilio's error JSON", i, status, code)
		}
	}
	st := f.Stats()
	if st.Requests != 20 || st.Total() != 20 || st.Injected["503"] == 0 || st.Injected["429"] == 0 {
		t.Errorf("Stats = %+v, want 20 requests, all failed, both kinds drawn", st)
	}
}

func TestFlakyTwilioShareAndSpare(t *testing.T) {
	f, _, ch, srv := flakyServer(t, FlakyOptions{Share: 0.25, Seed: 5, Spare: func(p string) bool { return strings.HasSuffix(p, "/spared") }})
	path := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	failed := 0
	for range 400 {
		if status, _ := call(t, srv, http.MethodGet, path, nil); status != http.StatusOK {
			failed++
		}
	}
	if st := f.Stats(); failed != st.Total() || failed < 60 || failed > 140 {
		t.Errorf("%d of 400 requests failed (Stats %+v), want about 100, each one counted", failed, st)
	}
	before := f.Stats().Total()
	for range 50 {
		call(t, srv, http.MethodGet, "/v1/Interactions/"+ch.InteractionSID+"/Channels/spared", nil)
	}
	if got := f.Stats().Total(); got != before {
		t.Errorf("spared requests got %d failures, want none", got-before)
	}
}

// The timeline orders requests and changes; a close effect is recorded at
// its place, a repeated close is not an effect.
func TestFlakyTwilioTimeline(t *testing.T) {
	f, sim, ch, srv := flakyServer(t, FlakyOptions{})
	path := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	first := f.Do(func() {})
	call(t, srv, http.MethodGet, path, nil)
	call(t, srv, http.MethodPost, path, url.Values{"Status": {"closed"}, "Routing": {`{"status":"closed"}`}})
	call(t, srv, http.MethodPost, path, url.Values{"Status": {"closed"}, "Routing": {`{"status":"closed"}`}})
	last := f.Do(func() {})
	closes := f.Closes()
	if len(closes) != 1 || closes[0].ChannelSID != ch.SID || closes[0].Seq != first+2 || last != first+4 {
		t.Errorf("Closes = %v (timeline %d..%d), want one close of %s at %d", closes, first, last, ch.SID, first+2)
	}
	if sim.CloseCount(ch.SID) != 1 {
		t.Errorf("CloseCount = %d, want 1", sim.CloseCount(ch.SID))
	}
}

func TestLiveCloses(t *testing.T) {
	lives := []Life{
		{TaskSID: "WT1", ChannelSID: "UO1", Start: 1, End: 10},
		{TaskSID: "WT2", ChannelSID: "UO1", Start: 5, End: 20},
		{TaskSID: "WT3", ChannelSID: "UO2", Start: 2},
		{TaskSID: "WT4", ChannelSID: "UO3", Start: 30, End: 31},
	}
	tests := []struct {
		name  string
		close Close
		live  bool
	}{
		{"after every task ended", Close{"UO1", 21}, false},
		{"while the transfer target was live", Close{"UO1", 15}, true},
		{"while both were live", Close{"UO1", 7}, true},
		{"a task that never ends", Close{"UO2", 100}, true},
		{"before the task existed", Close{"UO3", 29}, false},
		{"a channel without tasks", Close{"UO9", 5}, false},
	}
	for _, tt := range tests {
		got := LiveCloses([]Close{tt.close}, lives)
		if (len(got) == 1) != tt.live {
			t.Errorf("%s: LiveCloses(%v) = %v, want live %v", tt.name, tt.close, got, tt.live)
		}
	}
	all := []Close{{"UO1", 21}, {"UO1", 15}, {"UO2", 100}}
	if got := LiveCloses(all, lives); !slices.Equal(got, []Close{{"UO1", 15}, {"UO2", 100}}) {
		t.Errorf("LiveCloses(%v) = %v", all, got)
	}
}
