package mock_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
)

// signedClient sends V1-signed JSON requests to a mock on a loopback listener.
type signedClient struct {
	base        string
	id, secret  string
	now         time.Time
	nonce       *atomic.Uint64
	http        *http.Client
	debugPrefix string
}

func (c *signedClient) call(params url.Values) (int, []byte, error) {
	method := http.MethodPost
	if params.Get("Action") == "DescribeDataDownloadURL" {
		method = http.MethodGet // the only method it answers
	}
	params.Set("Version", "2017-11-10")
	params.Set("Format", "JSON")
	n := c.nonce.Add(1)
	signature.SignV1(method, params, c.id, c.secret, fmt.Sprintf("%s-%d", c.debugPrefix, n), c.now)
	req, err := http.NewRequest(method, c.base+"/?"+params.Encode(), nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type pushBody struct {
	PushResults struct {
		PushResult []struct {
			Name       string
			ResultCode int
		}
	}
}

type describeBody struct {
	TotalCount  int
	PushResults struct {
		PushResult []struct{ Name, Version string }
	}
}

func newLoopbackMock(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.New(clock.Manual, 0, time.Now().UTC().Truncate(time.Second))
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if h, _, _ := net.SplitHostPort(srv.Endpoint()); h != "127.0.0.1" {
		t.Fatalf("listening on %s", srv.Endpoint())
	}
	return srv
}

// TestConcurrentSamePushStartsOnce: N clients push the same (name, version) at
// once over HTTP; exactly one answer is ResultCode 0, every other one 200.
func TestConcurrentSamePushStartsOnce(t *testing.T) {
	srv := newLoopbackMock(t, mock.Options{})
	const n = 24
	var nonce atomic.Uint64
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			c := &signedClient{base: srv.URL(), id: "testid", secret: "testsecret", now: srv.Clock().Now(), nonce: &nonce,
				http: &http.Client{Timeout: testTimeout, Transport: &http.Transport{}}, debugPrefix: "same"}
			<-start
			status, body, err := c.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"race-app"}, "Data": {data("contended")}})
			if err != nil || status != 200 {
				t.Errorf("client %d: %d %v %s", i, status, err, body)
				return
			}
			var pb pushBody
			if err := json.Unmarshal(body, &pb); err != nil || len(pb.PushResults.PushResult) != 1 {
				t.Errorf("client %d: %v %s", i, err, body)
				return
			}
			codes[i] = pb.PushResults.PushResult[0].ResultCode
		})
	}
	close(start)
	wg.Wait()
	started := 0
	for i, c := range codes {
		switch c {
		case 0:
			started++
		case 200:
		default:
			t.Errorf("client %d: ResultCode %d", i, c)
		}
	}
	if started != 1 {
		t.Fatalf("%d pushes started, want exactly 1 (codes %v)", started, codes)
	}
}

