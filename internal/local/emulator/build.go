package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/flexhook/flexhook/internal/local/process"
)

// Names of the pinned emulator, as in the module's `tool` directive.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	riePackage = rieModule + "/cmd/aws-lambda-rie"
	rieTool    = "aws-lambda-rie"
)

// ErrNoModule is returned by Build and RIEPath when the working directory is
// not inside a Go module.
var ErrNoModule = errors.New("emulator: not inside a Go module")

// Build compiles the Lambda function in pkg as AWS deploys it to the
// provided.al2023 runtime and returns the absolute path of the binary, which
// is outDir/bootstrap. pkg is a package path relative to the module root, such
// as "./functions/webhook", or an import path. The build runs from the root of
// the module that contains the working directory with CGO_ENABLED=0,
// GOOS=linux, GOARCH of the host (so the binary runs here), -tags
// lambda.norpc, -trimpath and -ldflags="-s -w". outDir is created if needed.
// A failed build's error includes the compiler's output.
func Build(ctx context.Context, pkg, outDir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(outDir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("emulator: build %s: %w", pkg, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("emulator: build %s: %w", pkg, err)
	}
	// Static, for Linux, on the host's architecture so that it runs here.
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH}
	if err := goBuild(ctx, root, out, pkg, env, "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"); err != nil {
		return "", err
	}
	return out, nil
}

// RIEPath returns the path of the aws-lambda-rie binary at the version pinned
// in go.mod. It asks `go tool -n aws-lambda-rie`, which builds the tool into
// the Go build cache on first use (this takes tens of seconds once) and prints
// the cached executable. If that does not yield an executable it builds the
// emulator into the user cache directory instead.
func RIEPath(ctx context.Context) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	if p, ok := process.GoTool(ctx, root, rieTool); ok {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("emulator: build %s: %w", rieTool, err)
	}
	return buildRIE(ctx, root, filepath.Join(cache, "flexhook"))
}

// buildRIE builds the pinned emulator under cacheDir, once per version, and
// returns its path.
func buildRIE(ctx context.Context, root, cacheDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", rieModule)
	cmd.Dir = root
	v, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	if err != nil {
		return "", fmt.Errorf("emulator: find %s version: %w", rieModule, err)
	}
	p := filepath.Join(cacheDir, rieTool, strings.TrimSpace(string(v)), runtime.GOOS+"_"+runtime.GOARCH, rieTool)
	if process.IsExecutable(p) {
		return p, nil
	}
	if err := goBuild(ctx, root, p, riePackage, nil); err != nil {
		return "", err
	}
	return p, nil
}

// goBuild runs go build in the module root with env added to the
// environment, writing the binary to out.
func goBuild(ctx context.Context, root, out, pkg string, env []string, flags ...string) error {
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("emulator: go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// moduleRoot returns the root of the module that contains the working
// directory, or ErrNoModule.
func moduleRoot() (string, error) {
	root, err := process.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoModule, err)
	}
	return root, nil
}
