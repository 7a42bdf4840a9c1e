package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
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
)

func init() {
	commandVariables["serve"] = func() []string {
		var f serveFlags
		return serveCommand(&f, io.Discard, io.Discard).variables()
	}
}

// Bounds of serve's numeric flags: what a test mock can use, well inside what
// the process survives (a journal of 400 million entries cannot be allocated,
// a clock a trillion times faster than real time leaves the calendar).
const (
	maxClockSpeed     = 1e6     // a day in under 0.1 s
	maxJournalSize    = 100_000 // entries; the journal also has a byte budget
	maxBaseLatency    = 24 * time.Hour
	maxBandwidth      = 1 << 40 // 1 TiB/s
	maxFetchBytes     = 4 << 30 // one source
	maxMaxConnections = 1 << 20
	maxGrace          = 10 * time.Minute
)

type serveFlags struct {
	addr, advertise, auth, credentials, apps, clockMode, topology, logLevel, logFormat string
	scenario, source, controlToken, controlAddr, downloadKey, timestampClock           string
	speed                                                                              float64
	seed                                                                               uint64
	baseLatency, grace                                                                 time.Duration
	bandwidth, fetchMaxBytes, journalSize, maxConns                                    int64
	fetchAllowLinkLocal, strict                                                        bool
	dataDir, stateFile                                                                 string // state.go
}

func serveCommand(f *serveFlags, stdout, stderr io.Writer) *command {
	c := newCommand("serve", "ensmock serve [flags]",
		"Runs the mock: the ENS data-distribution API, download links and the control plane under /_ensmock/.\n"+
			"State lives in memory: a restart keeps nothing but the download-link key given by --download-key.", stdout, stderr)
	fs := c.fs
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&f.advertise, "advertise-host", "", "host:port put in DescribeDataDownloadURL ServerList (default: the Host the client used)")
	choiceVar(fs, &f.auth, "auth", "on", "on: check V1/V3 signatures; off: accept unsigned requests", "on", "off")
	fs.StringVar(&f.credentials, "credentials", "", "YAML file of credentials (default: testid/testsecret and denied-id/denied-secret)")
	choiceVar(fs, &f.apps, "apps", "auto", "auto: any AppId exists on first use; strict: only registered apps", "auto", "strict")
	choiceVar(fs, &f.clockMode, "clock", "real", "real or manual (time moves only through /_ensmock/clock)", "real", "manual")
	f.speed = 1
	fs.Var(&floatFlag{p: &f.speed, min: 0, max: maxClockSpeed}, "clock-speed", fmt.Sprintf("real clock speed factor, 60 = a minute per second (> 0 and ≤ %g)", float64(maxClockSpeed)))
	fs.Uint64Var(&f.seed, "seed", 1, "seed of transfer jitter and faults")
	fs.StringVar(&f.topology, "topology", "", "YAML/JSON file of regions and file servers (default: embedded)")
	durationVar(fs, &f.baseLatency, "base-latency", 2*time.Second, 0, maxBaseLatency, "fixed part of each transfer")
	int64Var(fs, &f.bandwidth, "bandwidth", 10<<20, 1, maxBandwidth, "bytes", "bytes per second of each transfer")
	choiceVar(fs, &f.logLevel, "log-level", "info", "debug, info, warn or error", "debug", "info", "warn", "error")
	choiceVar(fs, &f.logFormat, "log-format", "json", "json (one object a line) or text (key=value, for a terminal)", "json", "text")
	fs.StringVar(&f.scenario, "scenario", "", "YAML file of fault rules in force at start (top-level faults: [...])")
	choiceVar(fs, &f.source, "source", mock.SourceSimulate, "simulate: size/md5 taken on trust; fetch: download and verify each data file's url", mock.SourceSimulate, mock.SourceFetch)
	int64Var(fs, &f.fetchMaxBytes, "fetch-max-bytes", 64<<20, 1, maxFetchBytes, "bytes", "size cap of one downloaded source (fetch mode)")
	fs.BoolVar(&f.fetchAllowLinkLocal, "fetch-allow-link-local", false, "fetch mode: allow sources on link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, ...)")
	fs.StringVar(&f.controlToken, "control-token", "", "require Authorization: Bearer <token> on the control plane (health stays open); set one when others can reach the port")
	fs.StringVar(&f.controlAddr, "control-addr", "", "serve the control plane on its own listener (host:port); the API listener keeps only /_ensmock/health")
	int64Var(fs, &f.journalSize, "journal-size", 1000, 1, maxJournalSize, "entries", "requests kept in the journal (/_ensmock/requests)")
	choiceVar(fs, &f.timestampClock, "timestamp-clock", mock.TimestampWall, "wall: the ±15 min signature window is checked against the machine's time (what SDKs sign with); mock: against the mock's clock", mock.TimestampWall, mock.TimestampMock)
	int64Var(fs, &f.maxConns, "max-connections", mock.DefaultMaxConnections, 1, maxMaxConnections, "connections",
		"open connections per listener; beyond it the oldest idle one is closed, so health always answers")
	fs.StringVar(&f.downloadKey, "download-key", "", "key that signs download links, hex or base64 (16 to 64 bytes); default random, so a restart invalidates every link")
	durationVar(fs, &f.grace, "grace", 10*time.Second, time.Millisecond, maxGrace, "on SIGTERM/SIGINT, how long in-flight requests may finish (a second signal stops at once)")
	fs.BoolVar(&f.strict, "strict", false, "refuse requests that break ensmock's own limits (bounds the official documentation does not state) with InvalidParameter.<Name>; by default they are accepted with an X-Ensmock-Warning")
	stateFlags(fs, f)
	return c
}

