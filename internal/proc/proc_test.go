package proc

import (
	"net"
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
