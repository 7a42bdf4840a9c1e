package mock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
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
// lock another client needs: that client's push and describe complete.
func TestStuckClientsDoNotBlockOthers(t *testing.T) {
	srv := newLoopbackMock(t, mock.Options{})
	var nonce atomic.Uint64
	c := &signedClient{base: srv.URL(), id: "testid", secret: "testsecret", now: srv.Clock().Now(), nonce: &nonce,
		http: &http.Client{Timeout: testTimeout, Transport: &http.Transport{}}, debugPrefix: "stuck"}
	if status, body, err := c.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"app"}, "Data": {data("before")}}); err != nil || status != 200 {
		t.Fatalf("%d %v %s", status, err, body)
	}

	// a signed push whose body stops half-way, and a request that stops mid-headers
	p := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {"app"}, "Data": {data("stuck")}}
	signature.SignV1(http.MethodPost, p, "testid", "testsecret", "stuck-body", c.now)
	body := p.Encode()
	stalls := []string{
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
			srv.Endpoint(), len(body), body[:len(body)/2]),
		"GET /?Action=DescribeDataPushResult&Version=2017-11-10 HTTP/1.1\r\nHost: " + srv.Endpoint() + "\r\nX-Half: ",
	}
	for _, s := range stalls {
		conn, err := net.Dial("tcp", srv.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, s); err != nil {
			t.Fatal(err)
		}
	}
	// the server has the stalled bytes (or soon will); others are served meanwhile
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
}

// TestGracefulShutdown: http.Server.Shutdown around mock.NewHTTPServer lets an
// in-flight request finish with its real answer, and refuses new connections.
func TestGracefulShutdown(t *testing.T) {
	srv, err := mock.NewServer(mock.Options{NoListener: true, AuthOff: true})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := srv.HTTPHandler()
	hs := mock.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("AppId") == "slow" { // a handler-level hook: the request is in flight
			close(entered)
			<-release
		}
		h.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	addr := ln.Addr().String()

	type result struct {
		status int
		body   []byte
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		p := call("PushApplicationData", "AppId", "slow", "Data", data("inflight"))
		resp, err := http.Post("http://"+addr+"/?"+p.Encode(), "", nil)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{resp.StatusCode, b, err}
	}()
	<-entered
	shutdown := make(chan error, 1)
	go func() { shutdown <- hs.Shutdown(context.Background()) }()
	// Shutdown closes the listener first: wait (bounded) until a new connection is refused.
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
		t.Fatal("new connections still accepted during shutdown")
	}
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	r := <-inflight
	if r.err != nil || r.status != 200 || !strings.Contains(string(r.body), `"ResultCode":0`) {
		t.Fatalf("in-flight request: %d %v %s", r.status, r.err, r.body)
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/_ensmock/health"); err == nil {
		t.Fatal("a request after shutdown was answered")
	}
}
