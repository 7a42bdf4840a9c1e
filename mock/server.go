// Package mock is the ensmock emulator: an HTTP server that answers Alibaba Cloud
// ENS data-distribution API calls (PushApplicationData and its siblings) from a
// stateful engine, with signatures, spec validation and a control plane.
//
// Use NewServer in Go tests (in-process, or on a loopback port), or the ensmock
// binary (cmd/ensmock), which is a thin wrapper around it.
package mock

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/internal/fetch"
	"github.com/ensmock/ensmock/internal/store"
	"github.com/ensmock/ensmock/internal/ui"
	"github.com/ensmock/ensmock/internal/wire"
	"github.com/ensmock/ensmock/mock/clock"
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
	// Topology of regions and file servers; default DefaultTopology().
	Topology *Topology
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
	// Strict turns ensmock's own limits (bounds the official documentation does
	// not state) into errors; by default they are accepted with a warning.
	Strict bool

	// Spec replaces the embedded OpenAPI document (tests that change a constraint).
	Spec []byte
	// Limits bound the size of a request.
	Limits Limits
	// NonceCapacity bounds the signature nonces remembered per AccessKeyId
	// (default DefaultNonceCapacity; all keys together stay within MaxNonceEntries).
	NonceCapacity int

	// Source is how data files get their content: SourceSimulate (default: size
	// and md5 taken on trust) or SourceFetch (each url is downloaded and verified).
	Source string
	// FetchMaxBytes caps one downloaded source in fetch mode (default 64 MiB).
	FetchMaxBytes int64
	// FetchClient downloads sources in fetch mode; default a client whose
	// dialer refuses the mock's own listeners and (unless FetchAllowLinkLocal)
	// link-local and cloud metadata addresses. A client given here is used as
	// it is: those checks are then its business.
	FetchClient *http.Client
	// FetchAllowLinkLocal lets fetch mode download from link-local and cloud
	// metadata addresses (169.254.0.0/16, fe80::/10, 100.100.100.200, ...).
	FetchAllowLinkLocal bool

	// Faults are the fault rules in force at start (e.g. a --scenario file);
	// more come and go through the control plane.
	Faults []FaultRule

	// JournalSize bounds the request journal (default 1000 entries).
	JournalSize int
	// ControlToken, when set, is required as "Authorization: Bearer <token>" on
	// every control-plane endpoint except /_ensmock/health.
	ControlToken string
	// DownloadKey signs download links (HMAC-SHA256); default 32 random bytes,
	// so links die with the process. Fix it to keep links valid across restarts.
	DownloadKey []byte
	// MaxConnections caps the open connections of the listener NewServer (and
	// LimitListener) serves on; default DefaultMaxConnections.
	MaxConnections int
	// ControlSeparate keeps the control plane off the API handler (which then
	// answers only /_ensmock/health there): serve ControlHandler() elsewhere.
	ControlSeparate bool

	// CheckResponses validates every JSON answer (success or error) against
	// the spec right after it is encoded, and answers 500 InternalError instead
	// of one that does not match. It costs CPU per request: the project's own
	// tests set it, so every answer they receive is proven to match ens.yaml.
	CheckResponses bool

	// Logger receives structured logs; default: discard.
	Logger *slog.Logger

	// DataDir, when set, keeps the state in an embedded store there and loads
	// it at start (persist.go); empty: memory only.
	DataDir string
	// State seeds the engine at start (on a new DataDir only, when one is set).
	State *State
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
	regions     []string // the topology's ENS nodes, sorted: fixed when the engine is built (read-only)
	validator   *wire.Validator
	auth        *authenticator
	actions     map[string]action
	downloadKey []byte
	log         *slog.Logger
	faults      *faults.Set
	journal     *control.Journal
	control     *control.Handler
	controlMux  *http.ServeMux // the control plane and the live view (internal/ui)
	large       chan struct{}  // turns of large requests' decoding (decode)
	store       *store.Store   // nil without Options.DataDir (persist.go)

	handler  http.Handler
	ts       *httptest.Server
	host     string
	url      string
	inClient *http.Client
	fetcher  *fetch.Fetcher
}