// TestAccountsNeverMixState: clients of several accounts push and describe the
// same AppId concurrently; each only ever sees its own files, and at the end
// holds exactly what it pushed.
func TestAccountsNeverMixState(t *testing.T) {
	const accounts, pushes = 4, 15
	var creds []mock.Credential
	for i := range accounts {
		creds = append(creds, mock.Credential{AccessKeyID: fmt.Sprintf("id-%d", i), AccessKeySecret: fmt.Sprintf("secret-%d", i)})
	}
	srv := newLoopbackMock(t, mock.Options{Credentials: creds})
	var nonce atomic.Uint64
	var wg sync.WaitGroup
	var clients []*signedClient
	for a := range accounts {
		c := &signedClient{base: srv.URL(), id: creds[a].AccessKeyID, secret: creds[a].AccessKeySecret, now: srv.Clock().Now(),
			nonce: &nonce, http: &http.Client{Timeout: testTimeout, Transport: &http.Transport{}}, debugPrefix: "mix"}
		own := fmt.Sprintf("acct%d-", a)
		describe := func() (describeBody, bool) {
			status, body, err := c.call(url.Values{"Action": {"DescribeDataPushResult"}, "AppId": {"shared-app"}})
			var db describeBody
			if err != nil || status != 200 || json.Unmarshal(body, &db) != nil {
				t.Errorf("account %d describe: %d %v %s", a, status, err, body)
				return db, false
			}
			for _, f := range db.PushResults.PushResult {
				if !strings.HasPrefix(f.Name, own) && f.Name != "common-name" {
					t.Errorf("account %d sees %q", a, f.Name)
					return db, false
				}
			}
			return db, true
		}
		wg.Go(func() {
			for i := range pushes {
				status, body, err := c.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"shared-app"},
					"Data": {data(fmt.Sprintf("%sf%d", own, i), "common-name")}})
				if err != nil || status != 200 {
					t.Errorf("account %d push: %d %v %s", a, status, err, body)
					return
				}
				var pb pushBody
				_ = json.Unmarshal(body, &pb)
				if rs := pb.PushResults.PushResult; len(rs) != 2 || rs[0].ResultCode != 0 || (i == 0) != (rs[1].ResultCode == 0) {
					t.Errorf("account %d push %d: %s", a, i, body) // common-name starts once per account
					return
				}
				if _, ok := describe(); !ok {
					return
				}
			}
		})
		clients = append(clients, c)
	}
	wg.Wait()
	for a, c := range clients {
		status, body, err := c.call(url.Values{"Action": {"DescribeDataPushResult"}, "AppId": {"shared-app"}, "DataNames": {"common-name"}})
		var db describeBody
		if err != nil || status != 200 || json.Unmarshal(body, &db) != nil || db.TotalCount != 1 {
			t.Errorf("account %d common-name: %d %v %s", a, status, err, body)
		}
		st := srv.Engine().Snapshot(creds[a].AccessKeyID)
		if len(st.Accounts) != 1 || len(st.Accounts[0].Apps) != 1 || len(st.Accounts[0].Apps[0].Files) != pushes+1 {
			t.Fatalf("account %d state: %+v", a, st)
		}
		for _, f := range st.Accounts[0].Apps[0].Files {
			if f.Name != "common-name" && !strings.HasPrefix(f.Name, fmt.Sprintf("acct%d-", a)) {
				t.Fatalf("account %d holds %q", a, f.Name)
			}
		}
	}
}

