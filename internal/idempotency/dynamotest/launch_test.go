package dynamotest

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/local/process"
)

// Launch is the harness outside tests: it starts dynalite, a table can be
// created on it, and Close frees its port.
func TestLaunch(t *testing.T) {
	root, err := process.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Launch(root)
	if errors.Is(err, ErrNotInstalled) {
		notInstalled(t, root, err)
	}
	if err != nil {
		t.Fatalf("Launch(%s) = %v", root, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := CreateTableContext(ctx, NewClient(d.Endpoint()), "flexhook-idempotency"); err != nil {
		t.Errorf("CreateTableContext = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(d.Endpoint(), "http://")); err == nil {
		c.Close()
		t.Errorf("dynalite still listening on %s after Close", d.Endpoint())
	}
}

func TestLaunchNotInstalled(t *testing.T) {
	_, err := Launch(t.TempDir())
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Launch(empty dir) = %v, want ErrNotInstalled", err)
	}
}
