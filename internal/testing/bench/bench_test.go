package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/local/process"
)

func TestParseGoBench(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: github.com/flexhook/flexhook/internal/webhook
cpu: AMD EPYC
BenchmarkInvoke/close-no-twilio-2         	   41302	     34182 ns/op	  86.45 MB/s	   12722 B/op	      38 allocs/op
BenchmarkInvoke/close-flextest-xray-16    	    3594	    288972 ns/op	   65314 B/op	     586 allocs/op
PASS
ok  	github.com/flexhook/flexhook/internal/webhook	7.304s
pkg: github.com/flexhook/flexhook/internal/metrics
BenchmarkRecord   	 5718834	       204.0 ns/op	       0 B/op	       0 allocs/op
`)
	got, err := parseGoBench(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []GoBench{
		{"github.com/flexhook/flexhook/internal/webhook", "BenchmarkInvoke/close-no-twilio", 34182, 12722, 38},
		{"github.com/flexhook/flexhook/internal/webhook", "BenchmarkInvoke/close-flextest-xray", 288972, 65314, 586},
		{"github.com/flexhook/flexhook/internal/metrics", "BenchmarkRecord", 204, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("parseGoBench() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseGoBench() line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseGoBench([]byte("PASS\n")); err == nil {
		t.Error("parseGoBench(no benchmarks) = nil error")
	}
}

func TestTracingCost(t *testing.T) {
	bs := []GoBench{{Name: UntracedBenchmark, NsPerOp: 100, AllocsPerOp: 10, BytesPerOp: 1000}, {Name: TracedBenchmark, NsPerOp: 130, AllocsPerOp: 14, BytesPerOp: 1500}}
	if got := tracingCost(bs); got == nil || *got != (TracingRun{NsPerOp: 30, AllocsPerOp: 4, BytesPerOp: 500}) {
		t.Errorf("tracingCost() = %+v, want 30 ns, 4 allocs, 500 B", got)
	}
	if got := tracingCost(bs[:1]); got != nil {
		t.Errorf("tracingCost(one benchmark) = %+v, want nil", got)
	}
}

func TestLogs(t *testing.T) {
	l := newLogs()
	const id = "8f5ac1d2-6a1e-4c4b-9d1b-0a6e2f9f3c11"
	lines := []string{
		"START RequestId: " + id + " Version: $LATEST",
		`{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"request","route":"/taskrouter","outcome":"closed","requestId":"` + id + `"}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Function":"webhook","Outcome":"closed","Latency":1.250,"FlexLatency":1.000}`,
		"END RequestId: " + id,
		"REPORT RequestId: " + id + "\tInit Duration: 0.05 ms\tDuration: 7.39 ms\tBilled Duration: 8 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
	}
	// Written in arbitrary pieces, as a pipe delivers them.
	all := strings.Join(lines, "\n") + "\n"
	for len(all) > 0 {
		n := min(len(all), 37)
		l.Write([]byte(all[:n]))
		all = all[n:]
	}
	inv, ok := l.wait(id, time.Second)
	if !ok {
		t.Fatalf("wait(%s) found no complete invocation", id)
	}
	if inv.duration != 7.39 || inv.init != 0.05 || inv.latency != 1.25 || inv.flex != 1.0 || inv.emf["Outcome"] != "closed" {
		t.Errorf("wait(%s) = %+v, want Duration 7.39, Init 0.05, Latency 1.25, FlexLatency 1", id, inv)
	}
	// A warm REPORT line has no Init Duration; without its EMF line the
	// invocation is incomplete.
	l.Write([]byte("REPORT RequestId: other\tDuration: 1.10 ms\tBilled Duration: 2 ms\t\n"))
	if _, ok := l.wait("other", time.Millisecond); ok {
		t.Error("wait(other) found an invocation without its EMF line")
	}
}

func TestParseStatus(t *testing.T) {
	status := []byte("Name:\tbootstrap\nVmPeak:\t 1265508 kB\nVmHWM:\t   15688 kB\nVmRSS:\t   15660 kB\nThreads:\t7\n")
	peak, cur, err := parseStatus(status)
	if err != nil || peak != 15688 || cur != 15660 {
		t.Errorf("parseStatus() = %d, %d, %v; want 15688, 15660", peak, cur, err)
	}
	if _, _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatus(no memory lines) = nil error")
	}
}

func TestDistOf(t *testing.T) {
	var ms []float64
	for i := 100; i >= 1; i-- {
		ms = append(ms, float64(i))
	}
	if got, want := distOf(ms), (Dist{N: 100, Min: 1, Median: 50, P90: 90, P99: 99, Max: 100}); got != want {
		t.Errorf("distOf(1..100) = %+v, want %+v", got, want)
	}
	if got := distOf(nil); got != (Dist{}) {
		t.Errorf("distOf(nil) = %+v, want zero", got)
	}
}

