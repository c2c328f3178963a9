package dynamotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableTimeout bounds CreateTable's wait for the table to become ACTIVE
// and the cleanup's DeleteTable.
const tableTimeout = 30 * time.Second

// NewClient returns a DynamoDB client for the server at endpoint (as
// returned by Start): region us-east-1, static dummy credentials, and no
// shared AWS configuration read from the environment or ~/.aws.
func NewClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDYNAMOTEST", "dynamotest-secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}, optFns...)
}

// TableName returns a table name unique to this call, derived from t's name
// so a shared server's tables can be told apart.
func TableName(t testing.TB) string {
	t.Helper()
	const maxPrefix = 200 // DynamoDB allows 255 characters
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= maxPrefix {
			break
		}
	}
	return b.String() + "-" + rand.Text()[:12]
}

// CreateTable creates the table name with the schema flexhook's stores use
// — partition key "pk" of type S, no sort key, on-demand (PAY_PER_REQUEST)
// billing — waits until it is ACTIVE, and deletes it when the test ends.
// It fails t on any error.
func CreateTable(t testing.TB, client *dynamodb.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tableTimeout)
	defer cancel()
	_, err := client.CreateTable(ctx, createTableInput(name))
	if err != nil {
		t.Fatalf("dynamotest: create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tableTimeout)
		defer cancel()
		_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("dynamotest: delete table %s: %v", name, err)
		}
	})
	if err := waitActive(ctx, client, name); err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
}

// createTableInput is the request creating table name with the stores'
// schema.
func createTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// waitActive polls DescribeTable until the table's status is ACTIVE or ctx
// ends. (The SDK's TableExistsWaiter waits at least 20 s between polls.)
func waitActive(ctx context.Context, client *dynamodb.Client, name string) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", name, err)
		}
		if out.Table != nil && out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s not ACTIVE: %w", name, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
