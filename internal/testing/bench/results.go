package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Results is one run of the harness; it is written as bench/results.json.
type Results struct {
	Machine    Machine     `json:"machine"`
	Benchmarks []GoBench   `json:"go_benchmarks"`
	Cold       *ColdStart  `json:"cold_start,omitempty"`
	Warm       *Warm       `json:"warm,omitempty"`
	Resources  *Resources  `json:"resources,omitempty"`
	Targets    []Target    `json:"targets"`
	Tracing    *TracingRun `json:"tracing,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	Date      string `json:"date"`
}

// GoBench is one line of `go test -bench` output.
type GoBench struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}

// ColdStart is the cold start measurement: one emulator and container per
// start, each answering one event.
type ColdStart struct {
	Starts int `json:"starts"`
	// Wall is from launching the emulator to the first response.
	Wall Dist `json:"wall"`
	// Init is the first event's REPORT Duration minus its handler Latency
	// (EMF): process start, Go and package initialization, the function's
	// cold start (configuration, AWS SDK, first secret fetch) and the
	// runtime API hand-off. aws-lambda-rie starts the bootstrap inside the
	// first invocation, so its own "Init Duration" does not cover this.
	Init Dist `json:"init"`
	// FirstInvoke is the REPORT line's Duration of the first event.
	FirstInvoke Dist `json:"first_invoke"`
	// ConnsPerContainer is the most connections one container opened to
	// each upstream fake over its life.
	ConnsPerContainer map[string]int `json:"max_connections_per_container"`
}

// Warm is the warm latency measurement: one container, many events.
type Warm struct {
	Invokes int `json:"invokes"`
	// Client is the round trip through the emulator.
	Client Dist `json:"client"`
	// Report is the REPORT line's Duration.
	Report Dist `json:"report"`
	// Handler is the function's own Latency metric, Flex is its
	// FlexLatency, Own is Handler minus Flex per event.
	Handler Dist `json:"handler"`
	Flex    Dist `json:"flex"`
	Own     Dist `json:"own_overhead"`
	// FakeTimeMs is the fakes' handler time per event, ms: the part of
	// Flex the fakes themselves spent.
	FakeTimeMs float64 `json:"fake_time_per_event_ms"`
	// CallsPerEvent counts upstream calls per event, by API.
	CallsPerEvent map[string]float64 `json:"calls_per_event"`
	// Conns counts connections the container opened, by API, during the
	// warm events (after its cold start).
	Conns map[string]int `json:"connections"`
}

// Resources are size and memory figures.
type Resources struct {
	BinaryBytes int64  `json:"binary_bytes"`
	BinaryArch  string `json:"binary_arch"`
	RSSEvents   int    `json:"rss_events"`
	// PeakRSSKiB is VmHWM of the function process after RSSEvents events;
	// RSSKiB is its VmRSS then.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	RSSKiB     int64 `json:"rss_kib"`
}

// TracingRun is what X-Ray tracing adds to one event, from the Go
// benchmarks of the handler with the real Twilio client against the
// in-process fake, without and with a sampled trace (aws-lambda-rie cannot
// pass a trace header to the function, so this is measured in-process).
type TracingRun struct {
	NsPerOp     float64 `json:"added_ns_per_op"`
	AllocsPerOp float64 `json:"added_allocs_per_op"`
	BytesPerOp  float64 `json:"added_bytes_per_op"`
}

// Target is one goal and whether this run met it.
type Target struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Pass   bool    `json:"pass"`
	Method string  `json:"method"`
}

// WriteTable prints the results as plain-text tables.
func (r *Results) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	m := r.Machine
	p("machine\t%d CPUs, %s, %s %s/%s, %s", m.CPUs, m.CPUModel, m.GoVersion, m.GOOS, m.GOARCH, m.Date)
	p("")
	if len(r.Benchmarks) > 0 {
		p("benchmark\tns/op\tB/op\tallocs/op")
		for _, b := range r.Benchmarks {
			p("%s\t%.0f\t%.0f\t%.0f", b.Name, b.NsPerOp, b.BytesPerOp, b.AllocsPerOp)
		}
		p("")
	}
	if c := r.Cold; c != nil {
		p("cold start (%d starts)\tp50\tp90\tmax", c.Starts)
		p("emulator launch to first response\t%.1f ms\t%.1f ms\t%.1f ms", c.Wall.Median, c.Wall.P90, c.Wall.Max)
		p("own init (first Duration - Latency)\t%.1f ms\t%.1f ms\t%.1f ms", c.Init.Median, c.Init.P90, c.Init.Max)
		p("first event duration (REPORT)\t%.2f ms\t%.2f ms\t%.2f ms", c.FirstInvoke.Median, c.FirstInvoke.P90, c.FirstInvoke.Max)
		p("")
	}
	if wm := r.Warm; wm != nil {
		p("warm (%d events)\tp50\tp99\tmax", wm.Invokes)
		p("client round trip\t%.3f ms\t%.3f ms\t%.3f ms", wm.Client.Median, wm.Client.P99, wm.Client.Max)
		p("duration (REPORT)\t%.3f ms\t%.3f ms\t%.3f ms", wm.Report.Median, wm.Report.P99, wm.Report.Max)
		p("handler (EMF Latency)\t%.3f ms\t%.3f ms\t%.3f ms", wm.Handler.Median, wm.Handler.P99, wm.Handler.Max)
		p("Twilio calls (EMF FlexLatency)\t%.3f ms\t%.3f ms\t%.3f ms", wm.Flex.Median, wm.Flex.P99, wm.Flex.Max)
		p("own overhead (Latency - FlexLatency)\t%.3f ms\t%.3f ms\t%.3f ms", wm.Own.Median, wm.Own.P99, wm.Own.Max)
		p("")
		p("upstream calls per event\tFlex %.2f\tTaskRouter %.2f\tSecrets Manager %.2f",
			wm.CallsPerEvent[apiFlex], wm.CallsPerEvent[apiTaskRouter], wm.CallsPerEvent[apiSecrets])
		p("")
	}
	if t := r.Tracing; t != nil {
		p("X-Ray tracing, added per sampled event\t%.3f ms\t%.0f B\t%.0f allocs", t.NsPerOp/1e6, t.BytesPerOp, t.AllocsPerOp)
		p("")
	}
	if rs := r.Resources; rs != nil {
		p("bootstrap (%s, stripped)\t%.2f MB", rs.BinaryArch, float64(rs.BinaryBytes)/1e6)
		if rs.RSSEvents > 0 {
			p("RSS after %d events\tpeak %.1f MB\tnow %.1f MB", rs.RSSEvents, float64(rs.PeakRSSKiB)/1024, float64(rs.RSSKiB)/1024)
		}
		p("")
	}
	if len(r.Targets) > 0 {
		p("target\tvalue\tlimit\tresult\tmethod")
		for _, t := range r.Targets {
			res := "FAIL"
			if t.Pass {
				res = "pass"
			}
			p("%s\t%s\t%s\t%s\t%s", t.Name, format(t.Value, t.Unit), format(t.Limit, t.Unit), res, t.Method)
		}
	}
	return tw.Flush()
}

// WriteMarkdown writes the results as Markdown tables, for bench/README.md.
func (r *Results) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m := r.Machine
	p("Machine: %d CPUs (`nproc`), %s, %s %s/%s, %s.", m.CPUs, m.CPUModel, m.GoVersion, m.GOOS, m.GOARCH, m.Date)
	p("")
	if len(r.Targets) > 0 {
		p("| target | value | limit | result | how it is measured |")
		p("| --- | --- | --- | --- | --- |")
		for _, t := range r.Targets {
			res := "FAIL"
			if t.Pass {
				res = "pass"
			}
			p("| %s | %s | %s | %s | %s |", t.Name, format(t.Value, t.Unit), format(t.Limit, t.Unit), res, t.Method)
		}
		p("")
	}
	if len(r.Benchmarks) > 0 {
		p("| Go benchmark | ns/op | B/op | allocs/op |")
		p("| --- | ---: | ---: | ---: |")
		for _, g := range r.Benchmarks {
			p("| `%s` | %.0f | %.0f | %.0f |", g.Name, g.NsPerOp, g.BytesPerOp, g.AllocsPerOp)
		}
		p("")
	}
	if c := r.Cold; c != nil {
		p("| cold start (%d starts) | p50 | p90 | max |", c.Starts)
		p("| --- | ---: | ---: | ---: |")
		p("| emulator launch to first response | %.1f ms | %.1f ms | %.1f ms |", c.Wall.Median, c.Wall.P90, c.Wall.Max)
		p("| own init (first event Duration − its Latency) | %.1f ms | %.1f ms | %.1f ms |", c.Init.Median, c.Init.P90, c.Init.Max)
		p("| first event Duration (REPORT) | %.2f ms | %.2f ms | %.2f ms |", c.FirstInvoke.Median, c.FirstInvoke.P90, c.FirstInvoke.Max)
		p("")
	}
	if wm := r.Warm; wm != nil {
		p("| warm (%d events) | p50 | p99 | max |", wm.Invokes)
		p("| --- | ---: | ---: | ---: |")
		p("| client round trip through the emulator | %.3f ms | %.3f ms | %.3f ms |", wm.Client.Median, wm.Client.P99, wm.Client.Max)
		p("| Duration (REPORT) | %.3f ms | %.3f ms | %.3f ms |", wm.Report.Median, wm.Report.P99, wm.Report.Max)
		p("| handler (EMF Latency) | %.3f ms | %.3f ms | %.3f ms |", wm.Handler.Median, wm.Handler.P99, wm.Handler.Max)
		p("| Twilio calls (EMF FlexLatency) | %.3f ms | %.3f ms | %.3f ms |", wm.Flex.Median, wm.Flex.P99, wm.Flex.Max)
		p("| own overhead (Latency − FlexLatency) | %.3f ms | %.3f ms | %.3f ms |", wm.Own.Median, wm.Own.P99, wm.Own.Max)
		p("")
		p("Upstream calls per event: Flex %.2f, TaskRouter %.2f, Secrets Manager %.2f. The fakes spent %.3f ms per event in their handlers.",
			wm.CallsPerEvent[apiFlex], wm.CallsPerEvent[apiTaskRouter], wm.CallsPerEvent[apiSecrets], wm.FakeTimeMs)
		p("")
	}
	if t := r.Tracing; t != nil {
		p("X-Ray tracing adds %.3f ms, %.0f B and %.0f allocations to a sampled event (two subsegments), from `%s` minus `%s`.",
			t.NsPerOp/1e6, t.BytesPerOp, t.AllocsPerOp, TracedBenchmark, UntracedBenchmark)
		p("")
	}
	if rs := r.Resources; rs != nil {
		p("Stripped `bootstrap` for %s: %.2f MB (%d bytes).", rs.BinaryArch, float64(rs.BinaryBytes)/1e6, rs.BinaryBytes)
		if rs.RSSEvents > 0 {
			p("After %d events: peak RSS (VmHWM) %.1f MiB, RSS (VmRSS) %.1f MiB.", rs.RSSEvents, float64(rs.PeakRSSKiB)/1024, float64(rs.RSSKiB)/1024)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func format(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.3f ms", v)
	case "MB", "MiB":
		return fmt.Sprintf("%.2f %s", v, unit)
	case "":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
