package emulator

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults Start applies to the function's environment.
const (
	// DefaultRegion is the AWS Region a function sees unless Options.Env
	// sets AWS_REGION or AWS_DEFAULT_REGION.
	DefaultRegion = "us-east-1"

	// DefaultTimeout is the function timeout unless Options.Timeout or
	// AWS_LAMBDA_FUNCTION_TIMEOUT in Options.Env sets one; it is Lambda's
	// and SAM's default.
	DefaultTimeout = 3 * time.Second
)

// Dummy credentials a function gets when Options.Env has none, so that AWS
// SDK clients can sign requests to local fakes and never pick up real ones.
// They are the example keys from the AWS documentation.
const (
	dummyAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	dummySecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	dummySessionToken    = "flexhook-emulator-session-token"
)

// timeoutVar is the emulator's function timeout, in whole seconds.
const timeoutVar = "AWS_LAMBDA_FUNCTION_TIMEOUT"

// environ returns the environment of the emulator, which passes it on to the
// function, and the function timeout. It starts from a minimal Lambda-like
// environment, lays extra over it (later entries win) and then fills in the
// region, credentials and timeout if extra does not set them. taskRoot is the
// directory of the bootstrap binary.
func environ(extra []string, timeout time.Duration, taskRoot string) ([]string, time.Duration, error) {
	env := map[string]string{
		"PATH":             "/usr/local/bin:/usr/bin:/bin",
		"LANG":             "en_US.UTF-8",
		"TZ":               ":UTC",
		"LAMBDA_TASK_ROOT": taskRoot,
	}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, 0, fmt.Errorf("emulator: environment entry %q is not KEY=value", kv)
		}
		env[k] = v
	}

	region := cmp.Or(env["AWS_REGION"], env["AWS_DEFAULT_REGION"], DefaultRegion)
	env["AWS_REGION"] = cmp.Or(env["AWS_REGION"], region)
	env["AWS_DEFAULT_REGION"] = cmp.Or(env["AWS_DEFAULT_REGION"], region)

	if env["AWS_ACCESS_KEY_ID"] == "" {
		env["AWS_ACCESS_KEY_ID"] = dummyAccessKeyID
		env["AWS_SECRET_ACCESS_KEY"] = dummySecretAccessKey
		env["AWS_SESSION_TOKEN"] = dummySessionToken
	}

	switch s, set := env[timeoutVar]; {
	case timeout < 0:
		return nil, 0, fmt.Errorf("emulator: negative timeout %v", timeout)
	case timeout > 0:
		// The emulator takes whole seconds; round up so the function never
		// gets less time than asked for.
		secs := (timeout + time.Second - 1) / time.Second
		timeout = secs * time.Second
	case set:
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, 0, fmt.Errorf("emulator: %s=%q is not a positive number of seconds", timeoutVar, s)
		}
		timeout = time.Duration(n) * time.Second
	default:
		timeout = DefaultTimeout
	}
	env[timeoutVar] = strconv.Itoa(int(timeout / time.Second))

	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, timeout, nil
}
