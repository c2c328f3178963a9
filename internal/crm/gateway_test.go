package crm

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/gateway"
)

// TestVerifyDecodedEvent runs a signed HTTP API event, whose header names
// API Gateway lower-cases, through gateway.Decode and then Verify.
func TestVerifyDecodedEvent(t *testing.T) {
	body := []byte(`{"task_sid":"` + wt + `"}`)
	ts := time.Unix(1_760_000_000, 0)
	signed := mustSign(t, secretA, "msg_1", ts, body)
	event, err := json.Marshal(map[string]any{
		"version": "2.0",
		"rawPath": "/crm",
		"headers": map[string]string{
			"content-type":      "application/json",
			"webhook-id":        signed.Get(HeaderID),
			"webhook-timestamp": signed.Get(HeaderTimestamp),
			"webhook-signature": signed.Get(HeaderSignature),
		},
		"requestContext":  map[string]any{"stage": "$default", "http": map[string]string{"method": "POST"}},
		"body":            base64.StdEncoding.EncodeToString(body),
		"isBase64Encoded": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := gateway.Decode(event, gateway.Options{})
	if err != nil {
		t.Fatalf("gateway.Decode: %v", err)
	}
	v := mustVerifier(t, Config{Secrets: []string{secretA}})
	if err := v.Verify(req.Header, req.Body, ts); err != nil {
		t.Errorf("Verify(decoded event) = %v, want nil", err)
	}
	if got, err := Parse(req.Body); err != nil || got.TaskSID != wt {
		t.Errorf("Parse(decoded body) = %+v, %v; want task %s", got, err, wt)
	}
}
