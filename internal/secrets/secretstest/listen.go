package secretstest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Endpoint is a Server serving HTTP on a TCP address, as started by Listen.
type Endpoint struct {
	url  string
	srv  *http.Server
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// Listen serves s on addr, for example "127.0.0.1:0" for a free loopback
// port, until Close. It returns once the port accepts connections, or an
// error if addr cannot be listened on. Point the SDK at Endpoint.URL, for
// example through AWS_ENDPOINT_URL_SECRETS_MANAGER.
func (s *Server) Listen(addr string) (*Endpoint, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("secretstest: listen: %w", err)
	}
	e := &Endpoint{
		url:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { e.done <- e.srv.Serve(ln) }()
	return e, nil
}

// URL returns the base URL of the endpoint, such as http://127.0.0.1:4566.
func (e *Endpoint) URL() string { return e.url }

// Close stops serving and closes open connections. It returns the error that
// stopped the server early, if any; later calls return the same result.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		if err := e.srv.Close(); err != nil {
			e.closeErr = fmt.Errorf("secretstest: close: %w", err)
			return
		}
		if err := <-e.done; !errors.Is(err, http.ErrServerClosed) {
			e.closeErr = fmt.Errorf("secretstest: serve: %w", err)
		}
	})
	return e.closeErr
}
