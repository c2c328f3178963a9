package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/local/samples"
)

// events writes exactly the bytes the samples' golden test expects, and
// --check notices a missing, edited or extra file.
func TestEvents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	if code, _, stderr := cli(t, "", nil, "events", "--dir", dir, "--check"); code != exitFailure {
		t.Errorf("--check of an empty directory exited %d, want 1 (%s)", code, stderr)
	}
	code, stdout, stderr := cli(t, "", nil, "events", "--dir", dir)
	if code != exitOK {
		t.Fatalf("events exited %d: %s", code, stderr)
	}
	for _, s := range samples.All() {
		want, err := s.File()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, s.Name+".json")
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from Sample.File() (%v)", path, err)
		}
		if !strings.Contains(stdout, "wrote     "+path) {
			t.Errorf("output does not report writing %s:\n%s", path, stdout)
		}
	}
	if code, stdout, _ := cli(t, "", nil, "events", "--dir", dir, "--check"); code != exitOK || strings.Contains(stdout, "stale") {
		t.Errorf("--check right after writing exited %d:\n%s", code, stdout)
	}
	if code, stdout, _ := cli(t, "", nil, "events", "--dir", dir); code != exitOK || strings.Contains(stdout, "wrote") {
		t.Errorf("second run exited %d and rewrote files:\n%s", code, stdout)
	}

	edited := filepath.Join(dir, samples.All()[0].Name+".json")
	if err := os.WriteFile(edited, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := cli(t, "", nil, "events", "--dir", dir, "--check"); code != exitFailure || !strings.Contains(stdout, "stale     "+edited) {
		t.Errorf("--check with an edited file exited %d:\n%s", code, stdout)
	}
	if b, _ := os.ReadFile(edited); string(b) != "{}\n" {
		t.Errorf("--check wrote a file")
	}
	cli(t, "", nil, "events", "--dir", dir)

	extra := filepath.Join(dir, "old.json")
	if err := os.WriteFile(extra, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := cli(t, "", nil, "events", "--dir", dir, "--check"); code != exitFailure || !strings.Contains(stdout, "no sample "+extra) {
		t.Errorf("--check with an extra file exited %d:\n%s", code, stdout)
	}
	if _, err := os.Stat(extra); err != nil {
		t.Errorf("events removed a file it has no sample for: %v", err)
	}
}

// The repository's events/ is current: `make events` would change nothing.
func TestRepositoryEventsCurrent(t *testing.T) {
	if code, stdout, stderr := cli(t, "", nil, "events", "--dir", "../../events", "--check"); code != exitOK {
		t.Errorf("events/ is not current (exit %d): run `make events`\n%s%s", code, stdout, stderr)
	}
}
