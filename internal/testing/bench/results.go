package bench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
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

// table is one table of the results; its first row is the header.
type table struct {
	rows    [][]string
	figures bool // the columns after the first are figures, right-aligned in Markdown
}

// layout returns the results as the machine's line, tables and the
// sentences after them, which WriteTable and WriteMarkdown lay out.
func (r *Results) layout() (machine string, tables []table, notes []string) {
	m := r.Machine
	machine = fmt.Sprintf("Machine: %d CPUs (`nproc`), %s, %s %s/%s, %s.", m.CPUs, m.CPUModel, m.GoVersion, m.GOOS, m.GOARCH, m.Date)
	if len(r.Targets) > 0 {
		t := table{rows: [][]string{{"target", "value", "limit", "result", "how it is measured"}}}
		for _, g := range r.Targets {
			res := "FAIL"
			if g.Pass {
				res = "pass"
			}
			t.rows = append(t.rows, []string{g.Name, format(g.Value, g.Unit), format(g.Limit, g.Unit), res, g.Method})
		}
		tables = append(tables, t)
	}
	if len(r.Benchmarks) > 0 {
		t := table{rows: [][]string{{"Go benchmark", "ns/op", "B/op", "allocs/op"}}, figures: true}
		for _, g := range r.Benchmarks {
			t.rows = append(t.rows, []string{"`" + g.Name + "`", format(g.NsPerOp, ""), format(g.BytesPerOp, ""), format(g.AllocsPerOp, "")})
		}
		tables = append(tables, t)
	}
	// row renders figures in milliseconds with prec decimals.
	row := func(name string, prec int, ms ...float64) []string {
		cells := []string{name}
		for _, v := range ms {
			cells = append(cells, strconv.FormatFloat(v, 'f', prec, 64)+" ms")
		}
		return cells
	}
	if c := r.Cold; c != nil {
		tables = append(tables, table{figures: true, rows: [][]string{
			{fmt.Sprintf("cold start (%d starts)", c.Starts), "p50", "p90", "max"},
			row("emulator launch to first response", 1, c.Wall.Median, c.Wall.P90, c.Wall.Max),
			row("own init (first event Duration − its Latency)", 1, c.Init.Median, c.Init.P90, c.Init.Max),
			row("first event Duration (REPORT)", 2, c.FirstInvoke.Median, c.FirstInvoke.P90, c.FirstInvoke.Max),
		}})
	}
	if wm := r.Warm; wm != nil {
		tables = append(tables, table{figures: true, rows: [][]string{
			{fmt.Sprintf("warm (%d events)", wm.Invokes), "p50", "p99", "max"},
			row("client round trip through the emulator", 3, wm.Client.Median, wm.Client.P99, wm.Client.Max),
			row("Duration (REPORT)", 3, wm.Report.Median, wm.Report.P99, wm.Report.Max),
			row("handler (EMF Latency)", 3, wm.Handler.Median, wm.Handler.P99, wm.Handler.Max),
			row("Twilio calls (EMF FlexLatency)", 3, wm.Flex.Median, wm.Flex.P99, wm.Flex.Max),
			row("own overhead (Latency − FlexLatency)", 3, wm.Own.Median, wm.Own.P99, wm.Own.Max),
		}})
		notes = append(notes, fmt.Sprintf("Upstream calls per event: Flex %.2f, TaskRouter %.2f, Secrets Manager %.2f. The fakes spent %.3f ms per event in their handlers.",
			wm.CallsPerEvent[apiFlex], wm.CallsPerEvent[apiTaskRouter], wm.CallsPerEvent[apiSecrets], wm.FakeTimeMs))
	}
	if t := r.Tracing; t != nil {
		notes = append(notes, fmt.Sprintf("X-Ray tracing adds %.3f ms, %.0f B and %.0f allocations to a sampled event (two subsegments), from `%s` minus `%s`.",
			t.NsPerOp/1e6, t.BytesPerOp, t.AllocsPerOp, TracedBenchmark, UntracedBenchmark))
	}
	if rs := r.Resources; rs != nil {
		note := fmt.Sprintf("Stripped `bootstrap` for %s: %.2f MB (%d bytes).", rs.BinaryArch, float64(rs.BinaryBytes)/1e6, rs.BinaryBytes)
		if rs.RSSEvents > 0 {
			note += fmt.Sprintf("\nAfter %d events: peak RSS (VmHWM) %.1f MiB, RSS (VmRSS) %.1f MiB.", rs.RSSEvents, float64(rs.PeakRSSKiB)/1024, float64(rs.RSSKiB)/1024)
		}
		notes = append(notes, note)
	}
	return machine, tables, notes
}

// WriteTable prints the results as plain-text tables.
func (r *Results) WriteTable(w io.Writer) error {
	machine, tables, notes := r.layout()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n\n", machine)
	for _, t := range tables {
		for _, row := range t.rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		fmt.Fprintln(tw)
	}
	for _, n := range notes {
		fmt.Fprintln(tw, n)
	}
	return tw.Flush()
}

// WriteMarkdown writes the results as Markdown tables, for bench/README.md.
func (r *Results) WriteMarkdown(w io.Writer) error {
	machine, tables, notes := r.layout()
	var b strings.Builder
	b.WriteString(machine + "\n\n")
	for _, t := range tables {
		for i, row := range t.rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
			if i == 0 {
				sep := slices.Repeat([]string{"---"}, len(row))
				for c := 1; t.figures && c < len(sep); c++ {
					sep[c] = "---:"
				}
				b.WriteString("| " + strings.Join(sep, " | ") + " |\n")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.Join(notes, "\n\n") + "\n")
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
