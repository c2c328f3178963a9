package secretstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

// fixedNow is the clock of every Server in these tests.
var fixedNow = time.Date(2026, 3, 1, 12, 30, 45, 250_000_000, time.UTC)

// newFake starts a Server behind httptest and returns it with a real SDK
// client pointed at it. The client keeps the SDK's default (standard)
// retryer, with its backoff delays set to zero so that retries run at once.
func newFake(t *testing.T) (*secretstest.Server, *secretsmanager.Client) {
	t.Helper()
	s := secretstest.NewWithOptions(secretstest.Options{Now: func() time.Time { return fixedNow }})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	return s, c
}

func TestGetSecretValue(t *testing.T) {
	s, c := newFake(t)
	v1 := s.Put("flexhook/twilio", `{"v":1}`)
	v2 := s.Put("flexhook/twilio", `{"v":2}`)
	s.Put("other", "x")
	arn := secretstest.ARN("flexhook/twilio")

	tests := []struct {
		name       string
		in         secretsmanager.GetSecretValueInput
		wantValue  string
		wantID     string
		wantStages []string
		wantErr    string // SDK error code; empty for success
	}{
		{"by name", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio")}, `{"v":2}`, v2, []string{"AWSCURRENT"}, ""},
		{"by full ARN", secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}, `{"v":2}`, v2, []string{"AWSCURRENT"}, ""},
		{"by partial ARN", secretsmanager.GetSecretValueInput{SecretId: aws.String(strings.TrimSuffix(arn, arn[len(arn)-7:]))}, `{"v":2}`, v2, []string{"AWSCURRENT"}, ""},
		{"AWSCURRENT", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionStage: aws.String("AWSCURRENT")}, `{"v":2}`, v2, []string{"AWSCURRENT"}, ""},
		{"AWSPREVIOUS", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionStage: aws.String("AWSPREVIOUS")}, `{"v":1}`, v1, []string{"AWSPREVIOUS"}, ""},
		{"by VersionId", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionId: aws.String(v1)}, `{"v":1}`, v1, []string{"AWSPREVIOUS"}, ""},
		{"VersionId and matching stage", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionId: aws.String(v2), VersionStage: aws.String("AWSCURRENT")}, `{"v":2}`, v2, []string{"AWSCURRENT"}, ""},
		{"VersionId and other stage", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionId: aws.String(v2), VersionStage: aws.String("AWSPREVIOUS")}, "", "", nil, "ResourceNotFoundException"},
		{"unknown VersionId", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionId: aws.String("00000000-0000-4000-8000-000000000000")}, "", "", nil, "ResourceNotFoundException"},
		{"unknown stage", secretsmanager.GetSecretValueInput{SecretId: aws.String("flexhook/twilio"), VersionStage: aws.String("AWSPENDING")}, "", "", nil, "ResourceNotFoundException"},
		{"unknown name", secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}, "", "", nil, "ResourceNotFoundException"},
		{"ARN of another secret", secretsmanager.GetSecretValueInput{SecretId: aws.String(secretstest.ARN("nope"))}, "", "", nil, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.GetSecretValue(context.Background(), &tt.in)
			if tt.wantErr != "" {
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Fatalf("GetSecretValue(%s) error = %v, want *types.ResourceNotFoundException", aws.ToString(tt.in.SecretId), err)
				}
				if nf.ErrorCode() != tt.wantErr || nf.ErrorMessage() == "" {
					t.Errorf("GetSecretValue(%s) error code %q message %q, want code %q and a message", aws.ToString(tt.in.SecretId), nf.ErrorCode(), nf.ErrorMessage(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecretValue(%s) error = %v", aws.ToString(tt.in.SecretId), err)
			}
			if got := aws.ToString(out.SecretString); got != tt.wantValue {
				t.Errorf("SecretString = %q, want %q", got, tt.wantValue)
			}
			if got := aws.ToString(out.VersionId); got != tt.wantID {
				t.Errorf("VersionId = %q, want %q", got, tt.wantID)
			}
			if !slices.Equal(out.VersionStages, tt.wantStages) {
				t.Errorf("VersionStages = %q, want %q", out.VersionStages, tt.wantStages)
			}
			if got := aws.ToString(out.Name); got != "flexhook/twilio" {
				t.Errorf("Name = %q, want %q", got, "flexhook/twilio")
			}
			if got := aws.ToString(out.ARN); got != arn {
				t.Errorf("ARN = %q, want %q", got, arn)
			}
			if got := aws.ToTime(out.CreatedDate); !got.Equal(fixedNow) {
				t.Errorf("CreatedDate = %v, want %v", got, fixedNow)
			}
		})
	}
}

