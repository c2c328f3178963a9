package samples

import (
	"bytes"
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/webhook"
)

var update = flag.Bool("update", false, "rewrite events/*.json from the samples")

const eventsDir = "../../../events"

// TestEventFiles keeps events/ equal to the samples: every sample has its
// file, byte for byte, and there is no file without a sample.
func TestEventFiles(t *testing.T) {
	var names []string
	for _, s := range append(All(), Sources()...) {
		want, err := s.File()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		path := filepath.Join(eventsDir, s.Name+".json")
		names = append(names, s.Name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing (%v): run `make events`", path, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	sourceFiles, _ := filepath.Glob(filepath.Join(eventsDir, SourcesDir, "*.json"))
	for _, f := range append(files, sourceFiles...) {
		if rel, _ := filepath.Rel(eventsDir, f); !slices.Contains(names, filepath.ToSlash(rel)) {
			t.Errorf("%s has no sample: remove it or add it to internal/local/samples", f)
		}
	}
}

// secret serves the local test secret, to the handler and to the client.
type secret struct{ t *secrets.Twilio }

func (s secret) Get(context.Context) (*secrets.Twilio, error)           { return s.t, nil }
func (s secret) Refresh(context.Context) (*secrets.Twilio, bool, error) { return s.t, false, nil }

type creds struct{ t *secrets.Twilio }

func (c creds) Credentials(context.Context) (flex.Credentials, error) {
	u, p := c.t.RESTCredentials()
	return flex.Credentials{AccountSID: c.t.AccountSID, Username: u, Password: p}, nil
}
func (creds) Refresh(context.Context) (bool, error) { return false, nil }

// TestSamplesBehave runs every event file through the real handler against a
// seeded simulator and checks the documented outcome.
func TestSamplesBehave(t *testing.T) {
	sec, err := secrets.Parse([]byte(SecretJSON()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(All(), Sources()...) {
		t.Run(s.Name, func(t *testing.T) {
			fake := flextest.New(flextest.Options{AccountSID: AccountSID, Credentials: map[string]string{AccountSID: AuthToken}})
			Seed(fake)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			api, err := flex.New(creds{sec}, flex.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadWebhook(func(k string) string {
				return map[string]string{config.EnvSecretID: "local", config.EnvWorkspaceSID: WorkspaceSID, config.EnvCRMSources: CRMSourcesJSON()}[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			// Zendesk and HubSpot signatures cover a time: replay on the
			// clock they were signed at.
			now := func() time.Time { return SignedAt().Add(time.Minute) }
			process := closejob.NewProcessor(channelclose.New(api, channelclose.Options{DryRun: cfg.DryRun}), nil, now)
			h := webhook.New(cfg, process, secret{sec}, api, logging.New(&logs, cfg.LogLevel), webhook.Options{Now: now})
			if err := h.CheckCRMSources(context.Background()); err != nil {
				t.Fatalf("the local secret lacks a source secret: %v", err)
			}
			payload, err := os.ReadFile(filepath.Join(eventsDir, s.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := h.Invoke(context.Background(), payload)
			resp, err := gatewaytest.ParseResponse(out)
			if err != nil || resp.Status != s.WantStatus {
				t.Fatalf("%s answered %d %s (%v), want %d\nlogs: %s", s.Name, resp.Status, resp.Body, err, s.WantStatus, logs.String())
			}
			if s.WantChannel != "" {
				for _, ch := range append([]*Channel{s.Channel}, s.Also...) {
					got, _ := fake.Channel(ch.InteractionSID, ch.ChannelSID)
					if got.Status != s.WantChannel {
						t.Errorf("channel %s after %s = %s, want %s", ch.ChannelSID, s.Name, got.Status, s.WantChannel)
					}
				}
			}
			if strings.Contains(logs.String(), AuthToken) || strings.Contains(logs.String(), ZendeskSigningSecret) || strings.Contains(logs.String(), SalesforceToken) {
				t.Errorf("logs contain the auth token")
			}
		})
	}
}
