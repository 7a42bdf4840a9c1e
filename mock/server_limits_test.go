package mock

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/faults"
)

// TestHTTPClientConcurrent: HTTPClient is built once, in NewServer; concurrent
// callers share it (run with -race).
func TestHTTPClientConcurrent(t *testing.T) {
	srv, err := NewServer(Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	clients := make([]*http.Client, 16)
	for i := range clients {
		wg.Go(func() { clients[i] = srv.HTTPClient() })
	}
	wg.Wait()
	for _, c := range clients {
		if c == nil || c != clients[0] {
			t.Fatalf("HTTPClient returned different clients: %p %p", c, clients[0])
		}
	}
}

// TestHandlerTransportLeavesTheRequestAlone: the RoundTripper contract forbids
// changing the caller's request.
func TestHandlerTransportLeavesTheRequestAlone(t *testing.T) {
	var seen *http.Request
	c := HandlerClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		_, _ = io.WriteString(w, r.Host+" "+r.RequestURI)
	}))
	req, _ := http.NewRequest(http.MethodGet, "http://example.test/a?b=c", nil)
	req.Host = ""
	resp, err := c.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "example.test /a?b=c" {
		t.Errorf("handler saw %q", body)
	}
	if req.Host != "" || req.RequestURI != "" || req.Body != nil || seen == req {
		t.Errorf("the caller's request was changed: Host %q RequestURI %q Body %v same %v", req.Host, req.RequestURI, req.Body, seen == req)
	}
	if resp.Request != req {
		t.Errorf("resp.Request is not the caller's request")
	}
}

// serveOn serves h with NewHTTPServer's settings (write timeout w) behind
// LimitListener on a loopback port.
func serveOn(t *testing.T, h http.Handler, write time.Duration, max int) (string, *limitListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer(h, write)
	ll := LimitListener(ln, hs, max).(*limitListener)
	go func() { _ = hs.Serve(ll) }()
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String(), ll
}

// TestHealthAnswersUnderAConnectionFlood: with a cap of 8, 300 connections
// that send nothing or half their headers neither starve /_ensmock/health nor
// open more than the cap.
func TestHealthAnswersUnderAConnectionFlood(t *testing.T) {
	testConnectionFlood(t, 8, 300)
}

func testConnectionFlood(t *testing.T, max, flood int) {
	srv, err := NewServer(Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	base, ll := serveOn(t, srv.HTTPHandler(), WriteTimeout, max)
	addr := strings.TrimPrefix(base, "http://")
	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range flood {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		if i%2 == 1 { // every other one trickles its headers in (slowloris) and never finishes them
			_, _ = io.WriteString(c, "GET /_ensmock/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 5 {
		resp, err := client.Get(base + "/_ensmock/health")
		if err != nil {
			t.Fatalf("health %d under a flood of %d idle connections: %v", i, flood, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("health: %d", resp.StatusCode)
		}
	}
	if n := ll.open(); n > max {
		t.Errorf("%d connections open, cap %d", n, max)
	}
}

// TestLimitListenerRefusesWhenEveryoneIsBusy: at the cap with every
// connection inside a request, a newcomer is closed rather than queued, and
// the busy ones are not cut.
func TestLimitListenerRefusesWhenEveryoneIsBusy(t *testing.T) {
	release := make(chan struct{})
	var in sync.WaitGroup
	in.Add(2)
	base, ll := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.Done()
		<-release
		_, _ = io.WriteString(w, "done")
	}), WriteTimeout, 2)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 2 {
		wg.Go(func() {
			if resp, err := client.Get(base + "/busy"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) == "done" {
					ok.Add(1)
				}
			}
		})
	}
	in.Wait() // both requests are inside the handler
	if _, err := client.Get(base + "/third"); err == nil {
		t.Error("a third connection was served beyond a cap of 2 busy ones")
	}
	close(release)
	wg.Wait()
	if ok.Load() != 2 {
		t.Errorf("%d of the 2 busy requests finished", ok.Load())
	}
	if n := ll.open(); n > 2 {
		t.Errorf("%d connections counted", n)
	}
}

