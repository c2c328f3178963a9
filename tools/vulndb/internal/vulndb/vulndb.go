// Package vulndb lets govulncheck run without network access to
// vuln.go.dev. It builds a Go vulnerability database in the v1 layout
// govulncheck reads with -db file:///dir
// (https://go.dev/doc/security/vuln/database#api) from the OSV reports that
// the golang.org/x/vulndb module publishes under data/osv, fetched at a
// pinned version and hash through the Go module proxy like any module; and
// it judges govulncheck's -format json output
// (https://pkg.go.dev/golang.org/x/vuln/cmd/govulncheck#hdr-Output_formats)
// against a short list of accepted findings.
//
// The layout written by Build:
//
//	index/db.json       {"modified": <latest modified time>}
//	index/modules.json  [{"path", "vulns": [{"id", "modified", "fixed"}]}], sorted
//	index/vulns.json    [{"id", "modified", "aliases"}], sorted
//	ID/<id>.json        the OSV entry as published
//
// which is what x/vulndb's own generator (internal/database) writes and
// x/vuln's client (internal/client) reads.
package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// Module is the module path of the Go vulnerability database sources.
const Module = "golang.org/x/vulndb"

// ErrChecksum means the downloaded module does not have the pinned hash.
var ErrChecksum = errors.New("vulndb: module checksum does not match the pinned one")

// Locate downloads Module at version with `go mod download` (through
// GOPROXY, into the module cache), checks its go.sum hash against sum
// ("h1:…"), and returns the directory of its OSV reports, data/osv.
func Locate(ctx context.Context, version, sum string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", Module+"@"+version)
	cmd.Dir = os.TempDir() // outside any module: the project's go.mod is not touched
	cmd.Env = append(os.Environ(), "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("vulndb: go mod download %s@%s: %w: %s", Module, version, err, strings.TrimSpace(stderr.String()))
	}
	var info struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("vulndb: go mod download output: %w", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("vulndb: go mod download %s@%s: %s", Module, version, info.Error)
	}
	if info.Sum != sum {
		return "", fmt.Errorf("%w: got %s, want %s", ErrChecksum, info.Sum, sum)
	}
	return filepath.Join(info.Dir, "data", "osv"), nil
}

// entry is the part of an OSV report the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// moduleVuln and vuln are the index records.
type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// add records v, merging it with a record of the same report (a report
// may list one module several times, one range each): the merged fix is
// the latest, or none if either has none, so that the index never skips
// a report a version may be affected by.
func (m *module) add(v moduleVuln) {
	for i, old := range m.Vulns {
		if old.ID != v.ID {
			continue
		}
		if old.Fixed != "" && (v.Fixed == "" || semver.Compare(vPrefix(old.Fixed), vPrefix(v.Fixed)) < 0) {
			m.Vulns[i].Fixed = v.Fixed
		}
		return
	}
	m.Vulns = append(m.Vulns, v)
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// idPattern is the form of Go vulnerability IDs, which name files.
var idPattern = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]{4,}$`)

// Build reads every GO-*.json OSV report in osvDir and writes the v1
// database to outDir, replacing what was there. It returns the number of
// reports. A report that does not decode, or whose id does not match its
// file name, is an error: a database missing entries would hide findings.
// Reports without a modified time (x/vulndb's data/osv leaves it zero; its
// deployment fills it in from git) are given published, the time of the
// module version they came from.
func Build(osvDir, outDir string, published time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("vulndb: no GO-*.json reports in %s", osvDir)
	}
	if err := os.RemoveAll(outDir); err != nil {
		return 0, err
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(outDir, d), 0o755); err != nil {
			return 0, err
		}
	}
	var (
		latest  time.Time
		modules = map[string]*module{}
		vulns   []vuln
	)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("vulndb: %s: %w", filepath.Base(f), err)
		}
		if !idPattern.MatchString(e.ID) || filepath.Base(f) != e.ID+".json" {
			return 0, fmt.Errorf("vulndb: %s holds report %q", filepath.Base(f), e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = published.UTC()
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name, Vulns: []moduleVuln{}}
				modules[a.Package.Name] = m
			}
			var ranges [][2][]string
			for _, r := range a.Ranges {
				if r.Type != "SEMVER" {
					continue
				}
				var intro, fixed []string
				for _, ev := range r.Events {
					intro, fixed = append(intro, ev.Introduced), append(fixed, ev.Fixed)
				}
				ranges = append(ranges, [2][]string{intro, fixed})
			}
			m.add(moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: LatestFixed(ranges)})
		}
		if err := os.WriteFile(filepath.Join(outDir, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}
	mods := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
	for name, v := range map[string]any{
		"db.json": struct {
			Modified time.Time `json:"modified"`
		}{latest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(outDir, "index", name), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

// LatestFixed returns the version that fixes the last affected range, or
// "" when a range is reintroduced after it (so every version may be
// affected): the "fixed" field of index/modules.json, computed as
// x/vulndb's osvutils.LatestFixed does. Each range is the introduced and
// fixed values of its events, in order, versions without a "v" prefix.
func LatestFixed(ranges [][2][]string) string {
	latest := ""
	before := func(a, b string) bool { return semver.Compare(vPrefix(a), vPrefix(b)) < 0 }
	for _, r := range ranges {
		for _, f := range r[1] {
			if f != "" && before(latest, f) {
				latest = f
			}
		}
		for _, in := range r[0] {
			if in != "" && in != "0" && before(latest, in) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// vPrefix prefixes an OSV version with "v" for golang.org/x/mod/semver;
// the empty version sorts first.
func vPrefix(s string) string {
	if s == "" {
		return ""
	}
	return "v" + s
}
