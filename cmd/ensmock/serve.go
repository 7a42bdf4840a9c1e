package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/mock/engine"
	"github.com/ensmock/ensmock/mock/faults"
)

// envFlags binds every flag of fs to ENSMOCK_<NAME> (dashes become underscores):
// the environment sets the default, a flag on the command line wins.
func envFlags(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := "ENSMOCK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", key, v, e)
			}
			f.DefValue = v
		}
	})
	return err
}

type serveFlags struct {
	addr, advertise, auth, credentials, apps, clockMode, topology, logLevel string
	scenario, source, controlToken, controlAddr                             string
	speed                                                                   float64
	seed                                                                    uint64
	baseLatency                                                             time.Duration
	bandwidth, fetchMaxBytes                                                int64
	journalSize                                                             int
	timestampClock                                                          string
	dataDir, stateFile                                                      string // state.go
}

func serveFlagSet(f *serveFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&f.advertise, "advertise-host", "", "host:port put in DescribeDataDownloadURL ServerList (default: the Host the client used)")
	fs.StringVar(&f.auth, "auth", "on", "on: check V1/V3 signatures; off: accept unsigned requests")
	fs.StringVar(&f.credentials, "credentials", "", "YAML file of credentials (default: testid/testsecret and denied-id/denied-secret)")
	fs.StringVar(&f.apps, "apps", "auto", "auto: any AppId exists on first use; strict: only registered apps")
	fs.StringVar(&f.clockMode, "clock", "real", "real or manual (time moves only through /_ensmock/clock)")
	fs.Float64Var(&f.speed, "clock-speed", 1, "real clock speed factor (60 = a minute per second)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of transfer jitter and faults")
	fs.StringVar(&f.topology, "topology", "", "YAML/JSON file of regions and file servers (default: embedded)")
	fs.DurationVar(&f.baseLatency, "base-latency", 2*time.Second, "fixed part of each transfer")
	fs.Int64Var(&f.bandwidth, "bandwidth", 10<<20, "bytes per second of each transfer")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.scenario, "scenario", "", "YAML file of fault rules in force at start (top-level faults: [...])")
	fs.StringVar(&f.source, "source", "simulate", "simulate: size/md5 taken on trust; fetch: download and verify each data file's url")
	fs.Int64Var(&f.fetchMaxBytes, "fetch-max-bytes", 64<<20, "size cap of one downloaded source (fetch mode)")
	fs.StringVar(&f.controlToken, "control-token", "", "require Authorization: Bearer <token> on the control plane (health stays open)")
	fs.StringVar(&f.controlAddr, "control-addr", "", "serve the control plane on its own listener (host:port); the API listener keeps only /_ensmock/health")
	fs.IntVar(&f.journalSize, "journal-size", 1000, "requests kept in the journal (/_ensmock/requests)")
	fs.StringVar(&f.timestampClock, "timestamp-clock", "wall", "wall: the ±15 min signature window is checked against the machine's time (what SDKs sign with); mock: against the mock's clock")
	stateFlags(fs, f)
	return fs
}

// errUsage is a flag error the flag package has already reported.
var errUsage = errors.New("usage")

// parseServeArgs turns serve's arguments and ENSMOCK_* variables into options.
func parseServeArgs(args []string, stderr io.Writer) (serveFlags, mock.Options, error) {
	var f serveFlags
	fs := serveFlagSet(&f, stderr)
	if err := envFlags(fs); err != nil {
		return f, mock.Options{}, err
	}
	if err := fs.Parse(args); err != nil {
		return f, mock.Options{}, errUsage
	}
	opts, err := f.options(stderr)
	return f, opts, err
}

func serve(args []string, stdout, stderr io.Writer) int {
	f, opts, err := parseServeArgs(args, stderr)
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "ensmock:", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := listenAndServe(ctx, f.addr, f.controlAddr, opts); err != nil {
		fmt.Fprintln(stderr, "ensmock:", err)
		if errors.Is(err, mock.ErrState) {
			return 2 // a data dir refused or a seed that does not load: nothing was changed
		}
		return 1
	}
	return 0
}

