package dependencies

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/metrics"
)

// The metrics' Function dimension is the Lambda function name, which is
// unique per stack, so two stacks in one account and Region never share
// metrics or alarms; outside Lambda the role name stands in.
func TestStartFunctionDimension(t *testing.T) {
	tests := []struct {
		name, env, want string
	}{
		{"in Lambda", "flexhook-prod-WebhookFunction-AbC123dEf456", "flexhook-prod-WebhookFunction-AbC123dEf456"},
		{"outside Lambda", "", "webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := newSM(t)
			sm.Put("flexhook/twilio", secretDoc)
			getenv := func(k string) string {
				if k == "AWS_LAMBDA_FUNCTION_NAME" {
					return tt.env
				}
				return ""
			}
			var out bytes.Buffer
			k, err := Start(context.Background(), config.Common{SecretID: "flexhook/twilio"}, "webhook", &out, getenv)
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			k.Metrics.Record(metrics.Request{Route: "taskrouter", Outcome: "closed"})
			var doc map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &doc); err != nil {
				t.Fatalf("EMF line %q: %v", out.String(), err)
			}
			if doc["Function"] != tt.want {
				t.Errorf("Function dimension with AWS_LAMBDA_FUNCTION_NAME=%q = %v, want %q", tt.env, doc["Function"], tt.want)
			}
		})
	}
}