// NewServer builds a mock and, unless opts.NoListener, starts serving on a loopback port.
func NewServer(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	s.inClient = HandlerClient(s.handler)
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
		s.closeStore()
		return nil, fmt.Errorf("mock: listen: %w", err)
	}
	s.AddListener(ln.Addr())
	hs := NewHTTPServer(s.handler)
	s.ts = &httptest.Server{Listener: LimitListener(ln, hs, opts.MaxConnections), Config: hs}
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
	var fetcher *fetch.Fetcher
	cfg := engine.Config{Clock: opts.Clock, Seed: opts.Seed, BaseLatency: opts.BaseLatency, Bandwidth: opts.Bandwidth,
		Jitter: opts.Jitter, StrictApps: opts.StrictApps, Hooks: fs.Hooks()}
	if opts.Topology != nil {
		cfg.Topology = *opts.Topology
	}
	switch opts.Source {
	case "", SourceSimulate:
	case SourceFetch:
		f, err := fetch.New(fetch.Options{MaxBytes: opts.FetchMaxBytes, Client: opts.FetchClient, AllowLinkLocal: opts.FetchAllowLinkLocal})
		if err != nil {
			return nil, fmt.Errorf("mock: %w", err)
		}
		fetcher, cfg.Fetcher = f, f
		if opts.FetchMaxBytes > 0 {
			cfg.MaxFetchBytes = opts.FetchMaxBytes
		}
	default:
		return nil, fmt.Errorf("mock: source %q: want %s or %s", opts.Source, SourceSimulate, SourceFetch)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		if fetcher != nil {
			fetcher.Close()
		}
		return nil, err
	}
	creds := opts.Credentials
	if creds == nil {
		creds = DefaultCredentials()
	}
	s := &Server{opts: opts, clock: opts.Clock, engine: eng, regions: eng.Regions(), validator: wire.NewValidator(doc), log: opts.Logger,
		downloadKey: opts.DownloadKey, faults: fs, journal: control.NewJournal(opts.JournalSize), fetcher: fetcher,
		large: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
	if len(s.downloadKey) == 0 {
		s.downloadKey = make([]byte, 32)
		_, _ = rand.Read(s.downloadKey)
	}
	ok := false
	defer func() {
		if !ok {
			s.closeStore()
		}
	}()
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
	accounts := map[string]bool{}
	for _, c := range s.auth.creds {
		accounts[c.Account] = true
	}
	if opts.AuthOff {
		accounts[DefaultAccount] = true
	}
	s.control = control.New(control.Config{Engine: eng, Clock: opts.Clock, Faults: fs, Journal: s.journal,
		ResolveKey: s.resolveKey, KnownAccount: func(a string) bool { return accounts[a] }, Token: opts.ControlToken,
		Hosts:        []string{opts.Host, opts.AdvertiseHost},
		ClockRewound: func(from, to time.Time) { eng.Rewind(from.Sub(to)) }})
	s.controlMux = http.NewServeMux()
	s.controlMux.Handle(control.Prefix, s.control)
	s.controlMux.Handle(ui.Prefix, s.control.Guard(ui.New(ui.Config{Source: uiSource{s}, Token: opts.ControlToken})))
	mux := http.NewServeMux()
	if opts.ControlSeparate {
		mux.HandleFunc("/_ensmock/health", s.control.Health)
		mux.HandleFunc(control.Prefix, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"the control plane is served on its own listener"}` + "\n"))
		})
	} else {
		mux.Handle(control.Prefix, s.controlMux)
	}
	mux.HandleFunc("/file/", s.serveDownload)
	mux.HandleFunc("/", s.serveAPI)
	s.handler = mux
	ok = true
	return s, nil
}

// Timeouts of the servers NewHTTPServer builds. An answer that takes longer
// than WriteTimeout (an injected latency, a fetch) extends its own deadline
// first (see extendWriteDeadline), so it is delivered, not cut off.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 30 * time.Second
)

// DefaultMaxConnections is the default cap of open connections per listener
// (Options.MaxConnections, --max-connections): far below the file-descriptor
// limits of a container, far above what a test suite opens.
const DefaultMaxConnections = 1000

// NewHTTPServer returns an http.Server with the timeouts ensmock uses, so a slow
// or stuck client cannot hold a connection forever.
func NewHTTPServer(h http.Handler) *http.Server {
	return newHTTPServer(h, WriteTimeout)
}

func newHTTPServer(h http.Handler, write time.Duration) *http.Server {
	return &http.Server{
		Handler:           deadlines(h, write),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      write,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    2 << 20,
	}
}

// deadlines gives every request a way to push its write deadline back (the
// server set it to now + write when the request arrived).
func deadlines(h http.Handler, write time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		ctx := fetch.WithDeadlineExtender(r.Context(), func(d time.Duration) {
			_ = rc.SetWriteDeadline(time.Now().Add(d + write))
		})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// URL is the base URL (http://127.0.0.1:port), without a trailing slash.
func (s *Server) URL() string { return s.url }

// Endpoint is host:port, the form the SDKs take as their endpoint or Domain.
func (s *Server) Endpoint() string { return strings.TrimPrefix(s.url, "http://") }

// HTTPHandler is the whole mock (API, downloads and control plane) as a handler.
func (s *Server) HTTPHandler() http.Handler { return s.handler }

// HTTPClient returns a client that reaches the mock in-process, with no network:
// whatever host the request names, the mock's handler answers it.
func (s *Server) HTTPClient() *http.Client { return s.inClient }

// HandlerClient returns a client whose requests h answers in-process, with no
// network (for a handler that wraps the mock's, say).
func HandlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

// Clock is the mock's clock.
func (s *Server) Clock() *clock.Clock { return s.clock }

// Engine is the mock's state. Its type is internal: only this module's own tests use it;
// users read the state through State dumps (GET /_ensmock/state) and Requests.
func (s *Server) Engine() *engine.Engine { return s.engine }

// AddFaults adds fault rules, all or none (POST /_ensmock/faults); it returns
// them with their ids.
func (s *Server) AddFaults(rules ...FaultRule) ([]FaultRule, error) { return s.faults.Add(rules...) }

// RemoveFault removes the fault rule id (DELETE /_ensmock/faults/{id}) and
// reports whether there was one.
func (s *Server) RemoveFault(id string) bool { return s.faults.Remove(id) }

// FaultRules lists the fault rules in force with how often each applied (GET /_ensmock/faults).
func (s *Server) FaultRules() []FaultStatus { return s.faults.List() }

// Requests lists the journal's entries that match f, newest first
// (GET /_ensmock/requests): why a call failed, what it was answered.
func (s *Server) Requests(f RequestFilter) []RequestEntry { return s.journal.List(f) }

// CountRequests is the number of requests in the journal that match f
// (WireMock-style verification: "was it called, with these parameters?"); the
// journal keeps the latest requests only (see docs/control-plane.md).
func (s *Server) CountRequests(f RequestFilter) int { return s.journal.Count(f) }

// ControlHandler is the control plane alone (paths under /_ensmock/, with the
// live view at /_ensmock/ui/), to serve on a listener of its own when
// Options.ControlSeparate is set.
func (s *Server) ControlHandler() http.Handler { return s.controlMux }

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

// AddListener tells the mock an address it is served on (NewServer's own
// listener is known already), so that fetch mode refuses sources there: a
// download link must not read the control plane, say.
func (s *Server) AddListener(addr net.Addr) {
	if s.fetcher != nil {
		s.fetcher.Deny(addr)
	}
}

// Close stops the listener, waiting for in-flight requests, and removes the
// content fetch mode stored.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
	s.closeStore()
}

// closeStore removes the content fetch mode stored and closes the data dir's store.
func (s *Server) closeStore() {
	if s.fetcher != nil {
		s.fetcher.Close()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// handlerTransport is an http.RoundTripper that calls a handler directly.
type handlerTransport struct{ h http.Handler }

// RoundTrip serves a clone of r (a RoundTripper must not change the caller's
// request) and answers with what the handler wrote.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if in.Host == "" {
		in.Host = in.URL.Host
	}
	in.RequestURI = in.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
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
	req, werr := s.decode(r)
	ent := control.Entry{Time: s.clock.Now(), RequestID: req.RequestID, Action: req.Action, Method: r.Method}
	defer func() {
		ent.Latency = clock.Duration(time.Since(start))
		ent.SetRawParams(req.Params, r.URL.RawQuery, req.Form)
		ent.Warnings = req.Warnings
		s.journal.Record(ent)
		s.logRequest(r, &ent)
	}()
	warned := 0 // warnings already in the response headers
	setWarnings := func() {
		for _, wn := range req.Warnings[warned:] {
			w.Header().Add("X-Ensmock-Warning", headerSafe(wn))
		}
		warned = len(req.Warnings)
	}
	fail := func(e *wire.Error) {
		if s.opts.CheckResponses {
			var b bytes.Buffer
			wire.EncodeError(&b, req.RequestID, req.Format, e)
			if bad := s.checkResponse(r.Context(), req, e.Status, b.Bytes()); bad != nil {
				e = bad
			}
		}
		ent.HTTPStatus, ent.ErrorCode, ent.Detail = e.Status, e.Code, e.Detail
		setWarnings()
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
	if sb, ok := body.(streamBody); ok && !s.opts.CheckResponses {
		// Written in parts: the status goes with the first part, so an error
		// before it is still answered as an error.
		started := false
		flush := func() error {
			if !started {
				setWarnings()
				wire.WriteSuccessHeader(w, req.RequestID, req.Format)
				started = true
			}
			_, err := w.Write(buf.Bytes())
			buf.Reset()
			return err
		}
		if e := sb.encode(buf, req.Format, req.Action, flush); e != nil && !started {
			buf.Reset()
			fail(e)
			return
		} else if e != nil {
			ent.HTTPStatus, ent.ErrorCode, ent.Detail = http.StatusOK, "", "answer cut short: "+e.Error()
			return
		}
		ent.HTTPStatus = http.StatusOK
		_ = flush()
		return
	} else if ok {
		// Checked responses are checked whole: the parts are collected first.
		var whole bytes.Buffer
		collect := func() error { whole.Write(buf.Bytes()); buf.Reset(); return nil }
		if e := sb.encode(buf, req.Format, req.Action, collect); e != nil {
			fail(e)
			return
		}
		_ = collect()
		buf.Write(whole.Bytes())
	} else if err := wire.Encode(buf, req.Format, req.Action, body); err != nil {
		fail(wire.InternalError.WithDetail("encode: %v", err))
		return
	}
	if e := s.checkResponse(r.Context(), req, http.StatusOK, buf.Bytes()); e != nil {
		fail(e)
		return
	}
	if p, ok := body.(*pushApplicationDataResponse); ok {
		ent.ResultCodes = make([]int, len(p.PushResults.PushResult))
		for i, pr := range p.PushResults.PushResult {
			ent.ResultCodes[i] = pr.ResultCode
		}
		ent.Detail = failedItems(p.PushResults.PushResult)
	}
	ent.HTTPStatus = http.StatusOK
	ent.SetResponse(buf.Bytes()) // a copy, cut at 4 KiB: buf is recycled
	setWarnings()
	wire.WriteSuccess(w, req.RequestID, req.Format, buf.Bytes())
}

// largeRequest is the size from which a request's decoding takes a turn
// (Server.decode); SDK calls are far smaller.
const largeRequest = 64 << 10

// decode decodes r. Large requests (a query or body over largeRequest, or a
// body of unknown length) decode one at a time per spare core: decoding a
// megabyte of parameters costs milliseconds of CPU, and a flood of them must
// not starve small requests and /_ensmock/health of the cores.
func (s *Server) decode(r *http.Request) (*wire.Request, *wire.Error) {
	if len(r.URL.RawQuery) > largeRequest || r.ContentLength > largeRequest || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody) {
		select {
		case s.large <- struct{}{}:
			defer func() { <-s.large }()
		case <-r.Context().Done():
		}
	}
	return wire.Decode(r, s.opts.Limits)
}

// checkResponse validates an encoded JSON answer of req's action against the
// spec (Options.CheckResponses), returning the 500 to send instead of one that
// does not match; nil when it matches, when checking is off, for XML, and for
// a request whose action the spec does not know.
func (s *Server) checkResponse(ctx context.Context, req *wire.Request, status int, body []byte) *wire.Error {
	if !s.opts.CheckResponses || req.Format != wire.JSON || s.validator.Check(req.Action, http.MethodGet) != nil {
		return nil
	}
	err := s.validator.CheckResponse(ctx, req.Action, status, http.Header{"Content-Type": {wire.ContentTypeJSON}}, body)
	if err == nil {
		return nil
	}
	s.log.Error("response does not match the spec", "action", req.Action, "err", err, "body", string(body))
	return wire.InternalError.WithDetail("ensmock bug: the %s response does not match spec/ens.yaml: %v", req.Action, err)
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
// mock), giving up when the client goes away. It first pushes the write
// deadline back by d, so an answer held longer than the server's write timeout
// is still delivered (and the journal's status is what the client saw).
func wait(r *http.Request, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	fetch.ExtendDeadline(r.Context(), d)
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
