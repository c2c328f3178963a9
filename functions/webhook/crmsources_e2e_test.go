package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/local/samples"
)

// Each CRM source preset, signed now, closes its channels through the
// built binary; delivered again it is answered the same way, and a stale
// copy of the stored file (signed at samples.SignedAt) is refused where the
// scheme signs a time.
func TestCRMSourcesUnderEmulator(t *testing.T) {
	s := startStack(t, "CRM_SOURCES="+samples.CRMSourcesJSON())
	for _, smp := range samples.Sources() {
		payload, err := smp.EventAt(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if r := s.invoke(payload); r.Status != smp.WantStatus {
				t.Errorf("%s delivery %d: status %d %s, want %d", smp.Name, i+1, r.Status, r.Body, smp.WantStatus)
			}
		}
		for _, ch := range append([]*samples.Channel{smp.Channel}, smp.Also...) {
			if got, _ := s.twilio.Channel(ch.InteractionSID, ch.ChannelSID); got.Status != smp.WantChannel {
				t.Errorf("%s: channel %s is %s, want %s", smp.Name, ch.ChannelSID, got.Status, smp.WantChannel)
			}
		}
	}
	stale, _ := samples.Sources()[0].Event() // Zendesk, signed at SignedAt
	if r := s.invoke(stale); r.Status != 401 {
		t.Errorf("stale Zendesk delivery: status %d %s, want 401", r.Status, r.Body)
	}
	for _, leak := range []string{samples.ZendeskSigningSecret, samples.HubSpotClientSecret, samples.SalesforceToken} {
		if strings.Contains(s.logs.String(), leak) {
			t.Errorf("function output contains a source secret")
		}
	}
}

// A source whose scheme needs a secret that the Twilio secret lacks fails
// the cold start, naming the source and the field; so does a bad
// CRM_SOURCES, naming the source and the field.
func TestColdStartCRMSourceErrors(t *testing.T) {
	for _, tt := range []struct {
		name, sources string
		want          []string
	}{
		{"missing secret", `[{"name":"legacy","scheme":"basic","map":{"task_sid":"/wt"}}]`,
			[]string{"CRM source legacy", `crm_sources.legacy`}},
		{"bad pointer", `[{"name":"zendesk","scheme":"zendesk","map":{"task_sid":"wt"}}]`,
			[]string{"CRM_SOURCES source zendesk: field map.task_sid"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, "CRM_SOURCES="+tt.sources)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			payload, _ := samples.All()[0].Event()
			res, err := s.fn.Invoke(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Failed() {
				t.Fatalf("invoke succeeded: %s", res.Payload)
			}
			for _, want := range tt.want {
				if !s.logs.Wait(5*time.Second, func(out string) bool { return strings.Contains(out, want) }) {
					t.Errorf("cold start failure does not say %q:\n%s", want, s.logs)
				}
			}
		})
	}
}
