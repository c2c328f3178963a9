// Command flexhook is flexhook's developer CLI: it runs the whole system
// locally, signs webhook requests, sends event files to the function, and
// regenerates the sample events.
//
//	flexhook run      run the function locally behind a local API gateway, play the demo
//	flexhook sign     sign a TaskRouter or CRM request; print it as curl or as an event
//	flexhook invoke   send an event file to the local gateway or an emulator
//	flexhook events   regenerate events/*.json from internal/local/samples
//	flexhook explain  say offline what the webhook would do with an event file
//	flexhook redrive  list (dry run) or move close jobs from the dead-letter queue
//	flexhook sweep    run the orphan sweeper once and print what it did
//
// Exit codes: 0 success; 1 the command ran but the outcome is a failure (a
// demo step differs from its expectation, a non-2xx answer, stale event
// files, an event the webhook would reject, a job that could not be moved, a
// sweep that failed); 2 usage errors, unreadable input and transport errors.
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// stdio is what a subcommand may touch of the process: its streams and its
// environment.
type stdio struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, std *stdio, args []string) int
}

func commands() []command {
	return []command{
		{"run", "run flexhook locally (Lambda emulator, local API gateway, Twilio and AWS stand-ins) and play the demo", runCommand},
		{"sign", "sign a TaskRouter or CRM request and print it as a curl command or an API Gateway event", signCommand},
		{"invoke", "send an event file to the local gateway or a Lambda emulator and print the response", invokeCommand},
		{"events", "regenerate the sample events in events/ (or check that they are current)", eventsCommand},
		{"explain", "say offline what the webhook would do with an event file, and the Flex request it would send", explainCommand},
		{"redrive", "list (dry run) or move close jobs from the dead-letter queue back to the close queue", redriveCommand},
		{"sweep", "run the orphan sweeper once with the sweeper function's settings and print what it did", sweepCommand},
	}
}

func main() {
	os.Exit(dispatch(context.Background(), &stdio{os.Stdin, os.Stdout, os.Stderr, os.Getenv}, os.Args[1:]))
}

// dispatch runs the subcommand named by args[0] and returns the exit code.
func dispatch(ctx context.Context, std *stdio, args []string) int {
	if len(args) == 0 {
		usage(std.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			return dispatch(ctx, std, []string{args[1], "-h"})
		}
		usage(std.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, std, args[1:])
		}
	}
	fmt.Fprintf(std.stderr, "flexhook: unknown command %q\n\n", name)
	usage(std.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "flexhook is the developer CLI of flexhook, the Twilio Flex channel closer.\n\n")
	fmt.Fprintf(w, "Usage:\n  flexhook <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun `flexhook help <command>` or `flexhook <command> -h` for a command's flags.\n")
	fmt.Fprintf(w, "Exit codes: 0 success, 1 failed outcome (demo mismatch, non-2xx answer, stale files, rejected event, failed move or sweep), 2 usage or I/O error.\n")
}
