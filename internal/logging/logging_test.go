package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/secrets"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.With("route", "/taskrouter").InfoContext(ctx, "handled", "token", secrets.NewValue("s3cr3t"))
	log.DebugContext(ctx, "hidden")

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line %q is not one JSON object: %v", buf.String(), err)
	}
	for k, want := range map[string]any{
		"message": "handled", "level": "INFO", "requestId": "req-1", "route": "/taskrouter", "token": "REDACTED",
	} {
		if got[k] != want {
			t.Errorf("log field %q = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["timestamp"]; !ok {
		t.Errorf("log line has no timestamp: %s", buf.String())
	}
	if bytes.Contains(buf.Bytes(), []byte("s3cr3t")) || bytes.Contains(buf.Bytes(), []byte("hidden")) {
		t.Errorf("log leaked a secret or a debug line: %s", buf.String())
	}
}
