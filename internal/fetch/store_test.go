package fetch

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ensmock/ensmock/internal/engine"
)

func newFetcher(t *testing.T, o Options) *Fetcher {
	t.Helper()
	f, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// TestContentGoesToTheStore: a source is streamed to a file of the store, not
// kept in memory, and reads back whole; Close removes the store.
func TestContentGoesToTheStore(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 10_000))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(content) }))
	defer ts.Close()
	f, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(content)
	b, err := f.Fetch(context.Background(), engine.DataFile{Name: "n", Version: "1", URL: ts.URL, Size: int64(len(content)), MD5: hex.EncodeToString(sum[:])})
	if err != nil || b.Fail != "" {
		t.Fatalf("%v %+v", err, b)
	}
	if b.Data != nil || b.Open == nil || b.Len() != int64(len(content)) {
		t.Fatalf("the content is not in the store: data %d bytes, len %d", len(b.Data), b.Len())
	}
	r, err := b.Reader()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != string(content) {
		t.Fatal("the stored content differs")
	}
	entries, _ := os.ReadDir(f.dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the store", len(entries))
	}
	f.Close()
	if _, err := os.Stat(f.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the store outlived Close: %v", err)
	}
}

// TestMismatchKeepsNothing: content that fails verification is not stored,
// and a declared size stops the download one byte past it.
func TestMismatchKeepsNothing(t *testing.T) {
	var sent atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 1000 {
			n, err := w.Write(make([]byte, 1024))
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer ts.Close()
	f := newFetcher(t, Options{})
	b, err := f.Fetch(context.Background(), engine.DataFile{Name: "n", Version: "1", URL: ts.URL, Size: 10})
	if err != nil || b.Fail != "size mismatch: expected 10 bytes, got more" {
		t.Fatalf("%v %+v", err, b)
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		t.Fatalf("%d files left in the store", len(entries))
	}
	// A declared size over the cap is refused before any download.
	b, err = f.Fetch(context.Background(), engine.DataFile{Name: "n2", Version: "1", URL: ts.URL + "/never", Size: DefaultMaxBytes + 1})
	if err != nil || !strings.Contains(b.Fail, "source declares") {
		t.Fatalf("%v %+v", err, b)
	}
}

// TestRacingPushesDownloadOnce: 50 callers of one data file share one download.
func TestRacingPushesDownloadOnce(t *testing.T) {
	var hits atomic.Int32
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		_, _ = io.WriteString(w, "ab")
	}))
	defer ts.Close()
	defer ts.CloseClientConnections()
	f := newFetcher(t, Options{})
	const n = 50
	var waiting sync.WaitGroup
	waiting.Add(n)
	f.joined = waiting.Done
	df := engine.DataFile{Name: "n", Version: "1", URL: ts.URL + "/n", Size: 2}
	blobs := make([]*engine.Blob, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := f.Fetch(context.Background(), df)
			if err != nil {
				t.Error(err)
			}
			blobs[i] = b
		})
	}
	waiting.Wait() // every caller waits on the download
	close(release)
	wg.Wait()
	if hits.Load() != 1 {
		t.Fatalf("%d downloads for %d racing pushes of one file", hits.Load(), n)
	}
	for _, b := range blobs {
		if b == nil || b != blobs[0] || b.Fail != "" {
			t.Fatalf("callers got different results: %+v %+v", b, blobs[0])
		}
	}
}

// TestBudgetCapsTheDownload: the engine's budget caps a download like MaxBytes.
func TestBudgetCapsTheDownload(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 100)) }))
	defer ts.Close()
	f := newFetcher(t, Options{})
	ctx := engine.WithFetchBudget(context.Background(), 50)
	b, err := f.Fetch(ctx, engine.DataFile{Name: "n", Version: "1", URL: ts.URL})
	if err != nil || !strings.Contains(b.Fail, "over the 50 bytes left of the account's fetched-data budget") {
		t.Fatalf("%v %+v", err, b)
	}
}

// TestRefusedAddresses: link-local and metadata addresses (unless allowed) and
// the mock's own listeners are refused; loopback is allowed.
func TestRefusedAddresses(t *testing.T) {
	f := newFetcher(t, Options{})
	f.Deny(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	f.Deny(&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000})
	allowLL := newFetcher(t, Options{AllowLinkLocal: true})
	allowLL.Deny(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	allowLL.Deny(&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000})
	for _, c := range []struct {
		addr     string
		refused  string // "" allowed
		allowLLs bool   // allowed with AllowLinkLocal
	}{
		{"127.0.0.1:80", "", true},
		{"[::1]:80", "", true},
		{"127.0.0.1:8080", "the mock's own listener", false},
		{"127.0.0.1:8081", "", true},
		{"127.0.0.1:9000", "the mock's own listener", false},
		{"[::1]:9000", "the mock's own listener", false},
		{"169.254.169.254:80", "link-local", true},
		{"169.254.1.1:443", "link-local", true},
		{"[fe80::1]:80", "link-local", true},
		{"100.100.100.200:80", "metadata", true},
		{"[fd00:ec2::254]:80", "metadata", true},
		{"[::ffff:169.254.169.254]:80", "link-local", true},
		{"10.0.0.1:80", "", true},
	} {
		ap := netip.MustParseAddrPort(c.addr)
		err := f.control("tcp", ap.String(), nil)
		if (c.refused == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.refused)) {
			t.Errorf("%s: %v, want refused=%q", c.addr, err, c.refused)
		}
		if err := allowLL.control("tcp", ap.String(), nil); (err == nil) != c.allowLLs {
			t.Errorf("%s with AllowLinkLocal: %v", c.addr, err)
		}
	}
}

// TestOwnListenerRefusedAtConnectTime: a name that resolves to the mock's own
// listener is refused when the connection is made (the dialer checks the
// resolved address, which defeats DNS rebinding); the source is never reached.
func TestOwnListenerRefusedAtConnectTime(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ts.Close()
	f := newFetcher(t, Options{})
	f.Deny(ts.Listener.Addr())
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	for _, u := range []string{ts.URL + "/_ensmock/state", "http://localhost:" + strconv.Itoa(port) + "/_ensmock/state"} {
		_, err := f.Fetch(context.Background(), engine.DataFile{Name: u, Version: "1", URL: u})
		if err == nil || !strings.Contains(err.Error(), "the mock's own listener") {
			t.Errorf("%s: %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the refused listener was reached %d times", hits.Load())
	}
}
