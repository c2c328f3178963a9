package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/flexhook/flexhook/internal/local/samples"
)

const eventsDescription = `
Writes every sample event of internal/local/samples to DIR/<name>.json (the CRM
source presets to DIR/crm-sources/<name>.json): API Gateway HTTP API events
signed with the local test credentials, which
sam local invoke -e, flexhook invoke and the tests replay. The files are
rebuilt from the code, so they never go stale; make events runs this.

With --check nothing is written: it exits 1 if a file is missing, differs, or
has no sample.`

// eventsCommand implements `flexhook events`.
func eventsCommand(_ context.Context, std *stdio, args []string) int {
	fset := newFlagSet("events", "flexhook events [--dir events] [--check]", eventsDescription)
	dir := fset.String("dir", "events", "`directory` of the event files")
	check := fset.Bool("check", false, "only check that the files are current; exit 1 if not")
	if code, ok := fset.parseNone(std, args); !ok {
		return code
	}
	stale, err := writeEvents(std.stdout, *dir, *check)
	if err != nil {
		return fset.fail(std, err, exitUsage)
	}
	if *check && stale > 0 {
		fmt.Fprintf(std.stderr, "flexhook events: %d file(s) not current: run `make events`\n", stale)
		return exitFailure
	}
	return exitOK
}

// writeEvents brings dir in line with the samples, or only compares when
// check is set, writing one line per file to w. Files in dir without a
// sample are reported, never removed. stale counts the files missing,
// different or without a sample.
func writeEvents(w io.Writer, dir string, check bool) (stale int, err error) {
	var names []string
	for _, s := range append(samples.All(), samples.Sources()...) {
		want, err := s.File()
		if err != nil {
			return stale, fmt.Errorf("sample %s: %w", s.Name, err)
		}
		name := s.Name + ".json"
		names = append(names, name)
		path := filepath.Join(dir, name)
		got, err := os.ReadFile(path)
		state := "wrote    "
		switch {
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return stale, err
		case err == nil && bytes.Equal(got, want):
			state = "unchanged"
		case check && err != nil:
			state, stale = "missing  ", stale+1
		case check:
			state, stale = "stale    ", stale+1
		default:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return stale, err
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				return stale, err
			}
		}
		fmt.Fprintln(w, state+" "+path)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return stale, err
	}
	sourceFiles, _ := filepath.Glob(filepath.Join(dir, samples.SourcesDir, "*.json"))
	for _, f := range append(files, sourceFiles...) {
		if rel, _ := filepath.Rel(dir, f); !slices.Contains(names, filepath.ToSlash(rel)) {
			stale++
			fmt.Fprintln(w, "no sample "+f+" (remove it or add it to internal/local/samples)")
		}
	}
	return stale, nil
}
