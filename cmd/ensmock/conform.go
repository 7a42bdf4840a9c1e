package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ensmock/ensmock/conformance"
)

func init() {
	commands["conform"] = conform
	commandVariables["conform"] = func() []string {
		var (
			cfg     conformance.Config
			formats listFlag
		)
		return conformCommand(&cfg, &formats, io.Discard, io.Discard).variables()
	}
}

// listFlag is a repeatable string flag; one value may list several, comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, one := range strings.Split(v, ",") {
		if one = strings.TrimSpace(one); one != "" {
			*l = append(*l, one)
		}
	}
	return nil
}

// conformEnv names the environment variable of each conform flag; the
// environment sets the default, a flag on the command line wins.
var conformEnv = map[string]string{
	"target":            "ENS_ENDPOINT",
	"access-key-id":     "ENS_ACCESS_KEY_ID",
	"access-key-secret": "ENS_ACCESS_KEY_SECRET",
	"denied-key-id":     "ENS_DENIED_ACCESS_KEY_ID",
	"denied-key-secret": "ENS_DENIED_ACCESS_KEY_SECRET",
	"app-id":            "ENS_APP_ID",
	"signing":           "ENS_SIGNING",
	"control":           "ENSMOCK_CONTROL_URL",
	"control-token":     "ENSMOCK_CONTROL_TOKEN",
	"tags":              "ENSMOCK_CONFORM_TAGS",
	"format":            "ENSMOCK_CONFORM_FORMAT",
	"known-failing":     "ENSMOCK_CONFORM_KNOWN_FAILING",
	"seed":              "ENSMOCK_CONFORM_SEED",
	"concurrency":       "ENSMOCK_CONFORM_CONCURRENCY",
	"poll-timeout":      "ENSMOCK_CONFORM_POLL_TIMEOUT",
	"regions":           "ENS_REGIONS",
	"files-addr":        "ENSMOCK_CONFORM_FILES_ADDR",
	"files-url":         "ENSMOCK_CONFORM_FILES_URL",
}

func conformCommand(cfg *conformance.Config, formats *listFlag, stdout, stderr io.Writer) *command {
	c := newCommand("conform", "ensmock conform --target URL [flags]",
		"Runs the conformance suite against an ENS data-distribution endpoint.", stdout, stderr)
	c.env = conformEnv
	fs := c.fs
	fs.StringVar(&cfg.Endpoint, "target", "", "base URL of the ENS implementation under test, e.g. http://127.0.0.1:8080")
	fs.StringVar(&cfg.AccessKeyID, "access-key-id", "testid", "AccessKeyId with full permission")
	fs.StringVar(&cfg.AccessKeySecret, "access-key-secret", "testsecret", "its AccessKeySecret")
	fs.StringVar(&cfg.DeniedKeyID, "denied-key-id", "denied-id", "AccessKeyId whose policy lacks ens:PushApplicationData")
	fs.StringVar(&cfg.DeniedKeySecret, "denied-key-secret", "denied-secret", "its AccessKeySecret")
	fs.StringVar(&cfg.AppID, "app-id", "", "push every scenario's data to this application (default: a fresh random one per scenario)")
	fs.StringVar(&cfg.Signing, "signing", "v1", "v1 (HMAC-SHA1, classic SDK) or v3 (ACS3-HMAC-SHA256, darabonba SDK)")
	fs.StringVar(&cfg.ControlURL, "control", "", "base URL of the ensmock control plane; without it @control scenarios are not selected")
	fs.StringVar(&cfg.ControlToken, "control-token", "", "bearer token of a protected control plane")
	fs.StringVar(&cfg.Tags, "tags", "", `scenarios to run, e.g. "@core", "@core && ~@xml", "@auth,@validation" (and/or/not also work)`)
	fs.Var(formats, "format", "report format: pretty, progress, junit, cucumber or events, each optionally :FILE; repeatable or comma-separated (default progress)")
	fs.StringVar(&cfg.KnownFailing, "known-failing", "", `file of scenarios known to fail, "feature file: scenario name" a line (globs; # comments)`)
	fs.Int64Var(&cfg.Seed, "seed", 0, "random order seed: 0 picks one (printed), negative keeps the order of the files")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "scenarios run at once")
	fs.DurationVar(&cfg.PollTimeout, "poll-timeout", 2*time.Minute, "bound of each wait for a push to finish, without a control plane")
	fs.Func("regions", "the target's edge nodes a push reaches, comma-separated (default: discovered with a probe push)", func(v string) error {
		cfg.Regions = append(cfg.Regions, strings.Split(v, ",")...)
		return nil
	})
	fs.StringVar(&cfg.FilesAddr, "files-addr", "127.0.0.1:0", "where the runner serves the scenarios' data files")
	fs.StringVar(&cfg.FilesURL, "files-url", "", "base URL the target downloads the data files from (default: the --files-addr listener's own URL), e.g. http://host.docker.internal:8081 for a target in a container")
	c.after = "exit status: 0 passed; 1 a scenario failed (or a known-failing one passed);\n" +
		"2 not judged: a usage error, a failed pre-flight check (target, credentials, clock,\n" +
		"control plane, data files), a stale known-failing entry, or an interrupted run"
	return c
}

// conform runs the conformance suite against --target. Exit status: 0 when
// every selected scenario passed (or failed and is listed as known to fail),
// 1 when one did not, 2 when the target was not judged (a usage or
// configuration error, a failed pre-flight check, an interrupted run).
func conform(args []string, stdout, stderr io.Writer) int {
	var (
		cfg     conformance.Config
		formats listFlag
	)
	c := conformCommand(&cfg, &formats, stdout, stderr)
	if code, ok := c.exit(c.applyEnv()); !ok {
		return code
	}
	envFormats := len(formats)
	if code, ok := c.exit(c.parseArgs(args)); !ok {
		return code
	}
	if len(formats) > envFormats && envFormats > 0 {
		formats = formats[envFormats:] // --format on the command line replaces the environment's
	}
	cfg.Formats = formats
	cfg.Output = stdout

	// Ctrl-C or SIGTERM cancels the run; Run still puts the target's clock
	// back (with a context of its own) before it returns. A second signal
	// after the first kills at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	res, err := conformance.Run(ctx, cfg)
	var nj *conformance.NotJudgedError
	switch {
	case errors.As(err, &nj):
		fmt.Fprintln(stderr, "ensmock conform:", nj)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "ensmock conform:", err)
		return 2
	case !res.Passed:
		return 1
	}
	return 0
}
