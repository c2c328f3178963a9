package main

import (
	"context"
	"errors"
	"testing"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
)

// Configuration errors are all reported, before any AWS call.
func TestNewHandlerConfigErrors(t *testing.T) {
	env := map[string]string{config.EnvWorkerRetryBase: "soon", config.EnvLogLevel: "loud"}
	_, err := dependencies.Build(context.Background(), "worker", func(k string) string { return env[k] }, config.LoadWorker, newHandler)
	for _, v := range []string{config.EnvSecretID, config.EnvLogLevel, config.EnvWorkerRetryBase} {
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
