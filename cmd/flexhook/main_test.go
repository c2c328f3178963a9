package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// cli runs flexhook in-process with args and returns the exit code and
// outputs.
func cli(t *testing.T, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	std := &stdio{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errOut,
		getenv: func(k string) string { return env[k] },
	}
	code = dispatch(context.Background(), std, args)
	return code, out.String(), errOut.String()
}

func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring of stdout
		wantStderr string // substring of stderr
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: "Commands:"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "invoke"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "Exit codes"},
		{name: "help sign", args: []string{"help", "sign"}, wantCode: exitOK, wantStdout: "X-Twilio-Signature"},
		{name: "run -h", args: []string{"run", "-h"}, wantCode: exitOK, wantStdout: "--once"},
		{name: "invoke --help", args: []string{"invoke", "--help"}, wantCode: exitOK, wantStdout: "-emulator"},
		{name: "events -h", args: []string{"events", "-h"}, wantCode: exitOK, wantStdout: "-check"},
		{name: "help lists explain", args: []string{"help"}, wantCode: exitOK, wantStdout: "explain"},
		{name: "explain -h", args: []string{"explain", "-h"}, wantCode: exitOK, wantStdout: "UpdateInteractionChannel"},
		{name: "redrive -h", args: []string{"redrive", "-h"}, wantCode: exitOK, wantStdout: "start-message-move-task"},
		{name: "sweep -h", args: []string{"sweep", "-h"}, wantCode: exitOK, wantStdout: "--dry-run"},
		{name: "unknown command", args: []string{"deploy"}, wantCode: exitUsage, wantStderr: `unknown command "deploy"`},
		{name: "unknown flag", args: []string{"sign", "--nope"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "run with an argument", args: []string{"run", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "run with a bad delivery mode", args: []string{"run", "--mode", "async"}, wantCode: exitUsage, wantStderr: "want durable or sync"},
		{name: "run with a negative outage", args: []string{"run", "--outage", "-1"}, wantCode: exitUsage, wantStderr: "--outage"},
		{name: "run with a bad mode", args: []string{"run", "--twilio", "prod"}, wantCode: exitUsage, wantStderr: "want sim or real"},
		{name: "run real --once", args: []string{"run", "--twilio=real", "--once"}, wantCode: exitUsage, wantStderr: "--once plays the demo"},
		{name: "run real without credentials", args: []string{"run", "--twilio=real"}, wantCode: exitUsage, wantStderr: "TWILIO_ACCOUNT_SID"},
		{name: "invoke without a file", args: []string{"invoke"}, wantCode: exitUsage, wantStderr: "want exactly one EVENT"},
		{name: "events with an argument", args: []string{"events", "x"}, wantCode: exitUsage, wantStderr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "", nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("flexhook %q exited %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("flexhook %q stdout lacks %q:\n%s", tt.args, tt.wantStdout, stdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("flexhook %q stderr lacks %q:\n%s", tt.args, tt.wantStderr, stderr)
			}
		})
	}
}

// Flags may follow positional arguments, and "--" ends the flags.
func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantURL string
	}{
		{[]string{"a.json", "--url", "http://x"}, []string{"a.json"}, "http://x"},
		{[]string{"--url", "http://x", "a.json", "b.json"}, []string{"a.json", "b.json"}, "http://x"},
		{[]string{"a.json", "--", "--url"}, []string{"a.json", "--url"}, ""},
	}
	for _, tt := range tests {
		fs := newFlagSet("t", "t", "t")
		u := fs.String("url", "", "")
		pos, _, ok := fs.parse(&stdio{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}, tt.args)
		if !ok || strings.Join(pos, " ") != strings.Join(tt.wantPos, " ") || *u != tt.wantURL {
			t.Errorf("parse(%q) = %q, url %q, ok %v; want %q, url %q", tt.args, pos, *u, ok, tt.wantPos, tt.wantURL)
		}
	}
}
