package config

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
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
		Common:      Common{SecretID: "flexhook/twilio", SecretCacheTTL: 5 * time.Minute, LogLevel: slog.LevelInfo},
		CloseStatus: StatusClosed,
		CloseTasks:  TasksComplete,
		CloseEvents: DefaultCloseEvents,
		MaxEventAge: 15 * time.Minute,
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
		EnvCloseQueueURL:    "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo",
		EnvIdempotencyTable: "flexhook-idempotency",
		EnvDryRun:           "TRUE",
	}))
	if err != nil {
		t.Fatalf("LoadWebhook: %v", err)
	}
	want := Webhook{
		Common: Common{
			SecretID:         "arn:aws:secretsmanager:us-east-1:123456789012:secret:flexhook-AbCdEf",
			SecretCacheTTL:   30 * time.Second,
			TwilioAPIBaseURL: "http://127.0.0.1:8081",
			IdempotencyTable: "flexhook-idempotency",
			DryRun:           true,
			LogLevel:         slog.LevelDebug,
		},
		PublicBaseURL: "https://hooks.example.com/twilio",
		CloseStatus:   StatusInactive,
		CloseTasks:    TasksWrapup,
		CloseEvents:   []string{"task.completed", "task.canceled", "workflow.timeout"},
		WorkspaceSID:  "WS0123456789abcdef0123456789abcdef",
		MaxEventAge:   time.Hour,
		CloseQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo",
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
		{"event not a close event", EnvCloseEvents, "task.canceled,task.wrapup"},
		{"event of another resource", EnvCloseEvents, "task-queue.timeout"},
		{"workspace sid", EnvWorkspaceSID, "WS123"},
		{"workspace wrong prefix", EnvWorkspaceSID, "WT0123456789abcdef0123456789abcdef"},
		{"max age not duration", EnvMaxEventAge, "15"},
		{"max age negative", EnvMaxEventAge, "-1m"},
		{"cache ttl zero", EnvSecretCacheTTL, "0s"},
		{"api base with path", EnvTwilioAPIBaseURL, "http://127.0.0.1:8081/v1"},
		{"api base not URL", EnvTwilioAPIBaseURL, "://"},
		{"log level", EnvLogLevel, "verbose"},
		{"queue URL not a URL", EnvCloseQueueURL, "flexhook-close"},
		{"queue URL without queue", EnvCloseQueueURL, "https://sqs.us-east-1.amazonaws.com/"},
		{"queue URL with query", EnvCloseQueueURL, "https://sqs.us-east-1.amazonaws.com/1/q?x=1"},
		{"table name too short", EnvIdempotencyTable, "ab"},
		{"table name chars", EnvIdempotencyTable, "flexhook table"},
		{"dry run", EnvDryRun, "maybe"},
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

func TestLoadWorkerAndSweeper(t *testing.T) {
	w, err := LoadWorker(env(map[string]string{EnvSecretID: "s", EnvIdempotencyTable: "arn:aws:dynamodb:us-east-1:123456789012:table/flexhook-idem"}))
	if err != nil || w.SecretID != "s" || w.IdempotencyTable == "" {
		t.Errorf("LoadWorker = %+v, %v", w, err)
	}
	if _, err := LoadWorker(env(nil)); err == nil || !strings.Contains(err.Error(), EnvSecretID) {
		t.Errorf("LoadWorker without a secret = %v, want an error naming %s", err, EnvSecretID)
	}
	s, err := LoadSweeper(env(map[string]string{EnvSecretID: "s", EnvWorkspaceSID: "WS0123456789abcdef0123456789abcdef", EnvSweepLookback: "30m", EnvCloseTasks: "wrapup"}))
	if err != nil || s.Lookback != 30*time.Minute || s.Routing(StatusClosed) || !s.Routing(StatusInactive) {
		t.Errorf("LoadSweeper = %+v, %v", s, err)
	}
	if s, err := LoadSweeper(env(map[string]string{EnvSecretID: "s", EnvWorkspaceSID: "WS0123456789abcdef0123456789abcdef"})); err != nil || s.Lookback != DefaultSweepLookback {
		t.Errorf("LoadSweeper defaults = %+v, %v", s, err)
	}
	for _, bad := range []map[string]string{
		{EnvSecretID: "s"},
		{EnvSecretID: "s", EnvWorkspaceSID: "WS1"},
		{EnvSecretID: "s", EnvWorkspaceSID: "WS0123456789abcdef0123456789abcdef", EnvSweepLookback: "forever"},
	} {
		var ce *Error
		if _, err := LoadSweeper(env(bad)); !errors.As(err, &ce) {
			t.Errorf("LoadSweeper(%v) = %v, want a *config.Error", bad, err)
		}
	}
}

func TestWorkerRetryBase(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false}, {"2s", 2 * time.Second, false}, {"1m", time.Minute, false},
		{"500ms", 0, true}, {"13h", 0, true}, {"soon", 0, true},
	}
	for _, tt := range tests {
		w, err := LoadWorker(env(map[string]string{EnvSecretID: "s", EnvWorkerRetryBase: tt.value}))
		var ce *Error
		if (err != nil) != tt.wantErr || (err != nil && (!errors.As(err, &ce) || ce.Var != EnvWorkerRetryBase)) || (!tt.wantErr && w.RetryBase != tt.want) {
			t.Errorf("LoadWorker(%s=%q) = %v, %v; want %v (error %v)", EnvWorkerRetryBase, tt.value, w.RetryBase, err, tt.want, tt.wantErr)
		}
	}
}

