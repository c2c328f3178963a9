package process

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestTail(t *testing.T) {
	tl := &Tail{Max: 10}
	tl.Write([]byte("0123456789"))
	tl.Write([]byte("abc \n"))
	if got := tl.String(); got != "56789abc" {
		t.Errorf("Tail = %q, want the last 10 bytes trimmed", got)
	}
	all := &Tail{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); all.Write([]byte("xx")) }()
	}
	wg.Wait()
	if got := all.String(); got != strings.Repeat("x", 16) {
		t.Errorf("unbounded Tail = %q", got)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("FreePort() = %d, which cannot be listened on: %v", port, err)
	}
	l.Close()
}

func TestModuleRootAndExecutable(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := FindModuleRoot(filepath.Join(root, "internal", "proc")); err != nil || got != root {
		t.Errorf("FindModuleRoot(internal/local/process) = %q, %v; want %q", got, err, root)
	}
	if _, err := FindModuleRoot(t.TempDir()); err == nil {
		t.Errorf("FindModuleRoot outside any module succeeded")
	}
	exe := filepath.Join(t.TempDir(), "x")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	plain := filepath.Join(t.TempDir(), "y")
	os.WriteFile(plain, nil, 0o644)
	for p, want := range map[string]bool{exe: true, plain: false, "x": false, "": false, root: false} {
		if got := IsExecutable(p); got != want {
			t.Errorf("IsExecutable(%q) = %v, want %v", p, got, want)
		}
	}
}
