// Command vulndb runs govulncheck without network access to vuln.go.dev.
//
//	vulndb build -version V -sum h1:… -out DIR
//	    fetch golang.org/x/vulndb@V through the Go module proxy, check its
//	    hash, and write a v1 vulnerability database to DIR for
//	    `govulncheck -db file://DIR`.
//	vulndb check -accept FILE REPORT.json
//	    judge `govulncheck -format json` output: exit 1 if a called
//	    vulnerability is not accepted in FILE, or an exception is stale.
//
// This file is wiring only; the behaviour lives in tools/vulndb/internal/vulndb.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/mod/module"

	"github.com/flexhook/flexhook/tools/vulndb/internal/vulndb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: vulndb build -version V -sum H -out DIR | vulndb check -accept FILE REPORT")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "build":
		version := fs.String("version", "", "golang.org/x/vulndb version")
		sum := fs.String("sum", "", "its go.sum hash, h1:…")
		out := fs.String("out", "", "directory to write the database to")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *version == "" || *sum == "" || *out == "" {
			return fmt.Errorf("build needs -version, -sum and -out")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		osv, err := vulndb.Locate(ctx, *version, *sum)
		if err != nil {
			return err
		}
		published, err := module.PseudoVersionTime(*version)
		if err != nil {
			return fmt.Errorf("-version %s: %w", *version, err)
		}
		n, err := vulndb.Build(osv, *out, published)
		if err != nil {
			return err
		}
		fmt.Printf("vulndb: %d reports from %s@%s in %s\n", n, vulndb.Module, *version, *out)
		return nil
	case "check":
		accept := fs.String("accept", "", "file of accepted findings")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("check needs one govulncheck JSON report")
		}
		var exceptions []vulndb.Exception
		if *accept != "" {
			f, err := os.Open(*accept)
			if err != nil {
				return err
			}
			defer f.Close()
			if exceptions, err = vulndb.ParseExceptions(f); err != nil {
				return err
			}
		}
		in, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer in.Close()
		rep, err := vulndb.Check(in, exceptions)
		if err != nil {
			return err
		}
		rep.Write(os.Stdout)
		if !rep.OK() {
			return fmt.Errorf("unaccepted vulnerabilities or stale exceptions")
		}
		return nil
	}
	return fmt.Errorf("unknown command %q; want build or check", args[0])
}