// parseServeArgs turns serve's arguments and ENSMOCK_* variables into options.
func parseServeArgs(args []string, stdout, stderr io.Writer) (serveFlags, *command, mock.Options, error) {
	var f serveFlags
	c := serveCommand(&f, stdout, stderr)
	if err := c.parse(args); err != nil {
		return f, c, mock.Options{}, err
	}
	opts, err := f.options(c, stderr)
	return f, c, opts, err
}

func serve(args []string, stdout, stderr io.Writer) int {
	f, c, opts, err := parseServeArgs(args, stdout, stderr)
	if code, ok := c.exit(err); !ok {
		return code
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	force, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		select {
		case s := <-sigs:
			opts.Logger.Warn("second signal: stopping now, without waiting for in-flight requests", "signal", s.String())
			close(force)
		case <-done:
		}
	}()
	err = listenAndServe(ctx, force, f, opts)
	var cerr *configError
	switch {
	case errors.As(err, &cerr):
		fmt.Fprintln(stderr, "ensmock serve:", err)
		return exitConfig
	case err != nil:
		fmt.Fprintln(stderr, "ensmock serve:", err)
		return 1
	}
	return 0
}

// configError is a configuration error found after parsing (a file the mock
// refuses, an address that cannot be listened on): exit code 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func (f *serveFlags) options(c *command, stderr io.Writer) (mock.Options, error) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.logLevel)) // checked by the flag
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if f.logFormat == "text" {
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	} else {
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	}
	opts := mock.Options{
		NoListener:          true,
		Host:                hostOf(f.addr), // the control plane accepts the names it listens on
		AdvertiseHost:       f.advertise,
		Seed:                f.seed,
		BaseLatency:         f.baseLatency,
		Bandwidth:           f.bandwidth,
		FetchMaxBytes:       f.fetchMaxBytes,
		FetchAllowLinkLocal: f.fetchAllowLinkLocal,
		ControlToken:        f.controlToken,
		JournalSize:         int(f.journalSize),
		MaxConnections:      int(f.maxConns),
		Source:              f.source,
		TimestampClock:      f.timestampClock,
		AuthOff:             f.auth == "off",
		StrictApps:          f.apps == "strict",
		Strict:              f.strict,
		ControlSeparate:     f.controlAddr != "",
		Logger:              logger,
	}
	if f.baseLatency == 0 {
		opts.BaseLatency = time.Nanosecond // 0 means "the default" to the engine; the flag asked for none
	}
	mode, err := clock.ParseMode(f.clockMode)
	if err != nil {
		return opts, fmt.Errorf("%s: %w", c.source("clock"), err)
	}
	opts.Clock = clock.New(mode, f.speed, time.Time{})
	if f.downloadKey != "" {
		key, err := parseKey(f.downloadKey)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", c.source("download-key"), err)
		}
		opts.DownloadKey = key
	}
	if f.credentials != "" {
		creds, err := loadCredentials(f.credentials)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", c.source("credentials"), err)
		}
		opts.Credentials = creds
	}
	if f.scenario != "" {
		rules, err := mock.LoadScenario(f.scenario)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", c.source("scenario"), err)
		}
		opts.Faults = rules
	}
	if f.topology != "" {
		var t mock.Topology
		if err := readYAML(f.topology, &t); err != nil {
			return opts, fmt.Errorf("%s: %w", c.source("topology"), err)
		}
		opts.Topology = &t
	}
	return opts, f.stateOptions(&opts)
}

