package vulndb

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exception accepts one vulnerability in one module at one version: a
// finding that cannot be fixed within the project (a Go toolchain newer
// than the machines have, say), written down with its reason. When the
// module moves to another version the exception no longer applies.
type Exception struct {
	ID      string // GO-YYYY-NNNN
	Module  string // module path, "stdlib" for the standard library
	Version string // the version the finding was accepted at, e.g. v1.26.8
	Reason  string
}

// ParseExceptions reads exceptions, one a line:
//
//	GO-2026-6809 stdlib@v1.26.8 fixed in go1.26.10, which the machines do not have
//
// Blank lines and lines starting with "#" are ignored. A reason is
// required.
func ParseExceptions(r io.Reader) ([]Exception, error) {
	var out []Exception
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || !idPattern.MatchString(f[0]) {
			return nil, fmt.Errorf("vulndb: exceptions line %d: want \"GO-YYYY-NNNN module@version reason\"", n)
		}
		mod, ver, ok := strings.Cut(f[1], "@")
		if !ok || mod == "" || ver == "" {
			return nil, fmt.Errorf("vulndb: exceptions line %d: %q is not module@version", n, f[1])
		}
		out = append(out, Exception{ID: f[0], Module: mod, Version: ver, Reason: strings.Join(f[2:], " ")})
	}
	return out, s.Err()
}

// Finding is one vulnerability govulncheck found reachable from
// flexhook's code, with the module version it was found in.
type Finding struct {
	ID, Module, Version, Fixed string
	Summary                    string
	Accepted                   *Exception // nil when no exception covers it
}

// Report is the verdict on a govulncheck run.
type Report struct {
	// Findings are the called vulnerabilities, sorted by ID.
	Findings []Finding
	// Imported counts vulnerabilities in imported packages or required
	// modules that flexhook's code never calls; they are not findings.
	Imported int
	// Unused are exceptions that matched no finding: stale, to be removed.
	Unused []Exception
}

// OK reports whether every finding is accepted and every exception used.
func (r Report) OK() bool {
	return len(r.Unused) == 0 && !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Accepted == nil })
}

// ErrNoConfig means the input was not govulncheck -format json output.
var ErrNoConfig = errors.New("vulndb: not govulncheck -format json output (no config message)")

// Check reads govulncheck -format json output and sorts its findings into
// called (symbol level: a trace that reaches a vulnerable function) and
// merely imported, matching called ones against exceptions.
func Check(r io.Reader, exceptions []Exception) (Report, error) {
	type frame struct{ Module, Version, Function string }
	type message struct {
		Config *struct {
			DB string `json:"db"`
		} `json:"config"`
		OSV *struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"osv"`
		Finding *struct {
			OSV          string  `json:"osv"`
			FixedVersion string  `json:"fixed_version"`
			Trace        []frame `json:"trace"`
		} `json:"finding"`
	}
	summaries := map[string]string{}
	called := map[string]Finding{}
	seen := map[string]bool{}
	gotConfig := false
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return Report{}, fmt.Errorf("vulndb: govulncheck output: %w", err)
		}
		switch {
		case m.Config != nil:
			gotConfig = true
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			seen[m.Finding.OSV] = true
			top := m.Finding.Trace[0]
			if top.Function == "" {
				continue
			}
			called[m.Finding.OSV] = Finding{ID: m.Finding.OSV, Module: top.Module, Version: top.Version, Fixed: m.Finding.FixedVersion}
		}
	}
	if !gotConfig {
		return Report{}, ErrNoConfig
	}
	var rep Report
	used := make([]bool, len(exceptions))
	for id, f := range called {
		f.Summary = summaries[id]
		for i, e := range exceptions {
			if e.ID == f.ID && e.Module == f.Module && e.Version == f.Version {
				f.Accepted, used[i] = &exceptions[i], true
			}
		}
		rep.Findings = append(rep.Findings, f)
	}
	slices.SortFunc(rep.Findings, func(a, b Finding) int { return strings.Compare(a.ID, b.ID) })
	rep.Imported = len(seen) - len(called)
	for i, e := range exceptions {
		if !used[i] {
			rep.Unused = append(rep.Unused, e)
		}
	}
	return rep, nil
}

// Write prints the report for a person: each finding, accepted or not,
// and each stale exception.
func (r Report) Write(w io.Writer) {
	accepted := 0
	for _, f := range r.Findings {
		verdict := "NOT ACCEPTED"
		if f.Accepted != nil {
			verdict = "accepted: " + f.Accepted.Reason
			accepted++
		}
		fmt.Fprintf(w, "%s %s@%s (fixed in %s): %s\n    %s\n", f.ID, f.Module, f.Version, cmp.Or(f.Fixed, "no fix"), f.Summary, verdict)
	}
	for _, e := range r.Unused {
		fmt.Fprintf(w, "stale exception %s %s@%s: no such finding any more; remove it\n", e.ID, e.Module, e.Version)
	}
	fmt.Fprintf(w, "govulncheck: %d called vulnerabilities (%d accepted), %d more in code flexhook does not call\n",
		len(r.Findings), accepted, r.Imported)
}