func TestARN(t *testing.T) {
	tests := []struct {
		name string
	}{
		{"flexhook/twilio"},
		{"a"},
		{"with spaces and ünicode"},
	}
	for _, tt := range tests {
		got := secretstest.ARN(tt.name)
		prefix := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + tt.name + "-"
		suffix, ok := strings.CutPrefix(got, prefix)
		if !ok || len(suffix) != 6 {
			t.Errorf("ARN(%q) = %q, want %q followed by 6 characters", tt.name, got, prefix)
		}
		if again := secretstest.ARN(tt.name); again != got {
			t.Errorf("ARN(%q) = %q, then %q; want the same", tt.name, got, again)
		}
	}
}

func TestPutRotates(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	v1 := s.Put("creds", "one")
	v2 := s.Put("creds", "two")
	if v2 == "" || v2 == v1 {
		t.Fatalf("Put(creds) VersionId = %q, want a new version id (old %q)", v2, v1)
	}

	// Rotating again moves AWSPREVIOUS on again.
	v3 := s.Put("creds", "three")

	want := []struct {
		stage, value, id string
	}{
		{"AWSCURRENT", "three", v3},
		{"AWSPREVIOUS", "two", v2},
	}
	for _, w := range want {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds"), VersionStage: aws.String(w.stage)})
		if err != nil {
			t.Fatalf("GetSecretValue(creds, %s) error = %v", w.stage, err)
		}
		if aws.ToString(out.SecretString) != w.value || aws.ToString(out.VersionId) != w.id {
			t.Errorf("GetSecretValue(creds, %s) = %q (version %s), want %q (version %s)", w.stage, aws.ToString(out.SecretString), aws.ToString(out.VersionId), w.value, w.id)
		}
	}
	// The first version lost its labels but can still be read by id.
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds"), VersionId: aws.String(v1)})
	if err != nil {
		t.Fatalf("GetSecretValue(creds, %s) error = %v", v1, err)
	}
	if aws.ToString(out.SecretString) != "one" || len(out.VersionStages) != 0 {
		t.Errorf("GetSecretValue(creds, %s) = %q with stages %q, want %q with none", v1, aws.ToString(out.SecretString), out.VersionStages, "one")
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      secretstest.Fault
		wantErr    func(error) bool // nil when the call must succeed
		wantStatus int              // HTTP status of the last answer, when it failed
		wantCalls  int
	}{
		{
			name:      "throttling retried then success",
			fault:     secretstest.Fault{Type: secretstest.CodeThrottling, Times: 2},
			wantCalls: 3,
		},
		{
			name:      "one 500 retried then success",
			fault:     secretstest.Fault{Type: secretstest.CodeInternal, Times: 1},
			wantCalls: 2,
		},
		{
			name:  "persistent 500 exhausts the retryer",
			fault: secretstest.Fault{Type: secretstest.CodeInternal},
			wantErr: func(err error) bool {
				var ise *types.InternalServiceError
				var max *retry.MaxAttemptsError
				return errors.As(err, &ise) && errors.As(err, &max) && max.Attempt == retry.DefaultMaxAttempts
			},
			wantStatus: http.StatusInternalServerError,
			wantCalls:  retry.DefaultMaxAttempts,
		},
		{
			name:  "persistent throttling exhausts the retryer",
			fault: secretstest.Fault{Type: secretstest.CodeThrottling},
			wantErr: func(err error) bool {
				var ae smithy.APIError
				return errors.As(err, &ae) && ae.ErrorCode() == "ThrottlingException" && ae.ErrorMessage() == "Rate exceeded"
			},
			wantStatus: http.StatusBadRequest,
			wantCalls:  retry.DefaultMaxAttempts,
		},
		{
			name:  "access denied not retried",
			fault: secretstest.Fault{Type: secretstest.CodeAccessDenied},
			wantErr: func(err error) bool {
				var ae smithy.APIError
				return errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException" && strings.Contains(ae.ErrorMessage(), "secretsmanager:GetSecretValue")
			},
			wantStatus: http.StatusBadRequest,
			wantCalls:  1,
		},
		{
			name:  "decryption failure is typed and not retried",
			fault: secretstest.Fault{Type: secretstest.CodeDecryption},
			wantErr: func(err error) bool {
				var df *types.DecryptionFailure
				return errors.As(err, &df)
			},
			wantStatus: http.StatusBadRequest,
			wantCalls:  1,
		},
		{
			name:  "service unavailable with a custom message",
			fault: secretstest.Fault{Type: "ServiceUnavailable", Message: "down", Times: 5},
			wantErr: func(err error) bool {
				var ae smithy.APIError
				return errors.As(err, &ae) && ae.ErrorCode() == "ServiceUnavailable" && ae.ErrorMessage() == "down"
			},
			wantStatus: http.StatusServiceUnavailable,
			wantCalls:  retry.DefaultMaxAttempts,
		},
		{
			name:      "fault for another operation",
			fault:     secretstest.Fault{Type: secretstest.CodeAccessDenied, Operation: "secretsmanager.PutSecretValue"},
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newFake(t)
			s.Put("creds", "v")
			s.Inject(tt.fault)
			out, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")})
			if tt.wantErr == nil {
				if err != nil || aws.ToString(out.SecretString) != "v" {
					t.Fatalf("GetSecretValue(creds) = %v, %v; want %q", out, err, "v")
				}
			} else {
				if !tt.wantErr(err) {
					t.Fatalf("GetSecretValue(creds) error = %v (%T), not the expected kind", err, err)
				}
				var re *awshttp.ResponseError
				if !errors.As(err, &re) {
					t.Fatalf("GetSecretValue(creds) error = %v, want an *awshttp.ResponseError inside", err)
				}
				if re.HTTPStatusCode() != tt.wantStatus || re.ServiceRequestID() == "" {
					t.Errorf("GetSecretValue(creds) HTTP status %d, request id %q; want %d and a request id", re.HTTPStatusCode(), re.ServiceRequestID(), tt.wantStatus)
				}
			}
			if got := s.Count(secretstest.OpGetSecretValue); got != tt.wantCalls {
				t.Errorf("Count(GetSecretValue) = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestFaultQueueAndClear(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	s.Put("creds", "v")
	s.Inject(secretstest.Fault{Type: secretstest.CodeAccessDenied, Times: 1})
	s.Inject(secretstest.Fault{Type: secretstest.CodeDecryption, Times: 1})
	s.Inject(secretstest.Fault{Type: secretstest.CodeAccessDenied})

	for _, want := range []string{"AccessDeniedException", "DecryptionFailure", "AccessDeniedException", "AccessDeniedException"} {
		_, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != want {
			t.Fatalf("GetSecretValue(creds) error = %v, want %s", err, want)
		}
	}
	s.ClearFaults()
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")}); err != nil {
		t.Errorf("GetSecretValue(creds) after ClearFaults error = %v, want nil", err)
	}
}

func TestCallsAndCount(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	s.Put("creds", "v")
	if s.Calls() != 0 {
		t.Fatalf("Calls() = %d before any request, want 0", s.Calls())
	}
	for range 3 {
		if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")}); err != nil {
			t.Fatalf("GetSecretValue(creds) error = %v", err)
		}
	}
	// An operation the Server does not implement is counted too.
	_, _ = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("creds"), SecretString: aws.String("w")})
	_, _ = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("missing")})

	tests := []struct {
		op   string
		want int
	}{
		{"GetSecretValue", 4},
		{"secretsmanager.GetSecretValue", 4},
		{"PutSecretValue", 1},
		{"ListSecrets", 0},
	}
	for _, tt := range tests {
		if got := s.Count(tt.op); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.op, got, tt.want)
		}
	}
	if got := s.Calls(); got != 5 {
		t.Errorf("Calls() = %d, want 5", got)
	}
}

