package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/flexhook/flexhook/internal/local/stack"
)

const runDescription = `
Runs flexhook on loopback as it runs in AWS, and plays a demo.

In durable mode (the default) it builds functions/webhook and functions/worker
as the real bootstrap binaries and runs each under its own AWS Lambda Runtime
Interface Emulator. The webhook puts close jobs on an SQS FIFO queue served by
goaws (AWS_ENDPOINT_URL_SQS, CLOSE_QUEUE_URL); an event source mapping emulator
feeds the queue to the worker, which closes the channels. The idempotency
table is a dynalite DynamoDB (AWS_ENDPOINT_URL_DYNAMODB, IDEMPOTENCY_TABLE)
when npm ci has installed it, otherwise there is none (the banner says so).
With --mode=sync only the webhook runs, and it closes inline.

A local API gateway on 127.0.0.1:3000 serves POST /taskrouter, POST /crm and
the Lambda Invoke API path for raw events. The functions reach a local Secrets
Manager stand-in and the embedded Twilio Flex/TaskRouter simulator through
AWS_ENDPOINT_URL_SECRETS_MANAGER and TWILIO_API_BASE_URL, seeded with the
sample channels.

It prints the URLs, the local credentials and ready curl commands, plays a
scripted demo (signed TaskRouter events, a CRM callback, a bad signature) with
one line per event — in durable mode the webhook's answer and the worker's
decision —, then in durable mode a Flex outage: Twilio answers 503 while events
arrive, the jobs wait in the queue, and drain when it recovers. Then it serves
until Ctrl-C, printing one line per request and per worker job.

With --once it exits after the demo: 0 when every event had its expected
outcome, 1 otherwise. With --twilio=real the functions call the real Twilio
API with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (optionally TWILIO_API_KEY
and TWILIO_API_SECRET for the REST calls) from the environment; there is no
demo, and --public-url should be the tunnel URL Twilio calls.

It writes local-env.json (--local-env), the functions' environment pointed
at the running stand-ins, for sam local invoke --env-vars.`

