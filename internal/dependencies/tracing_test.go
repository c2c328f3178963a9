package dependencies

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/tracing"
)

// With a Tracer, the Secrets Manager and Twilio calls of a sampled
// invocation reach the X-Ray daemon as subsegments; the cold start's own
// fetch, outside any invocation, does not.
func TestNewTwilioTracesCalls(t *testing.T) {
	daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	sm := newSM(t)
	sm.Put("flexhook/twilio", secretDoc)
	fake := flextest.New(flextest.Options{Credentials: map[string]string{"SK0123456789abcdef0123456789abcdef": "keysecret"}})
	ch := fake.AddChannel(flextest.Channel{})
	tw := httptest.NewServer(fake)
	defer tw.Close()

	tr := tracing.New(tracing.Options{DaemonAddr: daemon.LocalAddr().String()})
	defer tr.Close()
	api, err := NewTwilio(context.Background(), TwilioOptions{SecretID: "flexhook/twilio", APIBaseURL: tw.URL, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tracing.ContextWithHeader(context.Background(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if _, _, err := api.Secrets.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.API.FetchChannelCounted(ctx, flex.ChannelRef{InteractionSID: ch.InteractionSID, ChannelSID: ch.SID}); err != nil {
		t.Fatal(err)
	}
	var names, namespaces []string
	buf := make([]byte, 64<<10)
	for range 2 {
		if err := daemon.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _, err := daemon.ReadFrom(buf)
		if err != nil {
			t.Fatalf("subsegments received: %v; then %v", names, err)
		}
		_, body, _ := bytes.Cut(buf[:n], []byte("\n"))
		var doc struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		names, namespaces = append(names, doc.Name), append(namespaces, doc.Namespace)
	}
	if names[0] != "Secrets Manager" || namespaces[0] != "aws" || names[1] != "127.0.0.1" || namespaces[1] != "remote" {
		t.Errorf("subsegments = %v %v, want Secrets Manager (aws) then the Twilio host (remote)", names, namespaces)
	}
}
