package emulator

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnviron(t *testing.T) {
	tests := []struct {
		name        string
		extra       []string
		timeout     time.Duration
		want        map[string]string // entries that must be present
		wantAbsent  []string
		wantTimeout time.Duration
		wantErr     bool
	}{
		{
			name: "defaults",
			want: map[string]string{
				"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
				"AWS_ACCESS_KEY_ID": dummyAccessKeyID, "AWS_SECRET_ACCESS_KEY": dummySecretAccessKey, "AWS_SESSION_TOKEN": dummySessionToken,
				"AWS_LAMBDA_FUNCTION_TIMEOUT": "3", "LAMBDA_TASK_ROOT": "/task", "TZ": ":UTC", "PATH": "/usr/local/bin:/usr/bin:/bin",
			},
			wantTimeout: 3 * time.Second,
		},
		{
			name:        "region given",
			extra:       []string{"AWS_REGION=eu-west-1"},
			want:        map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"},
			wantTimeout: DefaultTimeout,
		},
		{
			name:        "only default region given",
			extra:       []string{"AWS_DEFAULT_REGION=ap-south-1"},
			want:        map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1"},
			wantTimeout: DefaultTimeout,
		},
		{
			name:        "both regions given",
			extra:       []string{"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-central-1"},
			want:        map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-central-1"},
			wantTimeout: DefaultTimeout,
		},
		{
			name:        "credentials given",
			extra:       []string{"AWS_ACCESS_KEY_ID=AKIDREAL", "AWS_SECRET_ACCESS_KEY=s"},
			want:        map[string]string{"AWS_ACCESS_KEY_ID": "AKIDREAL", "AWS_SECRET_ACCESS_KEY": "s"},
			wantAbsent:  []string{"AWS_SESSION_TOKEN"},
			wantTimeout: DefaultTimeout,
		},
		{
			name:        "later entries win and values may hold =",
			extra:       []string{"X=1", "X=a=b", "PATH=/opt/bin"},
			want:        map[string]string{"X": "a=b", "PATH": "/opt/bin"},
			wantTimeout: DefaultTimeout,
		},
		{
			name:        "timeout option rounds up",
			timeout:     1500 * time.Millisecond,
			want:        map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "2"},
			wantTimeout: 2 * time.Second,
		},
		{
			name:        "sub-second timeout becomes one second",
			timeout:     time.Millisecond,
			want:        map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "1"},
			wantTimeout: time.Second,
		},
		{
			name:        "timeout option beats the variable",
			extra:       []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=30"},
			timeout:     5 * time.Second,
			want:        map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "5"},
			wantTimeout: 5 * time.Second,
		},
		{
			name:        "timeout variable",
			extra:       []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=30"},
			want:        map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "30"},
			wantTimeout: 30 * time.Second,
		},
		{name: "timeout variable not a number", extra: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=1.5"}, wantErr: true},
		{name: "timeout variable zero", extra: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=0"}, wantErr: true},
		{name: "negative timeout", timeout: -time.Second, wantErr: true},
		{name: "entry without =", extra: []string{"FOO"}, wantErr: true},
		{name: "entry without key", extra: []string{"=x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, timeout, err := environ(tt.extra, tt.timeout, "/task")
			if tt.wantErr {
				if err == nil {
					t.Errorf("environ(%q, %v) error = nil, want an error", tt.extra, tt.timeout)
				}
				return
			}
			if err != nil {
				t.Fatalf("environ(%q, %v) error = %v", tt.extra, tt.timeout, err)
			}
			if timeout != tt.wantTimeout {
				t.Errorf("environ(%q, %v) timeout = %v, want %v", tt.extra, tt.timeout, timeout, tt.wantTimeout)
			}
			if !slices.IsSorted(env) {
				t.Errorf("environ(%q, %v) = %q, want it sorted", tt.extra, tt.timeout, env)
			}
			got := make(map[string]string)
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := got[k]; dup {
					t.Errorf("environ(%q, %v) sets %s twice", tt.extra, tt.timeout, k)
				}
				got[k] = v
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("environ(%q, %v)[%s] = %q, want %q", tt.extra, tt.timeout, k, got[k], v)
				}
			}
			for _, k := range tt.wantAbsent {
				if _, ok := got[k]; ok {
					t.Errorf("environ(%q, %v) sets %s, want it absent", tt.extra, tt.timeout, k)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		header      http.Header
		payload     string
		wantFnErr   string
		wantType    string
		wantMessage string
	}{
		{name: "JSON result", status: 200, payload: `{"ok":true}`},
		{name: "empty result", status: 200, payload: ``},
		{name: "null result", status: 200, payload: `null`},
		{name: "string result", status: 200, payload: `"Task timed out"`},
		{
			name: "result that mentions errorMessage among other fields", status: 200,
			payload: `{"errorMessage":"x","statusCode":500}`,
		},
		{
			name: "handler error", status: 200,
			payload:   `{"errorMessage":"boom","errorType":"errorString"}`,
			wantFnErr: Unhandled, wantType: "errorString", wantMessage: "boom",
		},
		{
			name: "panic with stack", status: 502,
			payload:   `{"errorMessage":"oops","errorType":"string","stackTrace":[{"path":"x.go","line":1,"label":"f"}]}`,
			wantFnErr: Unhandled, wantType: "string", wantMessage: "oops",
		},
		{
			name: "exit", status: 502,
			payload:   `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: Runtime exited with error: exit status 3"}`,
			wantFnErr: Unhandled, wantType: "Runtime.ExitError", wantMessage: "RequestId: 1 Error: Runtime exited with error: exit status 3",
		},
		{
			name: "timeout", status: 200,
			payload:   `Task timed out after 3.00 seconds`,
			wantFnErr: Unhandled, wantType: ErrorTypeTimeout, wantMessage: "Task timed out after 3.00 seconds",
		},
		{
			name: "502 without a document", status: 502,
			payload:   "bad gateway\n",
			wantFnErr: Unhandled, wantMessage: "bad gateway",
		},
		{
			name: "header set by the emulator", status: 200, header: http.Header{"X-Amz-Function-Error": {"Handled"}},
			payload:   `{"errorMessage":"m","errorType":"T"}`,
			wantFnErr: "Handled", wantType: "T", wantMessage: "m",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{StatusCode: tt.status, Payload: []byte(tt.payload)}
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			classify(&r, h)
			if r.FunctionError != tt.wantFnErr || r.ErrorType != tt.wantType || r.ErrorMessage != tt.wantMessage {
				t.Errorf("classify(%d, %q) = FunctionError %q, ErrorType %q, ErrorMessage %q; want %q, %q, %q",
					tt.status, tt.payload, r.FunctionError, r.ErrorType, r.ErrorMessage, tt.wantFnErr, tt.wantType, tt.wantMessage)
			}
			if r.Failed() != (tt.wantFnErr != "") {
				t.Errorf("classify(%d, %q).Failed() = %v, want %v", tt.status, tt.payload, r.Failed(), tt.wantFnErr != "")
			}
		})
	}
}

func TestNewUUID(t *testing.T) {
	a, b := NewRequestID(), NewRequestID()
	if len(a) != 36 || a[14] != '4' || strings.Count(a, "-") != 4 || a == b {
		t.Errorf("NewRequestID() = %q, %q; want two distinct version 4 UUIDs", a, b)
	}
}
