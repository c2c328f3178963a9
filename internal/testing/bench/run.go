package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
)

// Options configures Run. Zero counts skip their phase.
type Options struct {
	// Root is the module root, where builds and `go test` run.
	Root string
	// GoBenchtime is -benchtime for the Go benchmarks; empty skips them.
	GoBenchtime string
	// GoPackages are the packages whose benchmarks run (default
	// BenchPackages).
	GoPackages []string
	// ColdStarts is how many containers are started, one event each.
	ColdStarts int
	// WarmInvokes is how many events one warm container answers.
	WarmInvokes int
	// RSSEvents is how many events a container answers before its peak
	// RSS is read.
	RSSEvents int
	// Progress receives a line per phase; nil discards them.
	Progress io.Writer
}

// binaryArch is the GOARCH whose stripped bootstrap is sized: the deployed
// architecture.
const binaryArch = "arm64"

// Run measures flexhook as configured and returns the results with each
// target judged.
func Run(ctx context.Context, o Options) (*Results, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	r := &Results{Machine: machine(ctx, time.Now())}

	if o.GoBenchtime != "" {
		pkgs := o.GoPackages
		if len(pkgs) == 0 {
			pkgs = BenchPackages
		}
		fmt.Fprintf(o.Progress, "go benchmarks (%s each) in %s\n", o.GoBenchtime, strings.Join(pkgs, " "))
		b, err := RunGoBenchmarks(ctx, o.Root, o.GoBenchtime, pkgs...)
		if err != nil {
			return nil, err
		}
		r.Benchmarks = b
	}

	fmt.Fprintf(o.Progress, "build the %s bootstrap\n", binaryArch)
	size, err := binarySize(ctx, o.Root, binaryArch)
	if err != nil {
		return nil, err
	}
	r.Resources = &Resources{BinaryArch: binaryArch, BinaryBytes: size}

	if o.ColdStarts > 0 || o.WarmInvokes > 0 || o.RSSEvents > 0 {
		if err := runEmulated(ctx, o, r); err != nil {
			return nil, err
		}
	}
	r.Tracing = tracingCost(r.Benchmarks)
	r.Targets = judge(r)
	return r, nil
}

