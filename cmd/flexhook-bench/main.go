// Command flexhook-bench is `make bench`: it runs flexhook's Go benchmarks
// and its measurements under the AWS Lambda Runtime Interface Emulator,
// prints a table with each target's pass or fail, and writes the results
// as JSON and as a Markdown table. See internal/testing/bench for what each number
// means.
//
// Usage, from the module root:
//
//	go run ./cmd/flexhook-bench [-json bench/results.json] [-md bench/README.md] [-quick]
//
// It exits 1 when the run fails and 2 when a target is missed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"

	"github.com/flexhook/flexhook/internal/testing/bench"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhook-bench:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	var (
		jsonOut  = flag.String("json", "bench/results.json", "write the results as JSON here (empty: do not)")
		mdOut    = flag.String("md", "bench/README.md", "write the results as Markdown here (empty: do not)")
		quick    = flag.Bool("quick", false, "a short run for trying the harness: few events, short benchmarks")
		cold     = flag.Int("cold", 15, "cold starts")
		warm     = flag.Int("warm", 2000, "warm events")
		rss      = flag.Int("rss", 10000, "events before reading the peak RSS")
		benchT   = flag.String("benchtime", "2s", "-benchtime of the Go benchmarks")
		template = flag.String("template", "bench/README.tmpl.md", "Markdown preamble written before the tables")
	)
	flag.Parse()
	if *quick {
		*cold, *warm, *rss, *benchT = 2, 50, 200, "100x"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	res, err := bench.Run(ctx, bench.Options{
		Root: root, GoBenchtime: *benchT, ColdStarts: *cold, WarmInvokes: *warm,
		RSSEvents: *rss, Progress: os.Stderr,
	})
	if err != nil {
		return 1, err
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		return 1, err
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = writeFile(*jsonOut, append(b, '\n'))
		}
		if err != nil {
			return 1, err
		}
	}
	if *mdOut != "" {
		var b bytes.Buffer
		if pre, err := os.ReadFile(*template); err == nil {
			b.Write(pre)
			b.WriteString("\n")
		}
		err := res.WriteMarkdown(&b)
		if err == nil {
			err = writeFile(*mdOut, b.Bytes())
		}
		if err != nil {
			return 1, err
		}
	}
	if slices.ContainsFunc(res.Targets, func(t bench.Target) bool { return !t.Pass }) {
		return 2, nil
	}
	return 0, nil
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
