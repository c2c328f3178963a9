package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/webhook"
)

// DefaultAddr is where the local API gateway listens unless told otherwise,
// the port `sam local start-api` uses.
const DefaultAddr = "127.0.0.1:3000"

// FunctionPackage is the function `flexhook run` builds and runs.
const FunctionPackage = "./functions/webhook"

// summaryWait bounds the wait for the function's summary log line, which
// travels through the emulator's output pipe and may arrive just after the
// response.
const summaryWait = 2 * time.Second

// shutdownWait bounds how long Close lets requests in flight finish.
const shutdownWait = 5 * time.Second

// Options configure Start.
type Options struct {
	// Addr is the local API gateway's listen address; empty means
	// DefaultAddr. Use "127.0.0.1:0" for a free port.
	Addr string

	// Mode selects the Twilio API: the simulator (default) or the real one.
	Mode Mode
	// Real holds the credentials for RealTwilio mode.
	Real RealCredentials

	// PublicBaseURL, when set, becomes the function's PUBLIC_BASE_URL: the
	// URL Twilio calls through a tunnel, which its signatures cover.
	PublicBaseURL string

	// Env holds KEY=value overrides of the function's environment, such as
	// CLOSE_STATUS=inactive, applied last.
	Env []string

	// Bootstrap is a function binary built by emulator.Build; empty means
	// Start builds FunctionPackage for this machine into a temporary
	// directory that Close removes.
	Bootstrap string

	// Logs receives the function's output (its JSON log lines and the
	// emulator's START, END and REPORT lines) and the emulator's own log;
	// nil discards them.
	Logs io.Writer

	// Durable runs durable mode: the webhook puts close jobs on a local SQS
	// FIFO queue (goaws) and the worker function, under a second emulator
	// fed by the event source mapping emulator, closes the channels. False
	// runs sync mode: the webhook closes inline.
	Durable bool
	// WorkerBootstrap is a worker binary built by emulator.Build; empty
	// means Start builds WorkerPackage. Durable mode only.
	WorkerBootstrap string
	// NoTable runs durable mode without the idempotency table, even when
	// dynalite is installed.
	NoTable bool
}

// System is flexhook running locally: the function under the emulator,
// behind the local API gateway, with its stand-ins for Secrets Manager and
// (in Simulator mode) Twilio.
type System struct {
	mode       Mode
	url        string // the gateway's base URL
	twilioURL  string
	awsURL     string
	publicURL  string
	accountSID string

	twilio  *flextest.Server // nil in RealTwilio mode
	secrets *secretstest.Server
	traced  *tracedFunction
	logs    *logTap
	seen    *recent[Observation]

	durable *durable // nil in sync mode

	webhookEnv []string // the webhook's environment, as the emulator runs it
	workerEnv  []string // the worker's; nil in sync mode
	overrides  []string // Options.Env

	liveMu sync.Mutex
	live   io.Writer // where Live prints; nil when it does not

	stopGateway func() error   // stops the gateway; nil until it listens
	closers     []func() error // stop the rest, in reverse order
	closeOnce   sync.Once
	closeErr    error
}

// Start builds the function (unless o.Bootstrap is set), starts the local
// stand-ins, the emulator and the local API gateway, and returns once the
// gateway accepts connections. ctx bounds the start-up only. The caller must
// Close the System, which stops everything Start started.
func Start(ctx context.Context, o Options) (_ *System, err error) {
	o.Mode, o.Addr = cmp.Or(o.Mode, Simulator), cmp.Or(o.Addr, DefaultAddr)
	s := &System{mode: o.Mode, publicURL: o.PublicBaseURL, seen: newRecent[Observation]()}
	defer func() {
		if err != nil {
			s.Close() // stop whatever started before the failure
		}
	}()

	// The gateway's port first: a port in use is the likeliest failure and
	// the cheapest to report.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("start the local API gateway: %w (choose another address with --addr)", err)
	}
	s.url = "http://" + displayAddr(ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	s.stopGateway = func() error { return ln.Close() } // until it serves

	secret := samples.SecretJSON()
	s.accountSID = samples.AccountSID
	workspace := samples.WorkspaceSID
	var extra []string
	var webhookTap *twilioTap // nil in RealTwilio mode
	switch o.Mode {
	case Simulator:
		s.twilio = flextest.New(flextest.Options{
			AccountSID:  samples.AccountSID,
			Credentials: map[string]string{samples.AccountSID: samples.AuthToken},
		})
		samples.Seed(s.twilio)
		seedPlayground(s.twilio)
		if webhookTap, s.twilioURL, err = s.serveTap(); err != nil {
			return nil, err
		}
		// The CRM source presets, whose secrets the local secret holds.
		extra = []string{config.EnvCRMSources + "=" + samples.CRMSourcesJSON()}
	case RealTwilio:
		if o.Real.AccountSID == "" || o.Real.AuthToken == "" {
			return nil, fmt.Errorf("%w: RealTwilio mode needs Options.Real", ErrMissingCredentials)
		}
		secret, s.accountSID, workspace = o.Real.secretJSON(), o.Real.AccountSID, ""
	default:
		return nil, fmt.Errorf("localrun: unknown mode %q", o.Mode)
	}

	s.secrets = secretstest.New()
	s.secrets.Put(SecretID, secret)
	ep, err := s.secrets.Listen("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the Secrets Manager stand-in: %w", err)
	}
	s.closers = append(s.closers, ep.Close)
	s.awsURL = ep.URL()

	env := functionEnv(s.awsURL, s.twilioURL, o.PublicBaseURL, workspace, extra)
	if err := checkFunctionEnv(append(env, o.Env...)); err != nil {
		return nil, err
	}
	if o.Durable {
		if err := checkEnv(workerEnv(s.awsURL, "", nil, o.Env), "worker", loadWorker); err != nil {
			return nil, err
		}
	}

	bootstrap, workerBin, err := s.build(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.Durable {
		queueEnv, err := s.startDurable(ctx, o, workerBin)
		if err != nil {
			return nil, err
		}
		env = append(env, queueEnv...)
	}
	env = append(env, o.Env...)
	s.webhookEnv, s.overrides = env, o.Env

	s.logs = newLogTap(o.Logs)
	fn, err := s.startFunction(ctx, o, "", bootstrap, env, FunctionTimeout, s.logs)
	if err != nil {
		return nil, err
	}
	s.traced = &tracedFunction{fn: fn, calls: webhookTap, traces: newRecent[trace]()}
	if s.durable != nil {
		s.closers = append(s.closers, s.durable.run())
	}

	gw, err := apigateway.New([]apigateway.Invoker{s.traced}, apigateway.Options{
		Routes:    []string{"POST " + webhook.RouteTaskRouter, "POST " + webhook.RouteCRM, "POST " + webhook.RouteCRM + "/{name}"},
		InvokeAPI: true,
		Observe:   s.observe,
	})
	if err != nil {
		return nil, err
	}
	srv.Handler = gw
	s.stopGateway = serve(srv, ln)
	return s, nil
}

