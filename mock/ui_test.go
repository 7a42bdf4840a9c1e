package mock_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// uiMock is a mock whose app holds n data files (pushed straight to the engine),
// half of them finished.
func uiMock(tb testing.TB, n int, opts mock.Options) *mock.Server {
	tb.Helper()
	clk := clock.New(clock.Manual, 1, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	opts.NoListener, opts.Clock = true, clk
	srv, err := mock.NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	files := make([]engine.DataFile, 0, 1000)
	flush := func() {
		if _, err := srv.Engine().Push(context.Background(), "acct", "big-app", files, nil); err != nil {
			tb.Fatal(err)
		}
		files = files[:0]
	}
	for i := range n {
		files = append(files, engine.DataFile{Name: fmt.Sprintf("file-%05d", i), Version: "1.0", Size: 1 << 20, ArchiveType: "tar.gz"})
		if len(files) == cap(files) {
			flush()
		}
		if i == n/2 {
			flush()
			_ = clk.Advance(time.Hour)
		}
	}
	if len(files) > 0 {
		flush()
	}
	return srv
}

func get(tb testing.TB, h http.Handler, path string, header http.Header) (int, string) {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

// TestLiveViewServerSide: the page is served where the control plane is, with
// its token, renders without JavaScript, and pages 10,000 files.
func TestLiveViewServerSide(t *testing.T) {
	srv := uiMock(t, 10_000, mock.Options{})
	code, page := get(t, srv.HTTPHandler(), "/_ensmock/ui/?account=acct&app=big-app&page=100", nil)
	if code != 200 {
		t.Fatalf("GET /_ensmock/ui/: %d %s", code, page)
	}
	for _, want := range []string{"files 9901–10000 of 10000", "page 100 of 100", ">file-09999<", ">file-09900<", "⟳ pushing", "acct</span> / <span class=\"app\">big-app"} {
		if !strings.Contains(page, want) {
			t.Errorf("page 100 lacks %q", want)
		}
	}
	if strings.Contains(page, ">file-09899<") {
		t.Error("page 100 shows a file of page 99")
	}
	if n := strings.Count(page, `<tr><th scope="row"`); n != 100 {
		t.Errorf("%d rows on a page, want 100", n)
	}
	_, first := get(t, srv.HTTPHandler(), "/_ensmock/ui/?account=acct&app=big-app", nil)
	if !strings.Contains(first, "✓ success") || !strings.Contains(first, ">file-00000<") {
		t.Error("page 1 does not show the finished files")
	}
	if code, body := get(t, srv.HTTPHandler(), "/_ensmock/ui/grid?account=acct&app=big-app&page=2", nil); code != 200 || !strings.Contains(body, `"name":"file-00100"`) {
		t.Errorf("grid JSON: %d %.200s", code, body)
	}
	if code, _ := get(t, srv.HTTPHandler(), "/_ensmock/ui/static/ui.js", nil); code != 200 {
		t.Errorf("ui.js: %d", code)
	}
}

func TestLiveViewToken(t *testing.T) {
	srv := uiMock(t, 3, mock.Options{ControlToken: "tok"})
	h := srv.HTTPHandler()
	for _, c := range []struct {
		path   string
		header http.Header
		want   int
	}{
		{"/_ensmock/ui/", nil, 401},
		{"/_ensmock/ui/grid", nil, 401},
		{"/_ensmock/ui/?token=bad", nil, 401},
		{"/_ensmock/ui/", http.Header{"Authorization": {"Bearer bad"}}, 401},
		{"/_ensmock/ui/?token=tok", nil, 200},
		{"/_ensmock/ui/grid", http.Header{"Authorization": {"Bearer tok"}}, 200},
		{"/_ensmock/ui/static/ui.css", nil, 200}, // holds no data
	} {
		if code, body := get(t, h, c.path, c.header); code != c.want {
			t.Errorf("GET %s %v: %d, want %d (%.100s)", c.path, c.header, code, c.want, body)
		}
	}
	_, page := get(t, h, "/_ensmock/ui/?token=tok&account=acct&app=big-app", nil)
	if !strings.Contains(page, `href="/_ensmock/ui/?account=acct&amp;app=big-app&amp;token=tok"`) {
		t.Error("the page's links do not keep the token")
	}
}

// TestLiveViewGuard: the live view refuses what the control plane refuses: a
// Host the mock does not answer to (DNS rebinding) and another site's Origin.
func TestLiveViewGuard(t *testing.T) {
	srv := uiMock(t, 3, mock.Options{})
	for _, c := range []struct {
		host, origin string
		want         int
	}{
		{"127.0.0.1:8080", "", 200},
		{"localhost:8080", "http://localhost:8080", 200},
		{"evil.example.com", "", 403},
		{"127.0.0.1:8080", "http://evil.example.com", 403},
	} {
		r := httptest.NewRequest(http.MethodGet, "/_ensmock/ui/grid", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		srv.HTTPHandler().ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("Host %q Origin %q: %d, want %d", c.host, c.origin, w.Code, c.want)
		}
	}
}

// TestLiveViewControlSeparate: with the control plane on its own listener, the
// live view goes with it and the API listener does not serve it.
func TestLiveViewControlSeparate(t *testing.T) {
	srv := uiMock(t, 3, mock.Options{ControlSeparate: true})
	if code, _ := get(t, srv.HTTPHandler(), "/_ensmock/ui/", nil); code != 404 {
		t.Errorf("the API handler serves the live view: %d", code)
	}
	if code, page := get(t, srv.ControlHandler(), "/_ensmock/ui/", nil); code != 200 || !strings.Contains(page, "big-app") {
		t.Errorf("the control handler does not serve the live view: %d", code)
	}
	if code, _ := get(t, srv.ControlHandler(), "/_ensmock/clock", nil); code != 200 {
		t.Errorf("the control handler lost the control plane: %d", code)
	}
}

// BenchmarkLiveView renders the live view of an app with 10,000 data files
// (one page of 100, server-side); the target is well under 100 ms.
func BenchmarkLiveView(b *testing.B) {
	srv := uiMock(b, 10_000, mock.Options{})
	h := srv.HTTPHandler()
	for _, path := range []string{"/_ensmock/ui/?account=acct&app=big-app", "/_ensmock/ui/?account=acct&app=big-app&page=100", "/_ensmock/ui/grid?account=acct&app=big-app&page=50"} {
		name := strings.TrimPrefix(path, "/_ensmock/ui/")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil))
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
