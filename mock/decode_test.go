package mock

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockingBody is a large form body whose first Read reports and then waits
// for release: a request held inside its decoding.
type blockingBody struct {
	io.Reader
	once    sync.Once
	reading *atomic.Int32
	maxSeen *atomic.Int32
	entered chan<- struct{}
	release <-chan struct{}
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() {
		n := b.reading.Add(1)
		for m := b.maxSeen.Load(); n > m && !b.maxSeen.CompareAndSwap(m, n); m = b.maxSeen.Load() {
		}
		b.entered <- struct{}{}
		<-b.release
		b.reading.Add(-1)
	})
	return b.Reader.Read(p)
}

// Large requests decode one at a time per spare core, so a flood of them
// cannot take every core from small requests and health (issue 18, the 1 MB
// flood): at no moment do more than cap(s.large) large bodies decode at once.
func TestLargeRequestsDecodeInTurns(t *testing.T) {
	f := newFx(t, nil)
	turns := cap(f.srv.large)
	const n = 3
	var reading, maxSeen atomic.Int32
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	body := bytes.Repeat([]byte("x"), largeRequest+1)
	var wg sync.WaitGroup
	var started atomic.Int32
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = int64(len(body))
			r.Body = io.NopCloser(&blockingBody{Reader: bytes.NewReader(append([]byte("Junk="), body...)), reading: &reading, maxSeen: &maxSeen, entered: entered, release: release})
			started.Add(1)
			f.srv.HTTPHandler().ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	// Wait until the turns are all taken and every request is in the
	// handler, then let the scheduler run the others: without turn-taking
	// they would all be reading by now.
	deadline := time.After(30 * time.Second)
	for got := 0; got < min(turns, n); got++ {
		select {
		case <-entered:
		case <-deadline:
			t.Fatal("no large request reached its decoding")
		}
	}
	for i := 0; started.Load() < n || i < 10_000; i++ {
		if i > 100_000_000 {
			t.Fatal("the requests never all reached the handler")
		}
		runtime.Gosched()
	}
	for range n - min(turns, n) {
		release <- struct{}{} // one finishes; the next may enter
		select {
		case <-entered:
		case <-deadline:
			t.Fatal("a waiting large request never got its turn")
		}
	}
	close(release)
	wg.Wait()
	if m := maxSeen.Load(); int(m) > turns {
		t.Fatalf("%d large requests decoded at once; the turns are %d", m, turns)
	}
}
