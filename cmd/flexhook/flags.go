package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// errUsage marks an error the user can fix by changing the command line;
// it exits with exitUsage.
var errUsage = errors.New("usage")

// usageError returns an error wrapping errUsage.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// flagSet is a subcommand's flag.FlagSet with its usage text.
type flagSet struct {
	*flag.FlagSet
	synopsis    string // "flexhook sign --url URL ..."
	description string
}

func newFlagSet(name, synopsis, description string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, description: description}
	fs.SetOutput(io.Discard)
	return fs
}

// printUsage writes the synopsis, the description and the flags (every
// command has some).
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\nFlags:\n", fs.synopsis, strings.TrimSpace(fs.description))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args, flags and positional arguments in any order (flags
// after "--" are positional). It returns the positional arguments and
// whether the command should go on; when it should not, code is the exit
// code: exitOK after -h (usage printed to stdout), exitUsage after a bad
// flag (error and usage printed to stderr).
func (fs *flagSet) parse(std *stdio, args []string) (positional []string, code int, ok bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage(std.stdout)
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(std.stderr, "flexhook %s: %v\n\n", fs.Name(), err)
			fs.printUsage(std.stderr)
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, true
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), 0, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseNone is parse for a command that takes no positional argument.
func (fs *flagSet) parseNone(std *stdio, args []string) (code int, ok bool) {
	pos, code, ok := fs.parse(std, args)
	if ok && len(pos) > 0 {
		return fs.fail(std, usageError("unexpected argument %q", pos[0]), exitUsage), false
	}
	return code, ok
}

// parseEvent is parse for a command that takes one EVENT file, a file name
// or - for stdin: it returns the file's content, checked to be JSON.
func (fs *flagSet) parseEvent(std *stdio, args []string) (event []byte, code int, ok bool) {
	pos, code, ok := fs.parse(std, args)
	if !ok {
		return nil, code, false
	}
	if len(pos) != 1 {
		return nil, fs.fail(std, usageError("want exactly one EVENT file, got %d arguments", len(pos)), exitUsage), false
	}
	b, err := readInput(std, "@"+pos[0])
	if err == nil && !json.Valid(b) {
		err = fmt.Errorf("%s is not JSON", pos[0])
	}
	if err != nil {
		return nil, fs.fail(std, err, exitUsage), false
	}
	return b, 0, true
}

// fail reports err and returns its exit code: exitUsage for usage errors
// (with a hint to -h), else code.
func (fs *flagSet) fail(std *stdio, err error, code int) int {
	fmt.Fprintf(std.stderr, "flexhook %s: %v\n", fs.Name(), err)
	if errors.Is(err, errUsage) {
		fmt.Fprintf(std.stderr, "Run `flexhook %s -h` for usage.\n", fs.Name())
		return exitUsage
	}
	return code
}

// list defines a repeatable string flag: each use adds a value.
func (fs *flagSet) list(name, usage string) *[]string {
	var l []string
	fs.Func(name, usage, func(v string) error {
		l = append(l, v)
		return nil
	})
	return &l
}

// readInput reads "@path" as the file's content, "@-" as stdin, and any
// other value as itself.
func readInput(std *stdio, v string) ([]byte, error) {
	switch {
	case v == "@-":
		return io.ReadAll(std.stdin)
	case strings.HasPrefix(v, "@"):
		return os.ReadFile(v[1:])
	}
	return []byte(v), nil
}
