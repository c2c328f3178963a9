package flexhook_test

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/flexhook/flexhook/"

// devOnly reports why a package must not be linked into a Lambda, or ""
// when it may be: the local system (internal/local), suites and measurement
// (internal/testing), build tooling (tools), and fakes (any package whose last
// path element ends in "test", like flextest or net/http/httptest).
func devOnly(importPath string) string {
	rel, ok := strings.CutPrefix(importPath, module)
	if !ok {
		return ""
	}
	for _, dir := range []string{"internal/local", "internal/testing", "tools"} {
		if rel == dir || strings.HasPrefix(rel, dir+"/") {
			return dir
		}
	}
	if strings.HasSuffix(path.Base(rel), "test") {
		return "a fake (*test package)"
	}
	return ""
}

func goListDeps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pattern, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

// TestFunctionsLinkNoDevCode holds the layout of issue 10: what a Lambda links
// is internal/ minus the local system, the suites and the fakes.
func TestFunctionsLinkNoDevCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := goListDeps(t, "./functions/...")
	shipped := 0
	for _, p := range deps {
		if why := devOnly(p); why != "" {
			t.Errorf("go list -deps ./functions/... reaches %s (%s)", p, why)
		}
		if strings.HasPrefix(p, module+"internal/") {
			shipped++
		}
	}
	if shipped == 0 {
		t.Fatalf("go list -deps ./functions/... listed no internal package:\n%s", strings.Join(deps, "\n"))
	}
}

func TestDevOnly(t *testing.T) {
	for _, tc := range []struct {
		path string
		dev  bool
	}{
		{module + "internal/flex", false},
		{module + "internal/webhook", false},
		{module + "internal/testing/faults", true},
		{module + "internal/local/stack", true},
		{module + "internal/local", true},
		{module + "tools/vulndb/internal/vulndb", true},
		{module + "internal/flex/flextest", true},
		{module + "internal/idempotency/idempotencytest", true},
		{module + "internal/localize", false},
		{"net/http/httptest", false}, // outside the module: the standard library's choice
	} {
		if got := devOnly(tc.path) != ""; got != tc.dev {
			t.Errorf("devOnly(%q) = %q, want dev-only %v", tc.path, devOnly(tc.path), tc.dev)
		}
	}
	// Listing the local system itself must trip the check, or the check
	// could not fail.
	found := false
	for _, p := range goListDeps(t, "./internal/local/...") {
		if devOnly(p) != "" {
			found = true
			break
		}
	}
	if !found {
		t.Error("devOnly flags nothing in go list -deps ./internal/local/...")
	}
}
