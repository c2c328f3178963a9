package flextest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

func TestListen(t *testing.T) {
	s := flextest.New(flextest.Options{Credentials: map[string]string{testAccount: testToken}})
	ch := s.AddChannel(flextest.Channel{})
	base, stop, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen error: %v", err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("Listen URL = %q, want http://127.0.0.1:port", base)
	}
	tr, err := flextest.NewTransport(base, nil)
	if err != nil {
		t.Fatalf("NewTransport(%q) error: %v", base, err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(testAccount, testToken),
		HTTPClient:  &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
	flex := flexv1.NewApiService(&client.RequestHandler{Client: c})
	if _, err := flex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err != nil {
		t.Errorf("FetchInteractionChannel through Listen: %v", err)
	}
	if err := stop(context.Background()); err != nil {
		t.Errorf("stop error: %v", err)
	}
	if err := stop(context.Background()); err != nil {
		t.Errorf("second stop error: %v", err)
	}
	if _, err := flex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err == nil {
		t.Errorf("FetchInteractionChannel after stop succeeded")
	}
}

func TestListenAddresses(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr error // nil: listening works
	}{
		{"localhost:0", nil},
		{":0", nil},
		{"[::1]:0", nil},
		{"127.0.0.2:0", nil},
		{"0.0.0.0:0", flextest.ErrNotLoopback},
		{"[::]:0", flextest.ErrNotLoopback},
		{"192.0.2.1:0", flextest.ErrNotLoopback},
		{"example.com:0", flextest.ErrNotLoopback},
	}
	s := flextest.New(flextest.Options{})
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			base, stop, err := s.Listen(tt.addr)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Listen(%q) = %q, %v; want %v", tt.addr, base, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				if strings.Contains(err.Error(), "assign requested address") {
					t.Skipf("Listen(%q): loopback address not configured here: %v", tt.addr, err)
				}
				t.Fatalf("Listen(%q) error: %v", tt.addr, err)
			}
			if err := stop(context.Background()); err != nil {
				t.Errorf("stop error: %v", err)
			}
		})
	}
	if _, _, err := s.Listen("no-port"); err == nil {
		t.Errorf("Listen(%q) succeeded, want an error", "no-port")
	}
}

func TestNewTransport(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"http://127.0.0.1:8089", true},
		{"https://localhost", true},
		{"127.0.0.1:8089", false},
		{"ftp://127.0.0.1", false},
		{"http://", false},
		{"://x", false},
	}
	for _, tt := range tests {
		_, err := flextest.NewTransport(tt.in, nil)
		if got := err == nil; got != tt.want {
			t.Errorf("NewTransport(%q) error = %v, want ok %v", tt.in, err, tt.want)
		}
	}
}

// TestTransportKeepsRequest checks that RoundTrip rewrites only the scheme
// and host, on a copy.
func TestTransportKeepsRequest(t *testing.T) {
	var got *http.Request
	tr, err := flextest.NewTransport("http://127.0.0.1:9", roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "https://flex-api.twilio.com/v1/Interactions/KD1/Channels/UO1?x=1", strings.NewReader("Status=closed"))
	req.Header.Set("X-Test", "yes")
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != "http://127.0.0.1:9/v1/Interactions/KD1/Channels/UO1?x=1" || got.Host != "127.0.0.1:9" || got.Header.Get("X-Test") != "yes" {
		t.Errorf("rewritten request = %s host %s headers %v", got.URL, got.Host, got.Header)
	}
	if req.URL.Host != "flex-api.twilio.com" {
		t.Errorf("RoundTrip modified the original request URL to %s", req.URL)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
