package flexhook_test

import (
	"slices"
	"testing"

	"github.com/flexhook/flexhook/internal/config"
)

// readVars returns the environment variables load reads, by running it with
// a recording getenv: the list cannot drift from the code.
func readVars(load func(getenv func(string) string) error) []string {
	var names []string
	load(func(k string) string {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
		return ""
	})
	return names
}

// TestTemplateSetsEveryVariableTheCodeReads ties the template to the
// configuration code: every variable the webhook reads is in wantEnv (so the
// template sets it from a parameter), except the local-only ones.
func TestTemplateSetsEveryVariableTheCodeReads(t *testing.T) {
	read := readVars(func(g func(string) string) error { _, err := config.LoadWebhook(g); return err })
	if len(read) < 5 {
		t.Fatalf("LoadWebhook read only %v", read)
	}
	localOnly := []string{config.EnvTwilioAPIBaseURL}
	var want []string
	for _, w := range wantEnv() {
		want = append(want, w.env)
	}
	for name := range webhookResourceEnv() {
		want = append(want, name)
	}
	for _, name := range read {
		if !slices.Contains(want, name) && !slices.Contains(localOnly, name) {
			t.Errorf("the webhook reads %s but template.yaml does not set it (add it to wantEnv and the template)", name)
		}
	}
	for _, name := range want {
		if !slices.Contains(read, name) {
			t.Errorf("template.yaml sets %s, which the webhook never reads", name)
		}
	}
}

// TestTemplateWorkerAndSweeperVariables does the same for the worker and the
// sweeper: what their configuration code reads is exactly what the template
// sets (local-only variables aside).
func TestTemplateWorkerAndSweeperVariables(t *testing.T) {
	raw := loadRawTemplate(t)
	for _, fn := range []struct {
		resource string
		load     func(func(string) string) error
	}{
		{"WorkerFunction", func(g func(string) string) error { _, err := config.LoadWorker(g); return err }},
		{"SweeperFunction", func(g func(string) string) error { _, err := config.LoadSweeper(g); return err }},
	} {
		read := readVars(fn.load)
		set := keys(raw.get(join("Resources", fn.resource, "Properties", "Environment", "Variables")))
		for _, name := range read {
			if name != config.EnvTwilioAPIBaseURL && !slices.Contains(set, name) {
				t.Errorf("%s reads %s but the template does not set it", fn.resource, name)
			}
		}
		for _, name := range set {
			if !slices.Contains(read, name) && !slices.Contains(localOnlyEnv, name) {
				t.Errorf("the template sets %s on %s, which never reads it", name, fn.resource)
			}
		}
	}
}