func (f *serveFlags) options(stderr io.Writer) (mock.Options, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return mock.Options{}, fmt.Errorf("--log-level: %w", err)
	}
	opts := mock.Options{
		NoListener:    true,
		AdvertiseHost: f.advertise,
		Seed:          f.seed,
		BaseLatency:   f.baseLatency,
		Bandwidth:     f.bandwidth,
		FetchMaxBytes: f.fetchMaxBytes,
		ControlToken:  f.controlToken,
		Logger:        slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	mode, err := clock.ParseMode(f.clockMode)
	if err != nil {
		return opts, fmt.Errorf("--clock: %w", err)
	}
	opts.Clock = clock.New(mode, f.speed, time.Time{})
	switch f.auth {
	case "on":
	case "off":
		opts.AuthOff = true
	default:
		return opts, fmt.Errorf("--auth %q: want on or off", f.auth)
	}
	switch f.apps {
	case "auto":
	case "strict":
		opts.StrictApps = true
	default:
		return opts, fmt.Errorf("--apps %q: want auto or strict", f.apps)
	}
	if f.credentials != "" {
		var file struct {
			Credentials []mock.Credential `yaml:"credentials"`
		}
		if err := readYAML(f.credentials, &file); err != nil {
			return opts, fmt.Errorf("--credentials: %w", err)
		}
		if len(file.Credentials) == 0 {
			return opts, fmt.Errorf("--credentials %s: no credentials listed", f.credentials)
		}
		opts.Credentials = file.Credentials
	}
	switch f.source {
	case mock.SourceSimulate, mock.SourceFetch:
		opts.Source = f.source
	default:
		return opts, fmt.Errorf("--source %q: want simulate or fetch", f.source)
	}
	if f.fetchMaxBytes <= 0 {
		return opts, fmt.Errorf("--fetch-max-bytes %d: want a positive number of bytes", f.fetchMaxBytes)
	}
	if f.journalSize <= 0 {
		return opts, fmt.Errorf("--journal-size %d: want a positive number of entries", f.journalSize)
	}
	opts.JournalSize = f.journalSize
	switch f.timestampClock {
	case mock.TimestampWall, mock.TimestampMock:
		opts.TimestampClock = f.timestampClock
	default:
		return opts, fmt.Errorf("--timestamp-clock %q: want wall or mock", f.timestampClock)
	}
	opts.ControlSeparate = f.controlAddr != ""
	if f.scenario != "" {
		rules, err := faults.LoadScenario(f.scenario)
		if err != nil {
			return opts, fmt.Errorf("--scenario: %w", err)
		}
		opts.Faults = rules
	}
	if f.topology != "" {
		var t engine.Topology
		if err := readYAML(f.topology, &t); err != nil {
			return opts, fmt.Errorf("--topology: %w", err)
		}
		opts.Topology = &t
	}
	return opts, f.stateOptions(&opts)
}

// readYAML decodes a YAML (or JSON, a subset) file strictly: unknown keys are errors.
func readYAML(path string, v any) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	dec := yaml.NewDecoder(fh)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// listenAndServe serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, new connections are refused. With controlAddr the control
// plane gets a listener of its own.
func listenAndServe(ctx context.Context, addr, controlAddr string, opts mock.Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var cln net.Listener
	if controlAddr != "" {
		if cln, err = net.Listen("tcp", controlAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--control-addr: %w", err)
		}
	}
	closeAll := func() {
		ln.Close()
		if cln != nil {
			cln.Close()
		}
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		closeAll()
		return err
	}
	defer srv.Close() // commits and closes the data dir's store
	servers := []*http.Server{mock.NewHTTPServer(srv.HTTPHandler())}
	listeners := []net.Listener{ln}
	if cln != nil {
		servers = append(servers, mock.NewHTTPServer(srv.ControlHandler()))
		listeners = append(listeners, cln)
	}
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { errc <- hs.Serve(listeners[i]) }()
	}
	args := []any{"addr", ln.Addr().String(), "auth", !opts.AuthOff, "clock", opts.Clock.State().Mode,
		"source", srv.Source(), "faults", len(opts.Faults)}
	if cln != nil {
		args = append(args, "controlAddr", cln.Addr().String())
	}
	opts.Logger.Info("ensmock listening", args...)
	var first error
	select {
	case first = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range servers {
		if e := hs.Shutdown(shutdown); e != nil && err == nil {
			err = e
		}
	}
	n := len(servers)
	if first != nil {
		n--
		if !errors.Is(first, http.ErrServerClosed) {
			err = first
		}
	}
	for range n {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
	}
	opts.Logger.Info("ensmock stopped")
	return err
}
