package stack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// LocalEnvFile is where `flexhook run` writes the functions' environment for
// `sam local invoke --env-vars` unless told otherwise.
const LocalEnvFile = "local-env.json"

// The functions' logical ids in template.yaml: the keys of a SAM env-vars
// file.
const (
	WebhookLogicalID = "WebhookFunction"
	WorkerLogicalID  = "WorkerFunction"
	SweeperLogicalID = "SweeperFunction"
)

// endpointVars are the AWS SDK's endpoint variables the local system sets.
// The functions do not read them through internal/config; template.yaml
// declares them empty on every function that uses the service, because SAM
// passes a function only the variables its template declares.
var endpointVars = []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"}

// SAMEnv returns the environment of the webhook, the worker and the sweeper
// in the format of `sam local invoke --env-vars`: one object per function,
// keyed by its logical id in template.yaml, holding the variables the local
// system runs it with that point at the running stand-ins (Secrets Manager,
// the Twilio simulator, the SQS queue, the idempotency table) and the
// configuration variables the function reads. host, when not empty, replaces
// the host of every loopback URL, for a container that reaches this machine
// under another name (host.docker.internal). Region and credentials are left
// out: SAM sets them itself and ignores variables the template does not
// declare. The sweeper, which `flexhook run` does not run, gets the
// webhook's Twilio simulator port and the idempotency table.
func (s *System) SAMEnv(host string) (map[string]map[string]string, error) {
	fns := []struct {
		id   string
		env  []string
		load func(func(string) string) error
	}{
		{WebhookLogicalID, s.webhookEnv, loadWebhook},
		{WorkerLogicalID, s.workerEnv, loadWorker},
		{SweeperLogicalID, s.sweeperEnv(), loadSweeper},
	}
	out := map[string]map[string]string{}
	for _, fn := range fns {
		if fn.env == nil {
			continue // the worker in sync mode
		}
		vars, err := envMap(fn.env)
		if err != nil {
			return nil, err
		}
		keep := slices.Clone(endpointVars)
		_ = fn.load(func(k string) string { // records what the function reads
			keep = append(keep, k)
			return vars[k]
		})
		m := map[string]string{}
		for k, v := range vars {
			if !slices.Contains(keep, k) || strings.HasPrefix(k, "AWS_LAMBDA_") { // Lambda's own, set by SAM
				continue
			}
			if host != "" {
				v = withHost(v, host)
			}
			m[k] = v
		}
		out[fn.id] = m
	}
	return out, nil
}

// WriteSAMEnv writes SAMEnv(host) to path as indented JSON.
func (s *System) WriteSAMEnv(path, host string) error {
	env, err := s.SAMEnv(host)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the sam local invoke environment: %w", err)
	}
	return nil
}

// sweeperEnv is the environment the sweeper would run with in this system.
func (s *System) sweeperEnv() []string {
	if s.webhookEnv == nil {
		return nil
	}
	env := baseEnv("flexhook-sweeper", s.awsURL, s.twilioURL)
	if s.mode == Simulator {
		env = append(env, config.EnvWorkspaceSID+"="+samples.WorkspaceSID)
	}
	return append(append(env, s.durable.tableEnv()...), s.overrides...)
}

// withHost replaces the host of an http URL on loopback, keeping its port;
// any other value is returned as it is.
func withHost(v, host string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() != "127.0.0.1" {
		return v
	}
	if p := u.Port(); p != "" {
		u.Host = host + ":" + p
	} else {
		u.Host = host
	}
	return u.String()
}
