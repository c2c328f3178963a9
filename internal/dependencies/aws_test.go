package dependencies

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// isolate keeps the host's AWS files and variables out of the test.
func isolate(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
}

func TestLoadAWS(t *testing.T) {
	tests := []struct {
		name       string
		region     string
		wantRegion string
		wantErr    error
	}{
		{name: "region from AWS_REGION", region: "eu-west-1", wantRegion: "eu-west-1"},
		{name: "no region", region: "", wantErr: ErrNoRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", tt.region)
			t.Setenv("AWS_DEFAULT_REGION", "")
			cfg, err := LoadAWS(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadAWS() error = %v, want %v", err, tt.wantErr)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("LoadAWS() region = %q, want %q", cfg.Region, tt.wantRegion)
			}
		})
	}
}

// The per-service endpoint variables reach every client built from the
// configuration: this is how the worker finds goaws and dynalite locally.
func TestLoadAWSServiceEndpoints(t *testing.T) {
	var target atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.Store(r.Header.Get("X-Amz-Target"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"QueueUrl":"http://127.0.0.1/000000000000/q"}`))
	}))
	defer srv.Close()
	isolate(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_SQS", srv.URL)
	cfg, err := LoadAWS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := sqs.NewFromConfig(cfg).GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
	if err != nil {
		t.Fatalf("GetQueueUrl through AWS_ENDPOINT_URL_SQS: %v", err)
	}
	if got := target.Load(); got != "AmazonSQS.GetQueueUrl" || aws.ToString(out.QueueUrl) == "" {
		t.Errorf("request reached the endpoint as %v (queue URL %q), want AmazonSQS.GetQueueUrl", got, aws.ToString(out.QueueUrl))
	}
}