// TestLongAnswersOutliveTheWriteTimeout: an injected latency longer than the
// server's write timeout is delivered, not cut off with an EOF after the state
// changed. Real time is unavoidable here (the write deadline is the kernel's
// clock): the timeout is 20ms and the latency 80ms.
func TestLongAnswersOutliveTheWriteTimeout(t *testing.T) {
	const write, latency = 20 * time.Millisecond, 80 * time.Millisecond
	srv, err := NewServer(Options{NoListener: true, AuthOff: true, Faults: []faults.Rule{
		{Effect: faults.Latency, Match: faults.Match{Action: "PushApplicationData"}, Params: faults.Params{Latency: faults.Duration(latency)}}}})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {"a"},
		"Data": {`[{"name":"n","version":"1","url":"http://127.0.0.1/n"}]`}}
	client := &http.Client{Timeout: 5 * time.Second}

	// Without the deadline extension the answer is lost: the set-up reproduces the bug.
	plain := &http.Server{Handler: srv.HTTPHandler(), WriteTimeout: write}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = plain.Serve(ln) }()
	defer plain.Close()
	if resp, err := client.Get("http://" + ln.Addr().String() + "/?" + q.Encode()); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && bytes.Contains(b, []byte("PushResults")) {
			t.Fatal("a plain server with the same write timeout delivered the answer: the test no longer reproduces the bug")
		}
	}

	base, _ := serveOn(t, srv.HTTPHandler(), write, 10)
	q.Set("AppId", "b")
	resp, err := client.Get(base + "/?" + q.Encode())
	if err != nil {
		t.Fatalf("an answer held %s with a %s write timeout was lost: %v", latency, write, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"ResultCode":0`)) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestSlowFetchOutlivesTheWriteTimeout: a source slower than the write timeout
// (fetch mode) still gets its push answered.
func TestSlowFetchOutlivesTheWriteTimeout(t *testing.T) {
	const write, slow = 20 * time.Millisecond, 80 * time.Millisecond
	src := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow) // the slow source itself: what the test is about
		_, _ = io.WriteString(w, "ab")
	})}
	sln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() { _ = src.Serve(sln) }()
	defer src.Close()
	srv, err := NewServer(Options{NoListener: true, AuthOff: true, Source: SourceFetch})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base, _ := serveOn(t, srv.HTTPHandler(), write, 10)
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {"a"},
		"Data": {fmt.Sprintf(`[{"name":"n","version":"1","size":2,"url":"http://%s/n"}]`, sln.Addr())}}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(base + "/?" + q.Encode())
	if err != nil {
		t.Fatalf("a push whose fetch took %s with a %s write timeout was lost: %v", slow, write, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"ResultCode":0`)) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestFetchRefusesTheMocksOwnListener: in fetch mode a data file whose url is
// the mock itself (its control plane, say) is refused (ResultCode 300), so an
// API-only key cannot read the state through a download link.
func TestFetchRefusesTheMocksOwnListener(t *testing.T) {
	srv, err := NewServer(Options{AuthOff: true, Source: SourceFetch})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {"a"},
		"Data": {fmt.Sprintf(`[{"name":"n","version":"1","url":"%s/_ensmock/state"}]`, srv.URL())}}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(srv.URL() + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`"ResultCode":300`)) || !bytes.Contains(b, []byte("the mock's own listener")) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestDownloadKeyKeepsLinksAcrossRestarts: with Options.DownloadKey fixed, a
// link handed out before a restart still works once the data file is pushed
// again; with the default random key it does not.
func TestDownloadKeyKeepsLinksAcrossRestarts(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	restart := func(k []byte) *fx {
		f := newFx(t, func(o *Options) { o.DownloadKey = k })
		if code, why := f.pushCode(item("kept", "http://127.0.0.1/kept", 10, "", ""), ""); code != 0 {
			t.Fatal(code, why)
		}
		f.advance("1m")
		return f
	}
	link := restart(key).downloadLink("kept")
	if status, body, _ := restart(key).get(link); status != 200 || len(body) != 10 {
		t.Fatalf("after a restart with the same key: %d %q", status, body)
	}
	if status, _, _ := restart(nil).get(link); status != http.StatusForbidden {
		t.Fatalf("after a restart with a random key: %d, want 403", status)
	}
}