// parseKey reads a download-link key written in hex or in base64 (standard or
// URL alphabet, padded or not), of 16 to 64 bytes.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var key []byte
	if b, err := hex.DecodeString(s); err == nil {
		key = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				key = b
				break
			}
		}
	}
	if key == nil {
		return nil, errors.New("want the key in hex or base64 (e.g. the output of `openssl rand -hex 32`)")
	}
	if len(key) < 16 || len(key) > 64 {
		return nil, fmt.Errorf("the key is %d bytes: want 16 to 64 (32 is usual)", len(key))
	}
	return key, nil
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
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: the file is empty", path)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// listenAndServe builds the mock, listens, serves until ctx ends, then shuts
// down gracefully: in-flight requests get f.grace to finish, new connections
// are refused; closing force stops at once. With --control-addr the control
// plane gets a listener of its own. A configuration the mock refuses, or an
// address that cannot be listened on, is a *configError, found before anything
// listens (the mock is built first).
func listenAndServe(ctx context.Context, force <-chan struct{}, f serveFlags, opts mock.Options) error {
	srv, err := mock.NewServer(opts)
	if err != nil {
		return &configError{err}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		srv.Close()
		return &configError{fmt.Errorf("--addr: %w", err)}
	}
	var cln net.Listener
	if f.controlAddr != "" {
		if cln, err = net.Listen("tcp", f.controlAddr); err != nil {
			ln.Close()
			srv.Close()
			return &configError{fmt.Errorf("--control-addr: %w", err)}
		}
	}
	srv.AddListener(ln.Addr()) // fetch mode refuses sources on the mock's own listeners
	if cln != nil {
		srv.AddListener(cln.Addr())
	}
	hs := mock.NewHTTPServer(srv.HTTPHandler())
	servers := []*http.Server{hs}
	listeners := []net.Listener{mock.LimitListener(ln, hs, opts.MaxConnections)}
	if cln != nil {
		chs := mock.NewHTTPServer(srv.ControlHandler())
		servers = append(servers, chs)
		listeners = append(listeners, mock.LimitListener(cln, chs, opts.MaxConnections))
	}
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() { errc <- hs.Serve(listeners[i]) }()
	}
	url := "http://" + ln.Addr().String()
	control := url + "/_ensmock/"
	if cln != nil {
		control = "http://" + cln.Addr().String() + "/_ensmock/"
	}
	args := []any{"url", url, "control", control, "liveView", control + "ui/", "auth", !opts.AuthOff, "credentials", describeCredentials(opts),
		"clock", opts.Clock.State().Mode, "source", srv.Source(), "faults", len(opts.Faults), "maxConnections", opts.MaxConnections}
	if opts.ControlToken != "" {
		args = append(args, "controlToken", "required")
	} else if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		opts.Logger.Warn("the control plane has no token and the port is reachable beyond this machine: set --control-token")
	}
	opts.Logger.Info("ensmock listening", args...)

	var first error
	select {
	case first = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), f.grace)
	defer cancel()
	go func() {
		select {
		case <-force:
			cancel()
		case <-shutdown.Done():
		}
	}()
	graceOver := false
	for _, hs := range servers {
		if e := hs.Shutdown(shutdown); e != nil {
			graceOver = true
			hs.Close() // cut the requests still running
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
	srv.Close()
	select {
	case <-force:
		opts.Logger.Info("ensmock stopped at once (second signal); requests in flight were cut off")
	default:
		if graceOver {
			opts.Logger.Info("ensmock stopped: the grace period ended with requests in flight; they were cut off", "grace", f.grace.String())
		} else {
			opts.Logger.Info("ensmock stopped")
		}
	}
	return err
}

// describeCredentials says which keys the mock accepts, for the start-up line:
// the default pair in full (they are public test values), a file's key ids only.
func describeCredentials(opts mock.Options) string {
	if opts.Credentials == nil {
		return "testid/testsecret (full permission), denied-id/denied-secret (no PushApplicationData)"
	}
	ids := make([]string, 0, len(opts.Credentials))
	for _, c := range opts.Credentials {
		ids = append(ids, c.AccessKeyID)
	}
	return strings.Join(ids, ", ") + " (from the credentials file)"
}

// hostOf is the host of a host:port listen address ("" when it has none).
func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return h
}
