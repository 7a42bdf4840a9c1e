// Command ensmock runs the ENS data-distribution emulator (serve), checks an
// implementation against the conformance suite (conform), probes a running mock
// (healthcheck) and prints its version (version). It is a thin wrapper: flags and
// ENSMOCK_* environment variables become mock.Options.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command line. Exit codes: 0 success (and -h), 1 a failure
// at run time, 2 a usage or configuration error (found before anything listens).
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve" // `ensmock --addr ...` is `ensmock serve --addr ...`
	if len(args) > 0 {
		a := args[0]
		switch a {
		case "-h", "-help", "--help", "help":
			if a == "help" && len(args) > 1 {
				return run([]string{args[1], "-h"}, stdout, stderr)
			}
			usage(stdout)
			return 0
		case "-version", "--version", "version":
			if len(args) > 1 {
				fmt.Fprintf(stderr, "ensmock version: unexpected argument %q\n", args[1])
				return exitConfig
			}
			fmt.Fprintln(stdout, "ensmock", version)
			return 0
		}
		if a[0] != '-' {
			cmd, args = a, args[1:]
		}
	}
	if c, ok := commands[cmd]; ok {
		return c(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "ensmock: unknown command %q\n\n", cmd)
	usage(stderr)
	return exitConfig
}

// commands are the subcommands, each in its own file.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"serve":       serve,
	"healthcheck": healthcheck,
}

func usage(w io.Writer) {
	fmt.Fprint(w, `ensmock: a local emulator of Alibaba Cloud ENS's data-distribution API, and its conformance suite.

usage: ensmock <command> [flags]

commands:
  serve         run the mock (the default command): ensmock serve -h lists its flags
  conform       run the conformance suite against an ENS endpoint
  healthcheck   exit 0 when a mock answers /_ensmock/health
  version       print the version (also --version)
  help CMD      the flags of CMD (same as ensmock CMD -h)

Every flag can be set by an environment variable (each command's -h names them);
a flag on the command line wins. Exit codes: 0 success, 1 failure, 2 usage or
configuration error.
`)
}
