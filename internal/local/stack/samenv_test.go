package stack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gopkg.in/yaml.v3"

	"github.com/flexhook/flexhook/internal/local/samples"
)

// templateFile is the SAM template at the module root.
const templateFile = "../../../template.yaml"

// templateFunctions reads template.yaml and returns, for each
// AWS::Serverless::Function, the environment variables it declares.
func templateFunctions(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", templateFile, err)
	}
	fns := map[string][]string{}
	resources := mapping(mapping(doc.Content[0], "Resources"), "")
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if typ := mapping(res, "Type"); typ == nil || typ.Value != "AWS::Serverless::Function" {
			continue
		}
		vars := mapping(mapping(mapping(mapping(res, "Properties"), "Environment"), "Variables"), "")
		var names []string
		for j := 0; vars != nil && j+1 < len(vars.Content); j += 2 {
			names = append(names, vars.Content[j].Value)
		}
		fns[id] = names
	}
	return fns
}

// mapping returns the value of key in a YAML mapping node, or the node
// itself for key "", or nil.
func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	if key == "" {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// checkSAMEnv checks the env-vars file of a running system: keyed by the
// template's function logical ids, every variable declared by the template
// for that function (SAM drops the others), pointing at this system's
// stand-ins, which answer through the file's endpoints.
func checkSAMEnv(t *testing.T, sys *System) {
	t.Helper()
	path := filepath.Join(t.TempDir(), LocalEnvFile)
	if err := sys.WriteSAMEnv(path, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s is not a SAM env-vars file: %v\n%s", LocalEnvFile, err, b)
	}

	fns := templateFunctions(t)
	for id, vars := range got {
		declared, ok := fns[id]
		if !ok {
			t.Errorf("%s: %s is not a function of template.yaml (functions: %v)", LocalEnvFile, id, fns)
			continue
		}
		for k := range vars {
			if !slices.Contains(declared, k) {
				t.Errorf("%s: %s.%s is not declared in template.yaml, so sam local invoke would drop it", LocalEnvFile, id, k)
			}
		}
	}

	want := map[string]map[string]string{
		WebhookLogicalID: {
			"TWILIO_SECRET_ID":                 SecretID,
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": sys.awsURL,
			"TWILIO_API_BASE_URL":              sys.twilioURL,
			"TASKROUTER_WORKSPACE_SID":         samples.WorkspaceSID,
		},
		SweeperLogicalID: {
			"TWILIO_SECRET_ID":                 SecretID,
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": sys.awsURL,
			"TWILIO_API_BASE_URL":              sys.twilioURL,
			"TASKROUTER_WORKSPACE_SID":         samples.WorkspaceSID,
		},
	}
	if d := sys.durable; d != nil {
		want[WebhookLogicalID]["CLOSE_QUEUE_URL"] = d.sqs.QueueURL()
		want[WebhookLogicalID]["AWS_ENDPOINT_URL_SQS"] = d.sqs.Endpoint()
		want[WorkerLogicalID] = map[string]string{
			"TWILIO_SECRET_ID":                 SecretID,
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": sys.awsURL,
			"TWILIO_API_BASE_URL":              d.twilioURL,
			"AWS_ENDPOINT_URL_SQS":             d.sqs.Endpoint(),
			"WORKER_RETRY_BASE":                WorkerRetryBase.String(),
		}
		if d.tableURL != "" {
			for _, id := range []string{WebhookLogicalID, WorkerLogicalID, SweeperLogicalID} {
				want[id]["IDEMPOTENCY_TABLE"] = TableName
				want[id]["AWS_ENDPOINT_URL_DYNAMODB"] = d.tableURL
			}
		}
	} else if _, ok := got[WorkerLogicalID]; ok {
		t.Errorf("%s has a %s in sync mode, where no worker runs", LocalEnvFile, WorkerLogicalID)
	}
	for id, vars := range want {
		for k, v := range vars {
			if got[id][k] != v {
				t.Errorf("%s: %s.%s = %q, want %q", LocalEnvFile, id, k, got[id][k], v)
			}
		}
	}

	// The file's endpoints are the running stand-ins: the real SDK clients
	// reach the secret and the queue through them.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", "")}
	fn := got[WebhookLogicalID]
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(fn["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	})
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fn["TWILIO_SECRET_ID"])}); err != nil {
		t.Errorf("GetSecretValue through %s's endpoint: %v", LocalEnvFile, err)
	}
	if sys.durable != nil {
		q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(fn["AWS_ENDPOINT_URL_SQS"]) })
		if _, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(fn["CLOSE_QUEUE_URL"])}); err != nil {
			t.Errorf("GetQueueAttributes of %s's CLOSE_QUEUE_URL: %v", LocalEnvFile, err)
		}
	}

	// For Docker Desktop the URLs name host.docker.internal, ports kept.
	docker, err := sys.SAMEnv("host.docker.internal")
	if err != nil {
		t.Fatal(err)
	}
	for id, vars := range got {
		if len(docker[id]) != len(vars) {
			t.Errorf("SAMEnv(host.docker.internal)[%s] has %d variables, want %d", id, len(docker[id]), len(vars))
		}
		for k, v := range vars {
			if w := strings.ReplaceAll(v, "127.0.0.1", "host.docker.internal"); docker[id][k] != w {
				t.Errorf("SAMEnv(host.docker.internal): %s.%s = %q, want %q", id, k, docker[id][k], w)
			}
		}
	}
	if again, _ := sys.SAMEnv(""); !reflect.DeepEqual(again, got) {
		t.Errorf("SAMEnv(\"\") = %v, want what WriteSAMEnv wrote: %v", again, got)
	}
}

func TestWithHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:4566", "http://h.internal:4566"},
		{"http://127.0.0.1:4566/000000000000/q.fifo", "http://h.internal:4566/000000000000/q.fifo"},
		{"http://localhost:4566", "http://localhost:4566"},
		{"flexhook/local", "flexhook/local"},
		{"127.0.0.1", "127.0.0.1"},
		{"", ""},
	} {
		if got := withHost(tt.in, "h.internal"); got != tt.want {
			t.Errorf("withHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
