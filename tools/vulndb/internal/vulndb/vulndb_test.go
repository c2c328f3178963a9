package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// osvReport is a minimal OSV report in x/vulndb's data/osv shape.
func osvReport(id, module string, ranges ...[]map[string]string) string {
	var rs []map[string]any
	for _, r := range ranges {
		rs = append(rs, map[string]any{"type": "SEMVER", "events": r})
	}
	b, _ := json.Marshal(map[string]any{
		"schema_version": "1.3.1", "id": id, "modified": "0001-01-01T00:00:00Z",
		"summary": "test report " + id, "aliases": []string{"CVE-" + id[3:]},
		"affected": []map[string]any{{
			"package": map[string]string{"name": module, "ecosystem": "Go"},
			"ranges":  rs,
			"ecosystem_specific": map[string]any{"imports": []map[string]any{
				{"path": "golang.org/x/mod/semver", "symbols": []string{"Compare"}},
			}},
		}},
	})
	return string(b)
}

func writeReports(t *testing.T, reports map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, r := range reports {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuild(t *testing.T) {
	ev := func(kv ...string) map[string]string { return map[string]string{kv[0]: kv[1]} }
	src := writeReports(t, map[string]string{
		"GO-2026-0002.json": osvReport("GO-2026-0002", "example.com/b", []map[string]string{ev("introduced", "0"), ev("fixed", "1.2.0")}),
		"GO-2026-0001.json": osvReport("GO-2026-0001", "example.com/a",
			[]map[string]string{ev("introduced", "0"), ev("fixed", "1.0.1")},
			[]map[string]string{ev("introduced", "1.1.0"), ev("fixed", "1.1.3")}),
		"README.md": "not a report",
	})
	out := filepath.Join(t.TempDir(), "db")
	published := time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)
	n, err := Build(src, out, published)
	if err != nil || n != 2 {
		t.Fatalf("Build = %d, %v; want 2 reports", n, err)
	}
	read := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var db struct{ Modified time.Time }
	read("index/db.json", &db)
	if !db.Modified.Equal(published) {
		t.Errorf("db.json modified = %v, want %v", db.Modified, published)
	}
	var mods []module
	read("index/modules.json", &mods)
	want := []module{
		{Path: "example.com/a", Vulns: []moduleVuln{{ID: "GO-2026-0001", Modified: published, Fixed: "1.1.3"}}},
		{Path: "example.com/b", Vulns: []moduleVuln{{ID: "GO-2026-0002", Modified: published, Fixed: "1.2.0"}}},
	}
	if got, _ := json.Marshal(mods); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("modules.json = %s, want %s", got, must(json.Marshal(want)))
	}
	var vulns []vuln
	read("index/vulns.json", &vulns)
	if len(vulns) != 2 || vulns[0].ID != "GO-2026-0001" || vulns[0].Aliases[0] != "CVE-2026-0001" {
		t.Errorf("vulns.json = %+v", vulns)
	}
	var e struct{ ID string }
	read("ID/GO-2026-0002.json", &e)
	if e.ID != "GO-2026-0002" {
		t.Errorf("ID/GO-2026-0002.json holds %q", e.ID)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestBuildRefusesBadReports(t *testing.T) {
	tests := []struct {
		name    string
		reports map[string]string
	}{
		{"none", map[string]string{"x.txt": "x"}},
		{"not JSON", map[string]string{"GO-2026-0001.json": "{"}},
		{"id differs from file name", map[string]string{"GO-2026-0001.json": osvReport("GO-2026-0002", "m")}},
		{"id not a Go id", map[string]string{"GO-2026-0001.json": osvReport("../../etc", "m")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(writeReports(t, tt.reports), t.TempDir(), time.Now()); err == nil {
				t.Errorf("Build(%v) = nil error", tt.reports)
			}
		})
	}
}

func TestLatestFixed(t *testing.T) {
	r := func(intro, fixed []string) [2][]string { return [2][]string{intro, fixed} }
	tests := []struct {
		name   string
		ranges [][2][]string
		want   string
	}{
		{"no ranges", nil, ""},
		{"one fix", [][2][]string{r([]string{"0", ""}, []string{"", "1.2.3"})}, "1.2.3"},
		{"two fixes", [][2][]string{r([]string{"0", "", "1.27.0-0", ""}, []string{"", "1.26.10", "", "1.27.3"})}, "1.27.3"},
		{"reintroduced after the fix", [][2][]string{r([]string{"0", "", "2.0.0"}, []string{"", "1.5.0", ""})}, ""},
		{"no fix", [][2][]string{r([]string{"0"}, []string{""})}, ""},
	}
	for _, tt := range tests {
		if got := LatestFixed(tt.ranges); got != tt.want {
			t.Errorf("LatestFixed(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestModuleAddMergesRanges(t *testing.T) {
	m := &module{}
	m.add(moduleVuln{ID: "GO-1", Fixed: "1.26.9"})
	m.add(moduleVuln{ID: "GO-1", Fixed: "1.27.2"})
	m.add(moduleVuln{ID: "GO-2", Fixed: "1.0.0"})
	m.add(moduleVuln{ID: "GO-2", Fixed: ""})
	m.add(moduleVuln{ID: "GO-2", Fixed: "2.0.0"})
	if len(m.Vulns) != 2 || m.Vulns[0].Fixed != "1.27.2" || m.Vulns[1].Fixed != "" {
		t.Errorf("merged = %+v, want GO-1 fixed 1.27.2 and GO-2 with no fix", m.Vulns)
	}
}

func TestParseExceptions(t *testing.T) {
	in := "# comment\n\nGO-2026-6809 stdlib@v1.26.8 fixed in go1.26.10\n"
	got, err := ParseExceptions(strings.NewReader(in))
	if err != nil || len(got) != 1 || got[0] != (Exception{"GO-2026-6809", "stdlib", "v1.26.8", "fixed in go1.26.10"}) {
		t.Errorf("ParseExceptions(%q) = %+v, %v", in, got, err)
	}
	for _, bad := range []string{"GO-2026-6809 stdlib@v1.26.8", "GO-2026-6809 stdlib reason", "CVE-1 stdlib@v1 reason", "GO-2026-6809 @v1 reason"} {
		if _, err := ParseExceptions(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseExceptions(%q) = nil error", bad)
		}
	}
}

// govulncheckOutput is a -format json stream: a called finding, one only
// imported, and their OSV messages.
const govulncheckOutput = `{"config":{"protocol_version":"v1.0.0","db":"file:///db"}}
{"progress":{"message":"Scanning your code"}}
{"osv":{"id":"GO-2026-0001","summary":"called one"}}
{"osv":{"id":"GO-2026-0002","summary":"imported one"}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v1.2.0","trace":[{"module":"example.com/b","version":"v1.0.0","package":"example.com/b"}]}}
{"finding":{"osv":"GO-2026-0001","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Serve"},{"module":"example.com/m","package":"example.com/m","function":"main"}]}}
`

func TestCheck(t *testing.T) {
	accept := Exception{ID: "GO-2026-0001", Module: "stdlib", Version: "v1.26.8", Reason: "r"}
	tests := []struct {
		name       string
		exceptions []Exception
		ok         bool
		unused     int
	}{
		{"nothing accepted", nil, false, 0},
		{"accepted", []Exception{accept}, true, 0},
		{"accepted at another version", []Exception{{ID: accept.ID, Module: "stdlib", Version: "v1.26.7", Reason: "r"}}, false, 1},
		{"stale exception", []Exception{accept, {ID: "GO-2026-0003", Module: "m", Version: "v1", Reason: "r"}}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Check(strings.NewReader(govulncheckOutput), tt.exceptions)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() != tt.ok || len(rep.Unused) != tt.unused || len(rep.Findings) != 1 || rep.Imported != 1 {
				t.Errorf("Check = %+v, want OK %v with %d stale exceptions, 1 finding, 1 imported", rep, tt.ok, tt.unused)
			}
			if f := rep.Findings[0]; f.ID != "GO-2026-0001" || f.Module != "stdlib" || f.Version != "v1.26.8" || f.Summary != "called one" {
				t.Errorf("finding = %+v", f)
			}
			var b bytes.Buffer
			rep.Write(&b)
			if !strings.Contains(b.String(), "GO-2026-0001 stdlib@v1.26.8") {
				t.Errorf("Write = %q", b.String())
			}
		})
	}
	if _, err := Check(strings.NewReader(`{"progress":{}}`), nil); err != ErrNoConfig {
		t.Errorf("Check(no config) = %v, want ErrNoConfig", err)
	}
	if _, err := Check(strings.NewReader(`{`), nil); err == nil {
		t.Errorf("Check(truncated) = nil error")
	}
}

// TestGovulncheckReadsTheDatabase proves the format end to end: the real
// govulncheck (the module's pinned tool) reads a database Build wrote and
// reports a synthetic vulnerability in golang.org/x/mod/semver.Compare,
// which this package calls.
func TestGovulncheckReadsTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs govulncheck; skipped with -short")
	}
	ev := func(k, v string) map[string]string { return map[string]string{k: v} }
	src := writeReports(t, map[string]string{
		"GO-9999-0001.json": osvReport("GO-9999-0001", "golang.org/x/mod", []map[string]string{ev("introduced", "0"), ev("fixed", "99.0.0")}),
	})
	db := filepath.Join(t.TempDir(), "db")
	if _, err := Build(src, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "govulncheck", "-db", "file://"+db, "-format", "json", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("govulncheck: %v\n%s", err, stderr.String())
	}
	rep, err := Check(bytes.NewReader(out), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].ID != "GO-9999-0001" || rep.Findings[0].Module != "golang.org/x/mod" || rep.OK() {
		t.Errorf("govulncheck with the built database: %+v, want GO-9999-0001 in golang.org/x/mod, not accepted", rep)
	}
}