func TestUnknownOperationThroughSDK(t *testing.T) {
	s, c := newFake(t)
	s.Put("creds", "v")
	s.Inject(secretstest.Fault{Type: secretstest.CodeAccessDenied, Times: 1})
	_, err := c.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("ListSecrets() error = %v, want UnknownOperationException", err)
	}
	if got := s.Count("ListSecrets"); got != 1 {
		t.Errorf("Count(ListSecrets) = %d, want 1 (not retried)", got)
	}
	// The unknown operation left the fault for the next real call.
	_, err = c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("GetSecretValue(creds) error = %v, want the queued AccessDeniedException", err)
	}
}

func TestWireFormat(t *testing.T) {
	s := secretstest.NewWithOptions(secretstest.Options{Now: func() time.Time { return fixedNow }})
	id := s.Put("creds", "v")

	tests := []struct {
		name       string
		method     string
		target     string
		auth       bool
		body       string
		wantStatus int
		wantJSON   map[string]any
	}{
		{
			name: "success", method: "POST", target: "secretsmanager.GetSecretValue", auth: true,
			body:       `{"SecretId":"creds"}`,
			wantStatus: 200,
			wantJSON: map[string]any{
				"ARN": secretstest.ARN("creds"), "Name": "creds", "SecretString": "v", "VersionId": id,
				"VersionStages": []any{"AWSCURRENT"}, "CreatedDate": 1772368245.25,
			},
		},
		{
			name: "not found", method: "POST", target: "secretsmanager.GetSecretValue", auth: true,
			body:       `{"SecretId":"nope"}`,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."},
		},
		{
			name: "unknown target", method: "POST", target: "secretsmanager.DeleteEverything", auth: true,
			body:       `{}`,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "UnknownOperationException"},
		},
		{
			name: "other service", method: "POST", target: "AmazonSQS.GetSecretValue", auth: true,
			body:       `{}`,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "UnknownOperationException"},
		},
		{
			name: "GET", method: "GET", target: "secretsmanager.GetSecretValue", auth: true,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "UnknownOperationException"},
		},
		{
			name: "unsigned", method: "POST", target: "secretsmanager.GetSecretValue",
			body:       `{"SecretId":"creds"}`,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "MissingAuthenticationTokenException", "Message": "Missing Authentication Token"},
		},
		{
			name: "malformed body", method: "POST", target: "secretsmanager.GetSecretValue", auth: true,
			body:       `{"SecretId":`,
			wantStatus: 400,
			wantJSON:   map[string]any{"__type": "SerializationException", "Message": "Start of structure or map found where not expected."},
		},
		{
			name: "missing SecretId", method: "POST", target: "secretsmanager.GetSecretValue", auth: true,
			body:       `{}`,
			wantStatus: 400,
			wantJSON: map[string]any{"__type": "ValidationException",
				"Message": "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", tt.target)
			if tt.auth {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260301/us-east-1/secretsmanager/aws4_request")
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)

			if w.Code != tt.wantStatus {
				t.Errorf("%s %s status = %d, want %d", tt.method, tt.target, w.Code, tt.wantStatus)
			}
			if got := w.Header().Get("Content-Type"); got != "application/x-amz-json-1.1" {
				t.Errorf("%s %s Content-Type = %q, want application/x-amz-json-1.1", tt.method, tt.target, got)
			}
			if got := w.Header().Get("x-amzn-RequestId"); len(got) != 36 {
				t.Errorf("%s %s x-amzn-RequestId = %q, want a UUID", tt.method, tt.target, got)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s %s body %q is not JSON: %v", tt.method, tt.target, w.Body, err)
			}
			if !jsonEqual(got, tt.wantJSON) {
				t.Errorf("%s %s body = %s, want %v", tt.method, tt.target, w.Body, tt.wantJSON)
			}
		})
	}
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestListenWithEndpointEnv(t *testing.T) {
	s := secretstest.New()
	s.Put("creds", "from-env")
	e, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen(127.0.0.1:0) error = %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })

	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", e.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_PROFILE", "")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() error = %v", err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")})
	if err != nil || aws.ToString(out.SecretString) != "from-env" {
		t.Fatalf("GetSecretValue(creds) via %s = %v, %v; want %q", e.URL(), out, err, "from-env")
	}

	if err := e.Close(); err != nil {
		t.Errorf("Close() error = %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close() error = %v", err)
	}
	resp, err := http.Post(e.URL(), "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t.Errorf("POST %s after Close succeeded, want a connection error", e.URL())
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := secretstest.New().Listen("256.0.0.1:http"); err == nil {
		t.Error("Listen(256.0.0.1:http) error = nil, want an error")
	}
}

func TestConcurrentUse(t *testing.T) {
	s, c := newFake(t)
	s.Put("creds", "v0")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				switch i % 4 {
				case 0:
					s.Put("creds", "v")
				case 1:
					s.Inject(secretstest.Fault{Type: secretstest.CodeThrottling, Times: 1})
				case 2:
					_ = s.Calls() + s.Count(secretstest.OpGetSecretValue)
				}
				if _, err := c.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("creds")}); err != nil {
					var ae smithy.APIError
					if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
						t.Errorf("GetSecretValue(creds) error = %v, want nil or throttling", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if got := s.Count(secretstest.OpGetSecretValue); got < 80 {
		t.Errorf("Count(GetSecretValue) = %d, want at least 80", got)
	}
}
