package dynamotest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/flexhook/flexhook/internal/local/process"
)

// TestStart proves the harness end to end: a real SDK client creates a
// table on the started server and reads back an item it wrote.
func TestStart(t *testing.T) {
	endpoint := Start(t)
	client := NewClient(endpoint)
	table := TableName(t)
	CreateTable(t, client, table)

	ctx := t.Context()
	item := map[string]types.AttributeValue{
		"pk":    &types.AttributeValueMemberS{Value: "tr:WT0001"},
		"count": &types.AttributeValueMemberN{Value: "42"},
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": item["pk"]},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	n, ok := out.Item["count"].(*types.AttributeValueMemberN)
	if !ok || n.Value != "42" {
		t.Errorf("GetItem(tr:WT0001) count = %#v, want N 42", out.Item["count"])
	}

	// A conditional write that fails must surface as the SDK's typed
	// exception, which the stores built on this harness rely on.
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Errorf("conditional PutItem on an existing key: err = %v, want *types.ConditionalCheckFailedException", err)
	}
}

func TestCreateTableIsolatesTables(t *testing.T) {
	client := NewClient(Start(t))
	a, b := TableName(t), TableName(t)
	if a == b {
		t.Fatalf("TableName twice = %q both times, want distinct names", a)
	}
	CreateTable(t, client, a)
	CreateTable(t, client, b)
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a), Item: key}); err != nil {
		t.Fatalf("PutItem(%s): %v", a, err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(b), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem(%s): %v", b, err)
	}
	if out.Item != nil {
		t.Errorf("GetItem(%s) after PutItem(%s) = %v, want no item", b, a, out.Item)
	}
}

func TestTableNameIsValid(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	tests := []struct {
		name    string
		subtest string
	}{
		{name: "plain", subtest: "Plain"},
		{name: "special characters", subtest: "with spaces/and#slashes"},
		{name: "long", subtest: strings.Repeat("x", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run(tt.subtest, func(t *testing.T) {
				got := TableName(t)
				if !valid.MatchString(got) {
					t.Errorf("TableName() in test %q = %q, want a valid DynamoDB table name", t.Name(), got)
				}
			})
		})
	}
}

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, "internal", "pkg")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		want string
	}{
		{name: "at root", dir: root, want: root},
		{name: "nested package", dir: nested, want: root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := process.FindModuleRoot(tt.dir)
			if err != nil || got != tt.want {
				t.Errorf("proc.FindModuleRoot(%q) = %q, %v, want %q", tt.dir, got, err, tt.want)
			}
		})
	}
}

func TestFindLauncherNotInstalled(t *testing.T) {
	root := t.TempDir()
	_, err := findLauncher(root)
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("findLauncher(%q) error = %v, want ErrNotInstalled", root, err)
	}
}

func TestStartStopsServerAtCleanup(t *testing.T) {
	if os.Getenv(EnvEndpoint) != "" {
		t.Skipf("%s is set: Start starts no server", EnvEndpoint)
	}
	var endpoint string
	t.Run("server", func(t *testing.T) {
		endpoint = Start(t)
		if _, err := NewClient(endpoint).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
			t.Fatalf("ListTables while running: %v", err)
		}
	})
	client := NewClient(endpoint, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	if _, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err == nil {
		t.Errorf("ListTables on %s after the test that started it ended: err = nil, want a connection error", endpoint)
	}
}

// recordingTB records how notInstalled ends a test instead of ending it.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordingTB) Helper()      {}
func (r *recordingTB) Skip(...any)  { r.skipped = true }
func (r *recordingTB) Fatal(...any) { r.failed = true }

func TestNotInstalledSkipsUnlessCI(t *testing.T) {
	tests := []struct {
		name       string
		ci         string
		wantSkip   bool
		wantFailed bool
	}{
		{name: "developer machine", ci: "", wantSkip: true},
		{name: "CI", ci: "true", wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordingTB{TB: t}
			notInstalled(r, t.TempDir(), ErrNotInstalled)
			if r.skipped != tt.wantSkip || r.failed != tt.wantFailed {
				t.Errorf("notInstalled with CI=%q: skipped=%v failed=%v, want skipped=%v failed=%v",
					tt.ci, r.skipped, r.failed, tt.wantSkip, tt.wantFailed)
			}
		})
	}
}
