package flextest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrNotLoopback is returned by Listen for an address that is not on the
// loopback interface: the fake accepts any request with the configured
// credentials and must not be reachable from the network.
var ErrNotLoopback = errors.New("flextest: listen address is not loopback")

// Listen serves s on addr, which must be a loopback address such as
// "127.0.0.1:8089", "localhost:0" or ":8089" (meaning 127.0.0.1). It returns
// the base URL to reach the server, such as "http://127.0.0.1:8089", and
// stop, which shuts the server down gracefully within ctx and returns the
// first error of shutting down or serving (later calls return the same).
// It returns ErrNotLoopback for another host, or the error of listening.
func (s *Server) Listen(addr string) (baseURL string, stop func(ctx context.Context) error, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("flextest listen %q: %w", addr, err)
	}
	switch host {
	case "":
		host = "127.0.0.1"
	case "localhost":
	default:
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "", nil, fmt.Errorf("flextest listen %q: %w", addr, ErrNotLoopback)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", nil, fmt.Errorf("flextest listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var (
		once    sync.Once
		stopErr error
	)
	stop = func(ctx context.Context) error {
		once.Do(func() {
			stopErr = srv.Shutdown(ctx)
			if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && stopErr == nil {
				stopErr = serr
			}
		})
		return stopErr
	}
	return "http://" + ln.Addr().String(), stop, nil
}
