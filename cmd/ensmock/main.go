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

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ensmock", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	if extra, ok := commands[cmd]; ok {
		return extra(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "ensmock: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

// commands holds the subcommands defined in other files of this package.
var commands = map[string]func(args []string, stdout, stderr io.Writer) int{}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: ensmock <command> [flags]

commands:
  serve         run the mock (default); ensmock serve -h lists the flags
  conform       run the conformance suite against an ENS endpoint
  healthcheck   exit 0 when a mock answers /_ensmock/health
  version       print the version
`)
}
