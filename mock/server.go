// Package mock is the ensmock emulator: an HTTP server that answers Alibaba Cloud
// ENS data-distribution API calls (PushApplicationData and its siblings) from a
// stateful engine, with signatures, spec validation and a control plane.
//
// Use NewServer in Go tests (in-process, or on a loopback port), or the ensmock
// binary (cmd/ensmock), which is a thin wrapper around it.
package mock

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/mock/control"
	"github.com/ensmock/ensmock/mock/engine"
	"github.com/ensmock/ensmock/mock/faults"
	"github.com/ensmock/ensmock/mock/fetch"
	"github.com/ensmock/ensmock/mock/store"
	"github.com/ensmock/ensmock/mock/wire"
	"github.com/ensmock/ensmock/spec"
)

// Options configure a Server. The zero value is a working mock on a random
// loopback port with real time, the default topology and signatures checked.
type Options struct {
	// Host and Port to listen on. Host defaults to 127.0.0.1; Port 0 picks a free port.
	Host string
	Port int
	// NoListener serves nothing on the network: use HTTPClient() or HTTPHandler().
	NoListener bool
	// AdvertiseHost is the host:port put in DescribeDataDownloadURL's ServerList;
	// default: the Host the client used to reach the mock (so it is right behind
	// a Docker port mapping), else the listener's address.
	AdvertiseHost string

	// Clock drives every status; default a real clock. Use clock.New(clock.Manual, ...) in tests.
	Clock *clock.Clock
	// Topology of regions and file servers; default engine.DefaultTopology().
	Topology *engine.Topology
	// Seed makes transfer jitter and faults deterministic.
	Seed uint64
	// BaseLatency and Bandwidth (bytes/s) shape transfer times; see engine.Config.
	BaseLatency time.Duration
	Bandwidth   int64
	// Jitter is the ± fraction of each transfer time; 0 means the default (0.2), negative none.
	Jitter float64

	// TimestampClock is the clock the ±15-minute signature window is checked
	// against: TimestampWall (default: the machine's time, which the official
	// SDKs sign with, whatever the mock's clock says) or TimestampMock (the
	// mock's clock, for skewed-server tests).
	TimestampClock string

	// AuthOff accepts unsigned requests (the account comes from a known AccessKeyId, else "default").
	AuthOff bool
	// Credentials replace DefaultCredentials() when non-nil.
	Credentials []Credential
	// StrictApps accepts only registered AppIds (control plane /_ensmock/apps).
	StrictApps bool

	// Spec replaces the embedded OpenAPI document (tests that change a constraint).
	Spec []byte
	// Limits bound the size of a request.
	Limits wire.Limits
	// NonceCapacity bounds the signature nonces remembered per AccessKeyId
	// (default DefaultNonceCapacity; all keys together stay within MaxNonceEntries).
	NonceCapacity int

	// Source is how data files get their content: SourceSimulate (default: size
	// and md5 taken on trust) or SourceFetch (each url is downloaded and verified).
	Source string
	// FetchMaxBytes caps one downloaded source in fetch mode (default 64 MiB).
	FetchMaxBytes int64
	// FetchClient downloads sources in fetch mode; default a plain client.
	FetchClient *http.Client

	// Faults are the fault rules in force at start (e.g. a --scenario file);
	// more come and go through the control plane.
	Faults []faults.Rule

	// JournalSize bounds the request journal (default 1000 entries).
	JournalSize int
	// ControlToken, when set, is required as "Authorization: Bearer <token>" on
	// every control-plane endpoint except /_ensmock/health.
	ControlToken string
	// ControlSeparate keeps the control plane off the API handler (which then
	// answers only /_ensmock/health there): serve ControlHandler() elsewhere.
	ControlSeparate bool

	// CheckResponses validates every JSON response against the spec before it is
	// sent (a mismatch answers 500 InternalError). Always on inside test binaries
	// unless SkipResponseCheck is set (benchmarks measure the production path).
	CheckResponses    bool
	SkipResponseCheck bool

	// Logger receives structured logs; default: discard.
	Logger *slog.Logger

	// DataDir, when set, keeps the state in an embedded store there and loads
	// it at start (persist.go); empty: memory only.
	DataDir string
	// State seeds the engine at start (on a new DataDir only, when one is set).
	State *engine.State
	// OnStoreFailure is called when the data dir can no longer be written
	// (no change is acknowledged after that); default: logged.
	OnStoreFailure func(error)
}

// Clocks of Options.TimestampClock.
const (
	TimestampWall = "wall"
	TimestampMock = "mock"
)

// Source modes of Options.Source.
const (
	SourceSimulate = "simulate"
	SourceFetch    = "fetch"
)

// Server is a running mock.
type Server struct {
	opts        Options
	clock       *clock.Clock
	engine      *engine.Engine
	validator   *wire.Validator
	auth        *authenticator
	actions     map[string]action
	downloadKey []byte
	log         *slog.Logger
	faults      *faults.Set
	journal     *control.Journal
	control     *control.Handler
	store       *store.Store // nil without Options.DataDir (persist.go)

	handler  http.Handler
	ts       *httptest.Server
	host     string
	url      string
	inClient *http.Client
}