// runEmulated runs the phases that need the emulator.
func runEmulated(ctx context.Context, o Options, r *Results) error {
	dir, err := os.MkdirTemp("", "flexhook-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(o.Progress, "build the host bootstrap for the emulator")
	bin, err := emulator.Build(ctx, "./functions/webhook", dir)
	if err != nil {
		return err
	}
	// Found once, so that no start's wall time includes the look-up.
	rie, err := emulator.RIEPath(ctx)
	if err != nil {
		return err
	}
	st, err := newStack()
	if err != nil {
		return err
	}
	defer st.close()
	h := &harness{rie: rie, st: st, bin: bin}

	if o.ColdStarts > 0 {
		fmt.Fprintf(o.Progress, "cold starts: %d\n", o.ColdStarts)
		if r.Cold, err = h.coldStarts(ctx, o.ColdStarts); err != nil {
			return err
		}
	}
	if o.WarmInvokes > 0 {
		fmt.Fprintf(o.Progress, "warm events: %d\n", o.WarmInvokes)
		if r.Warm, err = h.warm(ctx, o.WarmInvokes); err != nil {
			return err
		}
	}
	if o.RSSEvents > 0 {
		fmt.Fprintf(o.Progress, "events before reading peak RSS: %d\n", o.RSSEvents)
		r.Resources.RSSEvents = o.RSSEvents
		if r.Resources.PeakRSSKiB, r.Resources.RSSKiB, err = h.rss(ctx, o.RSSEvents); err != nil {
			return err
		}
	}
	return nil
}

// harness runs containers of one bootstrap against one stack.
type harness struct {
	rie string
	st  *stack
	bin string
	n   int // events sent, to cycle through the stack's events
}

// reportWait bounds the wait for an invocation's log lines once its
// response has arrived.
const reportWait = 10 * time.Second

// container is one emulator instance with its parsed output.
type container struct {
	in   *emulator.Instance
	logs *logs
}

func (h *harness) start(ctx context.Context) (*container, error) {
	l := newLogs()
	in, err := emulator.Start(ctx, emulator.Options{
		Bootstrap: h.bin, RIE: h.rie, Env: h.st.env(),
		Timeout: 12 * time.Second, Stdout: l, LogLevel: "error",
	})
	if err != nil {
		return nil, err
	}
	return &container{in: in, logs: l}, nil
}

// sample is one event's figures.
type sample struct {
	client time.Duration
	inv    invocation
}

// invoke sends the next event and waits for its log lines.
func (h *harness) invoke(ctx context.Context, c *container) (sample, error) {
	i := h.n % len(h.st.events)
	h.n++
	ch := h.st.channels[i] // made active again, so that the event closes it
	if err := h.st.twilio.ReactivateChannel(ch.InteractionSID, ch.SID); err != nil {
		return sample{}, err
	}
	res, err := c.in.Invoke(ctx, h.st.events[i])
	if err != nil {
		return sample{}, err
	}
	if res.Failed() {
		return sample{}, fmt.Errorf("bench: invocation failed: %s: %s", res.ErrorType, res.ErrorMessage)
	}
	resp, err := gatewaytest.ParseResponse(res.Payload)
	if err != nil {
		return sample{}, fmt.Errorf("bench: response %s: %w", res.Payload, err)
	}
	if resp.Status != 204 {
		return sample{}, fmt.Errorf("bench: the function answered %d %s, want 204", resp.Status, resp.Body)
	}
	inv, ok := c.logs.wait(res.RequestID, reportWait)
	if !ok {
		return sample{}, fmt.Errorf("bench: no REPORT and EMF lines for invocation %s within %v", res.RequestID, reportWait)
	}
	if out, _ := inv.emf["Outcome"].(string); out != "closed" {
		return sample{}, fmt.Errorf("bench: outcome %q, want closed", out)
	}
	return sample{client: res.Duration, inv: inv}, nil
}

func (h *harness) coldStarts(ctx context.Context, n int) (*ColdStart, error) {
	var wall, initD, first []float64
	conns := map[string]int{}
	for range n {
		h.st.take()
		t0 := time.Now()
		c, err := h.start(ctx)
		if err != nil {
			return nil, err
		}
		s, err := h.invoke(ctx, c)
		w := time.Since(t0)
		if err := errors.Join(err, c.in.Close()); err != nil {
			return nil, err
		}
		tw, sm := h.st.take()
		conns[apiTaskRouter+"+"+apiFlex] = max(conns[apiTaskRouter+"+"+apiFlex], tw.conns)
		conns[apiSecrets] = max(conns[apiSecrets], sm.conns)
		if s.inv.init == 0 {
			return nil, errors.New("bench: the first REPORT line has no Init Duration")
		}
		wall = append(wall, millis(w))
		// aws-lambda-rie starts the bootstrap inside the first invocation
		// (its Init Duration only covers registering it), so that
		// invocation's Duration holds the whole init; the handler's own
		// Latency is taken out.
		initD = append(initD, s.inv.duration-s.inv.latency)
		first = append(first, s.inv.duration)
	}
	return &ColdStart{Starts: n, Wall: distOf(wall), Init: distOf(initD), FirstInvoke: distOf(first), ConnsPerContainer: conns}, nil
}

// warm answers one event to get past the cold start, then measures n.
func (h *harness) warm(ctx context.Context, n int) (*Warm, error) {
	c, err := h.start(ctx)
	if err != nil {
		return nil, err
	}
	defer c.in.Close()
	if _, err := h.invoke(ctx, c); err != nil {
		return nil, err
	}
	h.st.take()
	var client, report, handler, flex, own []float64
	for range n {
		s, err := h.invoke(ctx, c)
		if err != nil {
			return nil, err
		}
		client = append(client, millis(s.client))
		report = append(report, s.inv.duration)
		handler = append(handler, s.inv.latency)
		flex = append(flex, s.inv.flex)
		own = append(own, s.inv.latency-s.inv.flex)
	}
	tw, sm := h.st.take()
	return &Warm{
		Invokes: n, Client: distOf(client), Report: distOf(report), Handler: distOf(handler),
		Flex: distOf(flex), Own: distOf(own),
		FakeTimeMs: millis(tw.handled+sm.handled) / float64(n),
		CallsPerEvent: map[string]float64{
			apiFlex:       float64(tw.calls[apiFlex]) / float64(n),
			apiTaskRouter: float64(tw.calls[apiTaskRouter]) / float64(n),
			apiSecrets:    float64(sm.calls[apiSecrets]) / float64(n),
		},
		Conns: map[string]int{apiTaskRouter + "+" + apiFlex: tw.conns, apiSecrets: sm.conns},
	}, nil
}

// rss answers n events in one container and reads the function process's
// peak and current resident set size.
func (h *harness) rss(ctx context.Context, n int) (peak, cur int64, err error) {
	c, err := h.start(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.in.Close()
	for range n {
		if _, err := h.invoke(ctx, c); err != nil {
			return 0, 0, err
		}
	}
	dir, err := procDir(h.bin)
	if err != nil {
		return 0, 0, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(status)
}

// procDir returns the /proc directory of the one running process whose
// executable is bin.
func procDir(bin string) (string, error) {
	want, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return "", err
	}
	exes, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil {
		return "", err
	}
	var dirs []string
	for _, exe := range exes {
		if got, err := os.Readlink(exe); err == nil && got == want {
			dirs = append(dirs, filepath.Dir(exe))
		}
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("bench: %d processes run %s, want one", len(dirs), bin)
	}
	return dirs[0], nil
}

// parseStatus reads VmHWM and VmRSS, in KiB, from a /proc/pid/status file.
func parseStatus(b []byte) (peak, cur int64, err error) {
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: %s: %q", k, v)
		}
		if k == "VmHWM" {
			peak = n
		} else {
			cur = n
		}
	}
	if peak == 0 || cur == 0 {
		return 0, 0, errors.New("bench: no VmHWM or VmRSS in /proc status")
	}
	return peak, cur, nil
}

// binarySize builds the function for goarch exactly as the Makefile's
// LAMBDA_BUILD does and returns the binary's size.
func binarySize(ctx context.Context, root, goarch string) (int64, error) {
	dir, err := os.MkdirTemp("", "flexhook-size-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./functions/webhook")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("bench: build for %s: %w\n%s", goarch, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// machine describes this machine.
func machine(ctx context.Context, now time.Time) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Date: now.UTC().Format("2006-01-02")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	return m
}
