package config

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadWebhookDefaults(t *testing.T) {
	got, err := LoadWebhook(env(map[string]string{EnvSecretID: "flexhook/twilio"}))
	if err != nil {
		t.Fatalf("LoadWebhook: %v", err)
	}
	want := Webhook{
		SecretID:       "flexhook/twilio",
		CloseStatus:    StatusClosed,
		CloseTasks:     TasksComplete,
		CloseEvents:    DefaultCloseEvents,
		MaxEventAge:    15 * time.Minute,
		SecretCacheTTL: 5 * time.Minute,
		LogLevel:       slog.LevelInfo,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadWebhook(defaults) =\n%+v, want\n%+v", got, want)
	}
	if !got.Routing(StatusClosed) || !got.Routing(StatusInactive) {
		t.Errorf("Routing with CLOSE_TASKS=complete = false, want true")
	}
}

func TestLoadWebhookValues(t *testing.T) {
	got, err := LoadWebhook(env(map[string]string{
		EnvSecretID:         " arn:aws:secretsmanager:us-east-1:123456789012:secret:flexhook-AbCdEf ",
		EnvPublicBaseURL:    "https://hooks.example.com/twilio/",
		EnvCloseStatus:      "INACTIVE",
		EnvCloseTasks:       "wrapup",
		EnvCloseEvents:      "task.completed, task.canceled,task.completed,,workflow.timeout",
		EnvWorkspaceSID:     "WS0123456789abcdef0123456789abcdef",
		EnvMaxEventAge:      "1h",
		EnvSecretCacheTTL:   "30s",
		EnvTwilioAPIBaseURL: "http://127.0.0.1:8081/",
		EnvLogLevel:         "debug",
	}))
	if err != nil {
		t.Fatalf("LoadWebhook: %v", err)
	}
	want := Webhook{
		SecretID:         "arn:aws:secretsmanager:us-east-1:123456789012:secret:flexhook-AbCdEf",
		PublicBaseURL:    "https://hooks.example.com/twilio",
		CloseStatus:      StatusInactive,
		CloseTasks:       TasksWrapup,
		CloseEvents:      []string{"task.completed", "task.canceled", "workflow.timeout"},
		WorkspaceSID:     "WS0123456789abcdef0123456789abcdef",
		MaxEventAge:      time.Hour,
		SecretCacheTTL:   30 * time.Second,
		TwilioAPIBaseURL: "http://127.0.0.1:8081",
		LogLevel:         slog.LevelDebug,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadWebhook =\n%+v, want\n%+v", got, want)
	}
	if !got.Routing(StatusInactive) {
		t.Errorf("Routing(inactive) with CLOSE_TASKS=wrapup = false; inactive always needs Routing")
	}
	if got.Routing(StatusClosed) {
		t.Errorf("Routing(closed) with CLOSE_TASKS=wrapup = true, want false")
	}
}

func TestLoadWebhookErrors(t *testing.T) {
	base := map[string]string{EnvSecretID: "s"}
	tests := []struct {
		name, key, value string
	}{
		{"missing secret", EnvSecretID, ""},
		{"blank secret", EnvSecretID, "   "},
		{"relative base URL", EnvPublicBaseURL, "hooks.example.com/twilio"},
		{"ftp base URL", EnvPublicBaseURL, "ftp://hooks.example.com"},
		{"base URL with query", EnvPublicBaseURL, "https://hooks.example.com/?a=b"},
		{"base URL with fragment", EnvPublicBaseURL, "https://hooks.example.com/#rc=3"},
		{"base URL with user", EnvPublicBaseURL, "https://u:p@hooks.example.com/"},
		{"close status", EnvCloseStatus, "deleted"},
		{"close tasks", EnvCloseTasks, "cancel"},
		{"event list garbage", EnvCloseEvents, "task.completed,DROP TABLE"},
		{"event list empty", EnvCloseEvents, " , ,"},
		{"event without dot", EnvCloseEvents, "completed"},
		{"workspace sid", EnvWorkspaceSID, "WS123"},
		{"workspace wrong prefix", EnvWorkspaceSID, "WT0123456789abcdef0123456789abcdef"},
		{"max age not duration", EnvMaxEventAge, "15"},
		{"max age negative", EnvMaxEventAge, "-1m"},
		{"cache ttl zero", EnvSecretCacheTTL, "0s"},
		{"api base with path", EnvTwilioAPIBaseURL, "http://127.0.0.1:8081/v1"},
		{"api base not URL", EnvTwilioAPIBaseURL, "://"},
		{"log level", EnvLogLevel, "verbose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			m[tt.key] = tt.value
			_, err := LoadWebhook(env(m))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("LoadWebhook(%s=%q) error = %v, want *config.Error", tt.key, tt.value, err)
			}
			if ce.Var != tt.key || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("LoadWebhook(%s=%q) error = %q, want it to name %s", tt.key, tt.value, err, tt.key)
			}
		})
	}
}

func TestLoadWebhookReportsEveryProblem(t *testing.T) {
	_, err := LoadWebhook(env(map[string]string{EnvCloseStatus: "x", EnvLogLevel: "y"}))
	for _, name := range []string{EnvSecretID, EnvCloseStatus, EnvLogLevel} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("LoadWebhook error = %v, want it to name %s", err, name)
		}
	}
}
