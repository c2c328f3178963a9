package main

import (
	"os"
	"path/filepath"
	"testing"
)

// localAWS points the AWS SDK of the commands at local servers through the
// process environment, as a developer's shell would: a Region, dummy
// credentials, no shared configuration, and the given endpoint variables
// (AWS_ENDPOINT_URL_SQS=…). The variables are restored when t ends; tests
// that call it must not run in parallel.
func localAWS(t *testing.T, endpoints map[string]string) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "AKIDFLEXHOOKCLITEST",
		"AWS_SECRET_ACCESS_KEY":       "flexhook-cli-test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	for k, v := range endpoints {
		t.Setenv(k, v)
	}
}
