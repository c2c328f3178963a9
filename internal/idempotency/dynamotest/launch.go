package dynamotest

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Dynalite is a dynalite process started by Launch, outside a test: for
// local runs such as `flexhook run`, which must work with or without npm.
type Dynalite struct {
	srv *server
}

// Launch starts dynalite from root/node_modules/.bin (root is the module
// root) on a free 127.0.0.1 port, in memory, and returns once it answers.
// It returns an error wrapping ErrNotInstalled when dynalite or node is not
// installed. The caller must Close it.
func Launch(root string) (*Dynalite, error) {
	launcher, err := findLauncher(root)
	if err != nil {
		return nil, err
	}
	var srv *server
	for attempt := 1; ; attempt++ {
		srv, err = startServer(launcher)
		if err == nil || !errors.Is(err, errPortInUse) || attempt == portAttempts {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	return &Dynalite{srv: srv}, nil
}

// Endpoint returns the server's base URL, such as http://127.0.0.1:41234:
// the value for AWS_ENDPOINT_URL_DYNAMODB.
func (d *Dynalite) Endpoint() string { return d.srv.endpoint }

// Close stops the dynalite process group and waits until it has exited.
func (d *Dynalite) Close() error { return d.srv.stop() }

// CreateTableContext creates the table name with the schema of
// CreateTable and waits until it is ACTIVE or ctx ends. Unlike CreateTable
// it does not delete the table afterwards: the server's memory goes with
// the process.
func CreateTableContext(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, createTableInput(name)); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return waitActive(ctx, client, name)
}