// runCommand implements `flexhook run`.
func runCommand(ctx context.Context, std *stdio, args []string) int {
	fs := newFlagSet("run", "flexhook run [--mode durable|sync] [--addr 127.0.0.1:3000] [--once] [--twilio sim|real] [--public-url URL] [--env KEY=value]...", runDescription)
	mode := fs.String("mode", "durable", "`mode` of delivery: durable (webhook → SQS → worker) or sync (the webhook closes inline)")
	noTable := fs.Bool("no-table", false, "durable mode without the idempotency table, even when dynalite is installed")
	outage := fs.Int("outage", stack.DefaultOutageEvents, "events sent during the demo's Flex outage, durable mode (0 skips it)")
	workerBootstrap := fs.String("worker-bootstrap", "", "use this prebuilt worker `binary` (from emulator.Build) instead of building functions/worker")
	addr := fs.String("addr", stack.DefaultAddr, "`address` of the local API gateway (port 0 picks a free port)")
	once := fs.Bool("once", false, "play the demo and exit: 0 if every outcome is as expected, 1 otherwise")
	noDemo := fs.Bool("no-demo", false, "skip the demo")
	twilio := fs.String("twilio", "sim", "Twilio API to use: `sim` (embedded simulator) or real (credentials from the environment)")
	publicURL := fs.String("public-url", "", "PUBLIC_BASE_URL of the function: the public `URL` (such as a tunnel) that Twilio signs")
	logs := fs.Bool("logs", false, "also print the function's log lines and the emulator's log to stderr")
	localEnv := fs.String("local-env", stack.LocalEnvFile, "write the functions' environment for `sam local invoke --env-vars` to this `file` (empty: do not)")
	localEnvHost := fs.String("local-env-host", "", "`host` that replaces 127.0.0.1 in local-env.json's URLs, e.g. host.docker.internal for Docker Desktop")
	bootstrap := fs.String("bootstrap", "", "use this prebuilt webhook `binary` (from emulator.Build) instead of building functions/webhook")
	env := fs.list("env", "override a function environment variable, as `KEY=value` (repeatable), e.g. CLOSE_STATUS=inactive")
	if code, ok := fs.parseNone(std, args); !ok {
		return code
	}
	opts, err := runOptions(*twilio, *publicURL, *addr, *once, *env, std.getenv)
	if err != nil {
		return fs.fail(std, err, exitUsage)
	}
	if *outage < 0 {
		return fs.fail(std, usageError("--outage must be 0 or more"), exitUsage)
	}
	switch *mode {
	case "durable":
		opts.Durable = true
	case "sync":
		*outage = 0 // the outage demo needs the queue
	default:
		return fs.fail(std, usageError("--mode=%q: want durable or sync", *mode), exitUsage)
	}
	opts.Bootstrap, opts.WorkerBootstrap, opts.NoTable = *bootstrap, *workerBootstrap, *noTable
	if *logs {
		opts.Logs = &lockedWriter{w: std.stderr}
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if opts.Durable {
		fmt.Fprintf(std.stderr, "flexhook run: building %s and %s, starting goaws and the Lambda emulators (the first run also compiles the emulator and goaws: a minute or two)...\n", stack.FunctionPackage, stack.WorkerPackage)
	} else {
		fmt.Fprintf(std.stderr, "flexhook run: building %s and starting the Lambda emulator (the first run also compiles the emulator: a minute or two)...\n", stack.FunctionPackage)
	}
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	sys, err := stack.Start(startCtx, opts)
	cancel()
	if err != nil {
		return fs.fail(std, err, exitFailure)
	}
	defer sys.Close()
	if err := sys.Banner(std.stdout); err != nil {
		return fs.fail(std, err, exitFailure)
	}
	if *localEnv != "" {
		if err := sys.WriteSAMEnv(*localEnv, *localEnvHost); err != nil {
			return fs.fail(std, err, exitFailure)
		}
		fmt.Fprintf(std.stdout, "sam local invoke: %s points the functions at these stand-ins (--env-vars %s --docker-network host; docs/run.md)\n\n", *localEnv, *localEnv)
	}

	if sys.Mode() == stack.Simulator && !*noDemo {
		ok, err := demo(ctx, sys, std.stdout, *outage)
		switch {
		case errors.Is(err, context.Canceled):
			return exitOK // Ctrl-C during the demo
		case err != nil:
			return fs.fail(std, err, exitFailure)
		case *once && !ok:
			return exitFailure
		case !*once:
			fmt.Fprintln(std.stdout)
		}
	}
	if *once {
		return exitOK
	}
	lines := "request"
	if opts.Durable {
		lines = "request and per worker job"
	}
	fmt.Fprintf(std.stdout, "Serving on %s: one line per %s below. Press Ctrl-C to stop.\n", sys.URL(), lines)
	sys.Live(std.stdout)
	<-ctx.Done()
	sys.Live(nil)
	fmt.Fprintln(std.stdout, "\nStopping: closing the gateway, the emulators and the stand-ins.")
	if err := sys.Close(); err != nil {
		return fs.fail(std, err, exitFailure)
	}
	return exitOK
}

// demo plays the scripted demo, then the Flex outage with outage events
// unless it is 0, and reports whether every outcome was as expected.
func demo(ctx context.Context, sys *stack.System, w io.Writer, outage int) (bool, error) {
	rep, err := sys.Demo(ctx, w, stack.DemoSteps())
	if err != nil || outage == 0 {
		return rep.OK(), err
	}
	fmt.Fprintln(w)
	orep, err := sys.Outage(ctx, w, outage)
	return rep.OK() && orep.OK(), err
}

// runOptions checks the flags that depend on each other and the
// environment.
func runOptions(twilio, publicURL, addr string, once bool, env []string, getenv func(string) string) (stack.Options, error) {
	mode, err := stack.ParseMode(twilio)
	if err != nil {
		return stack.Options{}, usageError("%v", err)
	}
	opts := stack.Options{Addr: addr, Mode: mode, PublicBaseURL: publicURL, Env: env}
	if mode == stack.RealTwilio {
		if once {
			return opts, usageError("--once plays the demo, which needs the simulator: drop --twilio=real")
		}
		if opts.Real, err = stack.RealCredentialsFromEnv(getenv); err != nil {
			return opts, usageError("%v", err)
		}
	}
	return opts, nil
}

// lockedWriter serializes writes from the emulator's output goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