func TestJudge(t *testing.T) {
	r := &Results{
		Benchmarks: []GoBench{{Name: "BenchmarkInvoke/close-no-twilio", AllocsPerOp: 4100}},
		Cold:       &ColdStart{Init: Dist{Median: 7}, ConnsPerContainer: map[string]int{apiTaskRouter + "+" + apiFlex: 1, apiSecrets: 1}},
		Warm:       &Warm{Own: Dist{Median: 0.05}, CallsPerEvent: map[string]float64{apiSecrets: 0}, Conns: map[string]int{}},
		Resources:  &Resources{BinaryArch: "arm64", BinaryBytes: 13e6, PeakRSSKiB: 16 << 10},
	}
	want := map[string]bool{
		"own init (median)": true, "warm own overhead (median)": true,
		"bootstrap size (arm64)": false, "peak RSS": true, "Secrets Manager calls per warm event": true,
	}
	got := map[string]bool{}
	for _, tg := range judge(r) {
		got[tg.Name] = tg.Pass
		if tg.Method == "" {
			t.Errorf("target %q has no method", tg.Name)
		}
	}
	for name, pass := range want {
		if p, ok := got[name]; !ok || p != pass {
			t.Errorf("judge() %q pass = %v (present %v), want %v", name, p, ok, pass)
		}
	}
	// Allocations are reported, never a target, however many there are.
	for name := range got {
		if strings.Contains(name, "alloc") {
			t.Errorf("judge() has an allocation target %q", name)
		}
	}
	// Warm own overhead: at most 0.2 ms median.
	r.Warm.Own.Median = 0.25
	for _, tg := range judge(r) {
		if tg.Name == "warm own overhead (median)" && (tg.Pass || tg.Limit != 0.2) {
			t.Errorf("judge() warm own overhead 0.25 ms = pass %v against %v ms, want a fail against 0.2 ms", tg.Pass, tg.Limit)
		}
	}
}

// TestRunSmoke runs the whole harness in a small configuration so that it
// cannot rot: every figure must be produced. It asserts counts, never
// timings.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and runs it under the Lambda emulator; skipped with -short")
	}
	root, err := process.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	r, err := Run(ctx, Options{
		Root: root, GoBenchtime: "1x", GoPackages: []string{"./internal/metrics"},
		ColdStarts: 2, WarmInvokes: 20, RSSEvents: 20, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run() error = %v\nprogress:\n%s", err, progress.String())
	}
	if len(r.Benchmarks) == 0 || r.Machine.CPUs == 0 || r.Machine.GoVersion == "" {
		t.Errorf("Run() benchmarks %v, machine %+v", r.Benchmarks, r.Machine)
	}
	if c := r.Cold; c == nil || c.Starts != 2 || c.Wall.N != 2 || c.Init.N != 2 || c.Init.Median <= 0 {
		t.Errorf("Run() cold start = %+v, want 2 starts with init figures", c)
	} else if c.ConnsPerContainer[apiSecrets] != 1 || c.ConnsPerContainer[apiTaskRouter+"+"+apiFlex] != 1 {
		t.Errorf("cold container connections = %v, want one per fake", c.ConnsPerContainer)
	}
	if w := r.Warm; w == nil || w.Invokes != 20 || w.Own.N != 20 {
		t.Errorf("Run() warm = %+v, want 20 events", w)
	} else {
		// Look before closing: fetch the channel, then update it.
		want := map[string]float64{apiFlex: 2, apiTaskRouter: 1, apiSecrets: 0}
		for api, n := range want {
			if w.CallsPerEvent[api] != n {
				t.Errorf("%s calls per warm event = %v, want %v", api, w.CallsPerEvent[api], n)
			}
		}
		if w.Conns[apiSecrets] != 0 || w.Conns[apiTaskRouter+"+"+apiFlex] != 0 {
			t.Errorf("warm events opened connections %v, want none", w.Conns)
		}
	}
	if rs := r.Resources; rs == nil || rs.BinaryBytes == 0 || rs.PeakRSSKiB == 0 || rs.RSSEvents != 20 {
		t.Errorf("Run() resources = %+v", rs)
	}
	if len(r.Targets) < 8 {
		t.Errorf("Run() judged %d targets, want every one with figures: %+v", len(r.Targets), r.Targets)
	}
	var table, md bytes.Buffer
	if err := r.WriteTable(&table); err != nil || !strings.Contains(table.String(), "own init") {
		t.Errorf("WriteTable() = %v:\n%s", err, table.String())
	}
	if err := r.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| target |") {
		t.Errorf("WriteMarkdown() = %v:\n%s", err, md.String())
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("json.Marshal(results) = %v", err)
	}
}