// startFunction runs bin under an emulator of its own, which Close stops;
// what is names the function in errors ("" for the webhook).
func (s *System) startFunction(ctx context.Context, o Options, what, bin string, env []string, timeout time.Duration, logs *logTap) (*emulator.Instance, error) {
	fn, err := emulator.Start(ctx, emulator.Options{Bootstrap: bin, Env: env, Timeout: timeout, Stdout: logs, Stderr: o.Logs})
	if err != nil {
		return nil, fmt.Errorf("start the Lambda emulator%s: %w", what, err)
	}
	s.closers = append(s.closers, fn.Close)
	return fn, nil
}

// serve serves srv on ln and returns what stops it: a graceful shutdown,
// bounded by shutdownWait, after which the connections still open (a
// request waiting for the function) are cut off.
func serve(srv *http.Server, ln net.Listener) func() error {
	go func() { _ = srv.Serve(ln) }() // Serve returns ErrServerClosed on Shutdown
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return srv.Close()
		}
		return err
	}
}

// build compiles the functions Start runs, unless Options name prebuilt
// binaries: the webhook, and the worker in durable mode (at the same time).
// The binaries go to a temporary directory that Close removes.
func (s *System) build(ctx context.Context, o Options) (webhookBin, workerBin string, err error) {
	webhookBin, workerBin = o.Bootstrap, o.WorkerBootstrap
	if webhookBin != "" && (workerBin != "" || !o.Durable) {
		return webhookBin, workerBin, nil
	}
	dir, err := os.MkdirTemp("", "flexhook-run-")
	if err != nil {
		return "", "", err
	}
	s.closers = append(s.closers, func() error { return os.RemoveAll(dir) })
	var workerErr error
	var wg sync.WaitGroup
	if o.Durable && workerBin == "" {
		wg.Go(func() { workerBin, workerErr = emulator.Build(ctx, WorkerPackage, filepath.Join(dir, "worker")) })
	}
	if webhookBin == "" {
		webhookBin, err = emulator.Build(ctx, FunctionPackage, filepath.Join(dir, "webhook"))
	}
	wg.Wait()
	switch {
	case err != nil:
		return "", "", fmt.Errorf("build the function: %w", err)
	case workerErr != nil:
		return "", "", fmt.Errorf("build the worker: %w", workerErr)
	}
	return webhookBin, workerBin, nil
}

// displayAddr is a listener address as clients should dial it: an
// unspecified host (":3000", "[::]:3000") becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Close stops the gateway (letting requests in flight finish for a few
// seconds), then the emulator with its function, then the stand-ins, and
// removes the function binary Start built. It is safe to call more than once.
func (s *System) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.stopGateway != nil {
			if err := s.stopGateway(); err != nil {
				errs = append(errs, fmt.Errorf("stop the local API gateway: %w", err))
			}
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			if err := s.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// URL returns the local API gateway's base URL, such as
// http://127.0.0.1:3000.
func (s *System) URL() string { return s.url }

// Mode returns the Twilio mode the System runs in.
func (s *System) Mode() Mode { return s.mode }

// Twilio returns the Twilio simulator, or nil in RealTwilio mode.
func (s *System) Twilio() *flextest.Server { return s.twilio }

// Live makes the System print one line to w for every request it serves
// from now on (nil stops it). The demo's own requests are not printed.
func (s *System) Live(w io.Writer) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	s.live = w
}

// printLive prints the line line renders in live mode.
func (s *System) printLive(line func() string) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.live != nil {
		fmt.Fprintln(s.live, line())
	}
}

// observe is the gateway's Observe hook: it puts together what the request
// did and records it for the demo, or prints it in live mode.
func (s *System) observe(x apigateway.Exchange) {
	o := Observation{Exchange: x}
	if x.Invoked {
		if tr, ok := s.traced.traces.get(x.Result.RequestID); ok {
			o.FlexCalls, o.ColdStart = tr.calls, tr.cold
		}
		if !x.Result.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), summaryWait)
			if sum, ok := s.logs.summaries.wait(ctx, x.Result.RequestID); ok {
				o.Summary = &sum
			}
			cancel()
		}
	}
	s.printLive(func() string { return formatLive(o) })
	s.seen.put(x.RequestID, o) // after the live line, so a waiter sees both
}

// Observation waits until the request the gateway answered with API request
// id (its Apigw-Requestid header) has been observed, or ctx ends.
func (s *System) Observation(ctx context.Context, id string) (Observation, bool) {
	return s.seen.wait(ctx, id)
}