// TestServerTimeoutsAreSet guards the timeouts that keep a slow or stuck client
// from holding a connection (and its goroutine) forever.
func TestServerTimeoutsAreSet(t *testing.T) {
	hs := mock.NewHTTPServer(http.NotFoundHandler())
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Fatalf("timeouts: header %s read %s write %s idle %s, max header %d",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
}

// TestStuckClientsDoNotBlockOthers: clients that stall half-way through their
// headers, or through the body of a push to the same account and app, hold no
// lock another client needs: that client's push and describe complete while
// both stalled requests are held, and the stalled push, once its body ends,
// gets its answer.
//
// The mock is served as `ensmock serve` serves it (NewHTTPServer around the
// handler, LimitListener), with two observers: the listener counts what the
// server read from each connection, and a handler wrapper sees the stalled
// push's handler ask for body bytes it was never sent. The test waits for both
// events before any other request, and every other request checks, as it
// enters the handler, that both stalled requests are still held.
func TestStuckClientsDoNotBlockOthers(t *testing.T) {
	srv, err := mock.NewServer(mock.Options{NoListener: true,
		Clock: clock.New(clock.Manual, 0, time.Now().UTC().Truncate(time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	var (
		checking      atomic.Bool // set once both stalls are held
		bodyHeld      = make(chan struct{})
		bodyDone      = make(chan struct{})
		notHeld       atomic.Int32 // other requests that entered while a stall was not held
		headerConn    *watchedConn // the connection stalled mid-headers, once dialled
		headerConnSet = make(chan struct{})
	)
	held := func() bool {
		select {
		case <-bodyDone:
			return false
		default:
		}
		select {
		case <-bodyHeld:
		default:
			return false
		}
		select {
		case <-headerConnSet:
		default:
			return false
		}
		return headerConn.readAll() && !headerConn.closed.Load()
	}
	h := srv.HTTPHandler()
	hs := mock.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, err := strconv.ParseInt(r.Header.Get("X-Stalls-After"), 10, 64); err == nil {
			r.Body = &stallBody{ReadCloser: r.Body, sent: n, held: bodyHeld}
			defer close(bodyDone)
		} else if checking.Load() && !held() {
			notHeld.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := &connWatch{m: map[string]*watchedConn{}}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(mock.LimitListener(watchedListener{ln, conns}, hs, 0)) }()
	t.Cleanup(func() {
		_ = hs.Close()
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	var nonce atomic.Uint64
	c := &signedClient{base: "http://" + addr, id: "testid", secret: "testsecret", now: srv.Clock().Now(), nonce: &nonce,
		http: testClient, debugPrefix: "stuck"}
	if status, body, err := c.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"app"}, "Data": {data("before")}}); err != nil || status != 200 {
		t.Fatalf("%d %v %s", status, err, body)
	}

	// a signed push whose body stops half-way, and a request that stops mid-headers
	p := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {"app"}, "Data": {data("stuck")}}
	signature.SignV1(http.MethodPost, p, "testid", "testsecret", "stuck-body", c.now)
	body := p.Encode()
	half := len(body) / 2
	bodyConn := dial(t, addr)
	write(t, bodyConn, fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nX-Stalls-After: %d\r\n\r\n%s",
		addr, len(body), half, body[:half]))
	headerStall := "GET /?Action=DescribeDataPushResult&Version=2017-11-10 HTTP/1.1\r\nHost: " + addr + "\r\nX-Half: "
	hc := dial(t, addr)
	headerConn = conns.get(hc.LocalAddr().String())
	headerConn.want.Store(int64(len(headerStall)))
	close(headerConnSet)
	write(t, hc, headerStall)

	// Wait until both stalls are held: the push's handler has read the half
	// body and asked for more, the server has read every byte of the headers.
	waitFor(t, bodyHeld, "the stalled push to be blocked in its handler's body read")
	waitFor(t, headerConn.full, "the server to read the stalled headers")
	checking.Store(true)

	for i := range 5 {
		status, body, err := c.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"app"}, "Data": {data(fmt.Sprintf("while-stuck-%d", i), "stuck")}})
		if err != nil || status != 200 {
			t.Fatalf("push while others stall: %d %v %s", status, err, body)
		}
		var pb pushBody
		if err := json.Unmarshal(body, &pb); err != nil || len(pb.PushResults.PushResult) != 2 || pb.PushResults.PushResult[0].ResultCode != 0 {
			t.Fatalf("push while others stall: %v %s", err, body)
		}
		status, body, err = c.call(url.Values{"Action": {"DescribeDataPushResult"}, "AppId": {"app"}, "DataNames": {"stuck"}})
		if err != nil || status != 200 || !strings.Contains(string(body), `"TotalCount":1`) {
			t.Fatalf("describe while others stall: %d %v %s", status, err, body)
		}
	}
	if n := notHeld.Load(); n != 0 || !held() {
		t.Fatalf("%d requests were served while a stall was not held (held at the end: %v): the test proved nothing", n, held())
	}

	// The stalled push, once its body ends, is answered: "stuck" has been
	// pushed meanwhile, so it is the repeat of a running push (ResultCode 200).
	write(t, bodyConn, body[half:])
	_ = bodyConn.SetReadDeadline(time.Now().Add(testTimeout)) // a bound, not an assertion
	resp, err := http.ReadResponse(bufio.NewReader(bodyConn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pb pushBody
	if err := json.NewDecoder(resp.Body).Decode(&pb); err != nil || resp.StatusCode != 200 ||
		len(pb.PushResults.PushResult) != 1 || pb.PushResults.PushResult[0].ResultCode != 200 {
		t.Fatalf("the stalled push, completed: %d %v %+v", resp.StatusCode, err, pb)
	}
	waitFor(t, bodyDone, "the stalled push's handler to return")
}

// stallBody is the body of the stalled push: it closes held when the handler
// asks for more than the sent bytes (it is then blocked waiting for them).
type stallBody struct {
	io.ReadCloser
	sent, read int64
	held       chan struct{}
	once       sync.Once
}

func (b *stallBody) Read(p []byte) (int, error) {
	if b.read >= b.sent {
		b.once.Do(func() { close(b.held) })
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	return n, err
}

// connWatch wraps the connections a listener accepts, keyed by the client's
// address; get returns the same watchedConn to the test and to Accept,
// whichever asks first.
type connWatch struct {
	mu sync.Mutex
	m  map[string]*watchedConn
}

func (w *connWatch) get(remote string) *watchedConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.m[remote]
	if c == nil {
		c = &watchedConn{full: make(chan struct{})}
		w.m[remote] = c
	}
	return c
}

type watchedListener struct {
	net.Listener
	w *connWatch
}

func (l watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := l.w.get(c.RemoteAddr().String())
	wc.Conn = c
	return wc, nil
}

// watchedConn counts the bytes the server read; full is closed once it has
// read want of them (want 0: never).
type watchedConn struct {
	net.Conn
	want, read atomic.Int64
	full       chan struct{}
	once       sync.Once
	closed     atomic.Bool
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	if c.readAll() {
		c.once.Do(func() { close(c.full) })
	}
	return n, err
}

func (c *watchedConn) readAll() bool {
	w := c.want.Load()
	return w > 0 && c.read.Load() >= w
}

func (c *watchedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func write(t *testing.T, conn net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(conn, s); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits for ch to be closed, failing the test after testTimeout (a
// bound against a hang, not a timing assertion: the events come in microseconds).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("gave up waiting for %s", what)
	}
}

// TestCloseWaitsForInFlight: Server.Close (what a test's defer runs) stops
// accepting connections at once, lets a request already inside the mock's
// handler finish with its real answer, and returns only after it. The request
// is held inside the handler by fetch mode: its source download goes to a
// FetchClient whose transport waits for the test (it never dials).
func TestCloseWaitsForInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	fetchClient := &http.Client{Timeout: testTimeout, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		close(entered)
		<-release
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})}
	srv := newLoopbackMock(t, mock.Options{AuthOff: true, Source: mock.SourceFetch, FetchClient: fetchClient})
	addr := srv.Endpoint()

	type result struct {
		status int
		body   []byte
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		p := call("PushApplicationData", "AppId", "held", "Data", data("inflight"))
		resp, err := testClient.Post(srv.URL()+"/?"+p.Encode(), "", nil)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{resp.StatusCode, b, err}
	}()
	waitFor(t, entered, "the push to reach its source download")

	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	// Close shuts the listener first: wait (bounded, no sleep) until a new connection is refused.
	refused := false
	for range 100_000 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
		runtime.Gosched()
	}
	if !refused {
		t.Fatal("new connections still accepted while closing")
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a request was in flight")
	default:
	}
	close(release)
	// The real answer: the push is accepted (ResultCode 0); the source's 404
	// fails the transfer later, which this test does not look at.
	r := <-inflight
	var pb pushBody
	if r.err != nil || r.status != 200 || json.Unmarshal(r.body, &pb) != nil ||
		len(pb.PushResults.PushResult) != 1 || pb.PushResults.PushResult[0].Name != "inflight" || pb.PushResults.PushResult[0].ResultCode != 0 {
		t.Fatalf("in-flight request: %d %v %s", r.status, r.err, r.body)
	}
	waitFor(t, closed, "Close to return once the request was answered")
	if resp, err := testClient.Get(srv.URL() + "/_ensmock/health"); err == nil {
		resp.Body.Close()
		t.Fatal("a request after Close was answered")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
