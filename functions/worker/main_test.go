package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/worker"
)

func TestRetryBase(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"unset", "", worker.DefaultRetryBase, false},
		{"seconds", "2s", 2 * time.Second, false},
		{"minutes", "1m", time.Minute, false},
		{"below a second", "500ms", 0, true},
		{"above 12h", "13h", 0, true},
		{"not a duration", "soon", 0, true},
	}
	for _, tt := range tests {
		got, err := retryBase(func(k string) string {
			if k == EnvRetryBase {
				return tt.value
			}
			return ""
		})
		var ce *config.Error
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && (!errors.As(err, &ce) || ce.Var != EnvRetryBase)) {
			t.Errorf("%s: retryBase(%q) = %v, %v; want %v (error %v naming %s)", tt.name, tt.value, got, err, tt.want, tt.wantErr, EnvRetryBase)
		}
	}
}

// Configuration errors are all reported, before any AWS call.
func TestNewHandlerConfigErrors(t *testing.T) {
	env := map[string]string{EnvRetryBase: "soon", config.EnvLogLevel: "loud"}
	_, err := newHandler(context.Background(), func(k string) string { return env[k] })
	for _, v := range []string{config.EnvSecretID, config.EnvLogLevel, EnvRetryBase} {
		var found bool
		for _, e := range unwrapAll(err) {
			var ce *config.Error
			if errors.As(e, &ce) && ce.Var == v {
				found = true
			}
		}
		if !found {
			t.Errorf("newHandler error %v does not name %s", err, v)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}
