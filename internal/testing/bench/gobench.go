package bench

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// BenchPackages are the packages whose Go benchmarks `make bench` runs:
// the handler end to end, then its stages.
var BenchPackages = []string{
	"./internal/webhook",
	"./internal/gateway",
	"./internal/taskrouter",
	"./internal/crm",
	"./internal/metrics",
}

// The benchmarks whose difference is the cost of X-Ray tracing.
const (
	UntracedBenchmark = "BenchmarkInvoke/close-flextest"
	TracedBenchmark   = "BenchmarkInvoke/close-flextest-xray"
)

// tracingCost is the traced benchmark minus the untraced one, or nil
// without both.
func tracingCost(bs []GoBench) *TracingRun {
	named := func(name string) func(GoBench) bool { return func(b GoBench) bool { return b.Name == name } }
	w, wo := slices.IndexFunc(bs, named(TracedBenchmark)), slices.IndexFunc(bs, named(UntracedBenchmark))
	if w < 0 || wo < 0 {
		return nil
	}
	with, without := bs[w], bs[wo]
	return &TracingRun{
		NsPerOp:     with.NsPerOp - without.NsPerOp,
		AllocsPerOp: with.AllocsPerOp - without.AllocsPerOp,
		BytesPerOp:  with.BytesPerOp - without.BytesPerOp,
	}
}

// RunGoBenchmarks runs `go test -run ^$ -bench . -benchmem` in dir (the
// module root) for pkgs, with -benchtime benchtime, and parses the results.
func RunGoBenchmarks(ctx context.Context, dir, benchtime string, pkgs ...string) ([]GoBench, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-benchtime", benchtime}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("bench: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return parseGoBench(out)
}

// parseGoBench reads the benchmark lines of `go test -bench -benchmem`
// output; "pkg:" lines name the package of the lines after them.
func parseGoBench(out []byte) ([]GoBench, error) {
	var res []GoBench
	pkg := ""
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSuffix(line, "\n")
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		b := GoBench{Package: pkg, Name: trimProcs(f[0])}
		// f[1] is the iteration count; then value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("bench: parse %q: %w", line, err)
			}
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BytesPerOp = v
			case "allocs/op":
				b.AllocsPerOp = v
			}
		}
		res = append(res, b)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("bench: no benchmark results in output:\n%s", out)
	}
	return res, nil
}

// trimProcs removes the -GOMAXPROCS suffix go test adds to names.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}