func TestLoadWebhookCRMSources(t *testing.T) {
	got, err := LoadWebhook(env(map[string]string{EnvSecretID: "s", EnvCRMSources: `[
		{"name":"zendesk","scheme":"zendesk","map":{"interaction_sid":"/kd","channel_sid":"/uo","status":"closed"},"when":{"pointer":"/status","equals":"solved"}},
		{"name":"salesforce","scheme":"salesforce-outbound","org_id":"00D5g000004ABCd","map":{"task_sid":"Flex_Task_SID__c"}}]`}))
	if err != nil || len(got.CRMSources) != 2 || got.CRMSources[0].Name != "zendesk" {
		t.Fatalf("LoadWebhook(CRM_SOURCES) = %+v, %v", got.CRMSources, err)
	}
	// Every problem is reported, each naming the variable, the source and the field.
	_, err = LoadWebhook(env(map[string]string{EnvSecretID: "s", EnvCRMSources: `[
		{"name":"a","scheme":"zendsek","map":{"task_sid":"/wt"}},
		{"name":"b","scheme":"zendesk","map":{"task_sid":"wt"}}]`}))
	for _, want := range []string{
		`config: CRM_SOURCES source a: field scheme: must be one of`,
		`config: CRM_SOURCES source b: field map.task_sid: must be a JSON Pointer`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadWebhook(bad CRM_SOURCES) = %v, want it to contain %q", err, want)
		}
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != EnvCRMSources {
		t.Errorf("error %v is not a *config.Error for %s", err, EnvCRMSources)
	}
}

func TestCloseEventsAllowed(t *testing.T) {
	for _, e := range CloseEventTypes {
		w, err := LoadWebhook(env(map[string]string{EnvSecretID: "s", EnvCloseEvents: e}))
		if err != nil || !reflect.DeepEqual(w.CloseEvents, []string{e}) {
			t.Errorf("LoadWebhook(%s=%q) = %v, %v; want [%s]", EnvCloseEvents, e, w.CloseEvents, err, e)
		}
	}
	_, err := LoadWebhook(env(map[string]string{EnvSecretID: "s", EnvCloseEvents: "task.canceled,reservation.timeout"}))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != EnvCloseEvents {
		t.Fatalf("LoadWebhook(%s=reservation.timeout) = %v, want a *config.Error naming it", EnvCloseEvents, err)
	}
	for _, want := range append([]string{`"reservation.timeout"`}, CloseEventTypes...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := LoadSweeper(env(map[string]string{EnvSecretID: "s", EnvWorkspaceSID: "WS0123456789abcdef0123456789abcdef", EnvCloseEvents: "task.updated"})); !errors.As(err, &ce) || ce.Var != EnvCloseEvents {
		t.Errorf("LoadSweeper(%s=task.updated) = %v, want a *config.Error naming it", EnvCloseEvents, err)
	}
	if slices.Contains(DefaultCloseEvents, "task.completed") {
		t.Errorf("DefaultCloseEvents = %v; task.completed must be opt-in", DefaultCloseEvents)
	}
}

func TestWorkerRecheck(t *testing.T) {
	w, err := LoadWorker(env(map[string]string{EnvSecretID: "s"}))
	if err != nil || w.RecheckAfter != time.Minute || w.RecheckLimit != 3 {
		t.Errorf("LoadWorker defaults: RecheckAfter %v RecheckLimit %d (%v); want 1m0s 3", w.RecheckAfter, w.RecheckLimit, err)
	}
	w, err = LoadWorker(env(map[string]string{EnvSecretID: "s", EnvRecheckAfter: "90s", EnvRecheckLimit: "0"}))
	if err != nil || w.RecheckAfter != 90*time.Second || w.RecheckLimit != 0 {
		t.Errorf("LoadWorker(90s, 0): RecheckAfter %v RecheckLimit %d (%v)", w.RecheckAfter, w.RecheckLimit, err)
	}
	for _, tt := range []struct{ key, value string }{
		{EnvRecheckAfter, "soon"}, {EnvRecheckAfter, "500ms"}, {EnvRecheckAfter, "13h"}, {EnvRecheckAfter, "-1m"},
		{EnvRecheckLimit, "-1"}, {EnvRecheckLimit, "11"}, {EnvRecheckLimit, "three"}, {EnvRecheckLimit, "2.5"},
	} {
		_, err := LoadWorker(env(map[string]string{EnvSecretID: "s", tt.key: tt.value}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tt.key {
			t.Errorf("LoadWorker(%s=%q) = %v, want a *config.Error naming it", tt.key, tt.value, err)
		}
	}
}

func TestSweepLookbackLimit(t *testing.T) {
	ws := "WS0123456789abcdef0123456789abcdef"
	if s, err := LoadSweeper(env(map[string]string{EnvSecretID: "s", EnvWorkspaceSID: ws, EnvSweepLookback: "720h"})); err != nil || s.Lookback != 30*24*time.Hour {
		t.Errorf("LoadSweeper(720h) = %v, %v; want 720h", s.Lookback, err)
	}
	_, err := LoadSweeper(env(map[string]string{EnvSecretID: "s", EnvWorkspaceSID: ws, EnvSweepLookback: "721h"}))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != EnvSweepLookback {
		t.Errorf("LoadSweeper(721h) = %v, want a *config.Error naming %s", err, EnvSweepLookback)
	}
}
