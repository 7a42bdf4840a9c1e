//go:build soak

package mock_test

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
)

var soak = flag.Duration("soak", 0, "run TestSoak for this long (e.g. -soak=3m); default a short bounded run")

// TestSoak sends mixed traffic (new and repeated pushes, describes, downloads,
// bad signatures, replayed nonces, unknown actions) from several clients over a
// loopback listener, then checks that no goroutine outlives it and that the
// heap after GC is flat between the end of the warm-up and the end of the run.
// New-file names cycle over a fixed set and the nonce cache is small, so every
// piece of state is bounded: any growth is a leak. Its heap and goroutine
// heuristics need a quiet machine, so it is built only with -tags soak
// (make soak), not in make test. Short by default (a fixed number of
// requests); -soak=3m for the long form.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	base := runtime.NumGoroutine()
	srv, err := mock.NewServer(mock.Options{NonceCapacity: 4096})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	var nonce atomic.Uint64
	const clients, names = 8, 100
	mix := func(c *signedClient, i int) {
		var p url.Values
		want := 200
		switch i % 7 {
		case 0, 1:
			p = url.Values{"Action": {"PushApplicationData"}, "AppId": {"soak"}, "Data": {data(fmt.Sprintf("n%d", i%names))}}
		case 2:
			p = url.Values{"Action": {"PushApplicationData"}, "AppId": {"soak"}, "Data": {data("repeat")},
				"PushStrategy": {`{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`}}
		case 3:
			p = url.Values{"Action": {"DescribeDataPushResult"}, "AppId": {"soak"}, "PageNumber": {"2"}, "PageSize": {"10"}}
		case 4:
			p = url.Values{"Action": {"DescribeDataDownloadURL"}, "AppId": {"soak"}, "DataName": {"repeat"}, "DataVersion": {"1.0"}}
		case 5:
			p, want = url.Values{"Action": {"NoSuchAction"}}, 404
		case 6:
			p, want = url.Values{"Action": {"PushApplicationData"}, "AppId": {"soak"}, "Data": {"not json"}}, 400
		}
		status, body, err := c.call(p)
		if err != nil || status != want {
			t.Errorf("%s: %d (want %d) %v %s", p.Get("Action"), status, want, err, body)
		}
		if i%50 == 0 { // a replayed nonce and a wrong secret
			bad := *c
			bad.secret = "wrong"
			if status, _, _ := bad.call(url.Values{"Action": {"DescribeDataPushResult"}, "AppId": {"soak"}}); status != 400 {
				t.Errorf("bad signature: %d", status)
			}
		}
	}
	run := func(until func(i int) bool) int {
		var wg sync.WaitGroup
		var total atomic.Int64
		for w := range clients {
			wg.Go(func() {
				c := &signedClient{base: srv.URL(), id: "testid", secret: "testsecret", now: time.Now().UTC(), nonce: &nonce,
					http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, debugPrefix: "soak"}
				for i := w; !until(i) && !t.Failed(); i += clients {
					mix(c, i)
					total.Add(1)
				}
			})
		}
		wg.Wait()
		return int(total.Load())
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}

	first := &signedClient{base: srv.URL(), id: "testid", secret: "testsecret", now: time.Now().UTC(), nonce: &nonce,
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, debugPrefix: "soak"}
	if status, body, err := first.call(url.Values{"Action": {"PushApplicationData"}, "AppId": {"soak"}, "Data": {data("repeat")}}); err != nil || status != 200 {
		t.Fatalf("first push: %d %v %s", status, err, body)
	}
	warm := run(func(i int) bool { return i >= 2*names*7 }) // every name pushed, nonce cache full
	before := heap()
	var n int
	if *soak > 0 {
		deadline := time.Now().Add(*soak)
		n = run(func(int) bool { return time.Now().After(deadline) })
	} else {
		n = run(func(i int) bool { return i >= 1500 })
	}
	after := heap()
	t.Logf("%d warm-up + %d requests; heap after GC %d KiB -> %d KiB", warm, n, before>>10, after>>10)
	if limit := before + 2<<20 + before/4; after > limit {
		t.Errorf("heap grew from %d KiB to %d KiB over %d requests (limit %d KiB)", before>>10, after>>10, n, limit>>10)
	}

	srv.Close()
	tr.CloseIdleConnections()
	got := runtime.NumGoroutine()
	for i := 0; i < 1_000_000 && got > base; i++ { // connection goroutines exit asynchronously
		runtime.Gosched()
		got = runtime.NumGoroutine()
	}
	if got > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after the soak, %d before:\n%s", got, base, buf[:runtime.Stack(buf, true)])
	}
}