// NewServer builds a mock and, unless opts.NoListener, starts serving on a loopback port.
func NewServer(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if opts.NoListener {
		s.host, s.url = "127.0.0.1", "http://127.0.0.1"
		return s, nil
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(opts.Port)))
	if err != nil {
		s.Close() // the data dir's store
		return nil, fmt.Errorf("mock: listen: %w", err)
	}
	s.ts = &httptest.Server{Listener: ln, Config: NewHTTPServer(s.handler)}
	s.ts.Start()
	s.host = ln.Addr().String()
	s.url = "http://" + s.host
	return s, nil
}

func newServer(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = clock.New(clock.Real, 1, time.Time{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	doc, err := spec.Load()
	if opts.Spec != nil {
		doc, err = spec.Parse(opts.Spec)
	}
	if err != nil {
		return nil, err
	}
	fs := faults.NewSet(opts.Seed, opts.Clock.Now)
	if _, err := fs.Add(opts.Faults...); err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	cfg := engine.Config{Clock: opts.Clock, Seed: opts.Seed, BaseLatency: opts.BaseLatency, Bandwidth: opts.Bandwidth,
		Jitter: opts.Jitter, StrictApps: opts.StrictApps, Hooks: fs.Hooks()}
	if opts.Topology != nil {
		cfg.Topology = *opts.Topology
	}
	switch opts.Source {
	case "", SourceSimulate:
	case SourceFetch:
		cfg.Fetcher = fetch.New(fetch.Options{MaxBytes: opts.FetchMaxBytes, Client: opts.FetchClient})
	default:
		return nil, fmt.Errorf("mock: source %q: want %s or %s", opts.Source, SourceSimulate, SourceFetch)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	creds := opts.Credentials
	if creds == nil {
		creds = DefaultCredentials()
	}
	s := &Server{opts: opts, clock: opts.Clock, engine: eng, validator: wire.NewValidator(doc), log: opts.Logger,
		downloadKey: make([]byte, 32), faults: fs, journal: control.NewJournal(opts.JournalSize)}
	_, _ = rand.Read(s.downloadKey)
	var tsNow func() time.Time
	switch opts.TimestampClock {
	case "", TimestampWall:
		tsNow = opts.Clock.Wall
	case TimestampMock:
		tsNow = opts.Clock.Now
	default:
		return nil, fmt.Errorf("mock: timestamp clock %q: want %s or %s", opts.TimestampClock, TimestampWall, TimestampMock)
	}
	s.auth = newAuthenticator(opts.AuthOff, creds, tsNow, opts.NonceCapacity)
	s.auth.precompute(s.validator.Actions())
	s.actions = s.actionTable()
	for _, a := range s.validator.Actions() {
		if s.actions[a] == nil {
			return nil, fmt.Errorf("mock: the spec declares %s but the mock has no handler for it", a)
		}
	}
	for a := range s.actions {
		if err := s.validator.Check(a, http.MethodGet); err != nil && err.Code == wire.InvalidActionNotFound.Code {
			delete(s.actions, a) // an alternate spec may drop an operation: then the mock does not answer it
		}
	}
	if err := s.setupState(opts); err != nil {
		return nil, err
	}
	s.control = control.New(control.Config{Engine: eng, Clock: opts.Clock, Faults: fs, Journal: s.journal,
		ResolveKey: s.resolveKey, Token: opts.ControlToken})
	mux := http.NewServeMux()
	if opts.ControlSeparate {
		mux.HandleFunc("/_ensmock/health", s.control.Health)
		mux.HandleFunc(control.Prefix, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"the control plane is served on its own listener"}` + "\n"))
		})
	} else {
		mux.Handle(control.Prefix, s.control)
	}
	mux.HandleFunc("/file/", s.serveDownload)
	if s.checkResponses() {
		mux.HandleFunc("/", s.checked(s.serveAPI))
	} else {
		mux.HandleFunc("/", s.serveAPI)
	}
	s.handler = mux
	return s, nil
}

// NewHTTPServer returns an http.Server with the timeouts ensmock uses, so a slow
// or stuck client cannot hold a connection forever.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    2 << 20,
	}
}

// URL is the base URL (http://127.0.0.1:port), without a trailing slash.
func (s *Server) URL() string { return s.url }

// Endpoint is host:port, the form the SDKs take as their endpoint or Domain.
func (s *Server) Endpoint() string { return strings.TrimPrefix(s.url, "http://") }

// HTTPHandler is the whole mock (API, downloads and control plane) as a handler.
func (s *Server) HTTPHandler() http.Handler { return s.handler }

// HTTPClient returns a client that reaches the mock in-process, with no network:
// whatever host the request names, the mock's handler answers it.
func (s *Server) HTTPClient() *http.Client {
	if s.inClient == nil {
		s.inClient = HandlerClient(s.handler)
	}
	return s.inClient
}

// HandlerClient returns a client whose requests h answers in-process, with no
// network (for a handler that wraps the mock's, say).
func HandlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

// Clock is the mock's clock.
func (s *Server) Clock() *clock.Clock { return s.clock }

// Engine is the mock's state.
func (s *Server) Engine() *engine.Engine { return s.engine }

// Faults is the live set of fault rules (the control plane's /_ensmock/faults).
func (s *Server) Faults() *faults.Set { return s.faults }

// Journal is the request journal (the control plane's /_ensmock/requests).
func (s *Server) Journal() *control.Journal { return s.journal }

// ControlHandler is the control plane alone (paths under /_ensmock/), to serve
// on a listener of its own when Options.ControlSeparate is set.
func (s *Server) ControlHandler() http.Handler { return s.control }

// resolveKey names the account of an AccessKeyId, as authentication would.
func (s *Server) resolveKey(keyID string) (string, bool) {
	if c := s.auth.creds[keyID]; c != nil {
		return c.Account, true
	}
	if s.opts.AuthOff {
		return DefaultAccount, true
	}
	return "", false
}

// Close stops the listener, waiting for in-flight requests.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// handlerTransport is an http.RoundTripper that calls a handler directly.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	r.RequestURI = r.URL.RequestURI()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// errClientGone marks a request whose client left during an injected latency.
var errClientGone = errors.New("client closed the request")

// serveAPI is the request path: decode → method/action → signature → permission
// → API faults → spec validation → engine → encode, and every request, answered
// or not, goes into the journal.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req, werr := wire.Decode(r, s.opts.Limits)
	ent := control.Entry{Time: s.clock.Now(), RequestID: req.RequestID, Action: req.Action, Method: r.Method}
	defer func() {
		ent.Latency = control.Duration(time.Since(start))
		ent.SetRawParams(req.Params, r.URL.RawQuery, req.Form)
		s.journal.Record(ent)
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("request", "action", ent.Action, "account", ent.Account, "status", ent.HTTPStatus, "code", ent.ErrorCode,
				"requestId", ent.RequestID, "took", time.Duration(ent.Latency))
		}
	}()
	fail := func(e *wire.Error) {
		ent.HTTPStatus, ent.ErrorCode, ent.Detail = e.Status, e.Code, e.Detail
		wire.WriteError(w, req.RequestID, req.Format, e)
	}
	if werr != nil {
		fail(werr)
		return
	}
	if r.URL.Path != "/" {
		fail(wire.InvalidActionNotFound.WithDetail("the RPC API lives at /, not %s", r.URL.Path))
		return
	}
	if e := s.validator.Check(req.Action, r.Method); e != nil {
		fail(e)
		return
	}
	cred, e := s.auth.authenticate(req)
	if cred != nil {
		ent.AccessKeyID, ent.Account = cred.AccessKeyID, cred.Account
	}
	if e != nil {
		fail(e)
		return
	}
	account := DefaultAccount
	if cred != nil {
		account = cred.Account
		if !cred.allows(req.Action) {
			fail(wire.NoPermission.WithDetail("the policy of %s does not allow ens:%s", cred.AccessKeyID, req.Action))
			return
		}
	}
	ent.Account = account
	if e, delay := s.faults.API(req.Action, account); e != nil || delay > 0 {
		if err := wait(r, delay); err != nil {
			ent.HTTPStatus, ent.ErrorCode = 499, "ClientClosedRequest"
			return
		}
		if e != nil {
			fail(e)
			return
		}
	}
	if e := s.validator.Validate(r.Context(), req); e != nil {
		fail(e)
		return
	}
	body, e := s.actions[req.Action](r.Context(), s, account, req)
	if e != nil {
		fail(e)
		return
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer recycle(buf)
	if err := wire.Encode(buf, req.Format, req.Action, body); err != nil {
		fail(wire.InternalError.WithDetail("encode: %v", err))
		return
	}
	if p, ok := body.(*pushApplicationDataResponse); ok {
		ent.ResultCodes = make([]int, len(p.PushResults.PushResult))
		for i, pr := range p.PushResults.PushResult {
			ent.ResultCodes[i] = pr.ResultCode
		}
	}
	ent.HTTPStatus = http.StatusOK
	wire.WriteSuccess(w, req.RequestID, req.Format, buf.Bytes())
}

// bodies recycles the buffers success bodies are encoded into; one larger than
// 64 KiB (a big describe export) is left to the GC rather than kept.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func recycle(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		buf.Reset()
		bodies.Put(buf)
	}
}

// wait holds an answer for an injected latency (the only real delay in the
// mock), giving up when the client goes away.
func wait(r *http.Request, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.Context().Done():
		return errClientGone
	}
}

// Source is the source mode in force: SourceSimulate or SourceFetch.
func (s *Server) Source() string {
	if s.opts.Source == "" {
		return SourceSimulate
	}
	return s.opts.Source
}
