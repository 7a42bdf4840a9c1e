package fetch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
)

func TestVerify(t *testing.T) {
	tar := make([]byte, 512)
	copy(tar[257:], "ustar")
	cases := []struct {
		name string
		df   engine.DataFile
		data []byte
		want string
	}{
		{"raw anything", engine.DataFile{ArchiveType: "raw"}, []byte("x"), ""},
		{"absent type", engine.DataFile{}, []byte("x"), ""},
		{"gz", engine.DataFile{ArchiveType: "gz"}, []byte{0x1f, 0x8b, 1}, ""},
		{"tgz wrong", engine.DataFile{ArchiveType: "tgz"}, []byte("PK\x03\x04"), "archiveType tgz expected but content is not gzip"},
		{"zip", engine.DataFile{ArchiveType: "zip"}, []byte("PK\x03\x04..."), ""},
		{"tar", engine.DataFile{ArchiveType: "tar"}, tar, ""},
		{"short tar", engine.DataFile{ArchiveType: "tar"}, tar[:200], "archiveType tar expected but content is not a tar archive"},
		{"size", engine.DataFile{Size: 3}, []byte("ab"), "size mismatch: expected 3 bytes, got 2"},
		{"md5 placeholder never matches", engine.DataFile{MD5: "xxxx"}, []byte("ab"), "md5 mismatch: expected xxxx, got "},
		{"md5 case-insensitive", engine.DataFile{MD5: "187EF4436122D1CC2F40DC2B92F0EBA0"}, []byte("ab"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Verify(c.df, c.data, "187ef4436122d1cc2f40dc2b92f0eba0")
			if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
				t.Fatalf("%q, want %q", got, c.want)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("ab"))
		case "/big":
			_, _ = w.Write(make([]byte, 100))
		case "/stream":
			w.(http.Flusher).Flush()
			for range 100 {
				_, _ = w.Write(make([]byte, 10))
			}
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/500":
			w.WriteHeader(500)
		}
	}))
	defer ts.Close()
	defer close(release)
	f, err := New(Options{MaxBytes: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.unit = time.Millisecond // DataFile.Timeout 20 = 20ms: the hang returns quickly
	cases := []struct {
		path, fail, err string
		data            string
	}{
		{"/ok", "", "", "ab"},
		{"/big", "source is 100 bytes, over the 50-byte limit of the mock", "", ""},
		{"/stream", "source is over the 50-byte limit of the mock", "", ""},
		{"/500", "source answered HTTP 500", "", ""},
		{"/hang", "source download timed out after 20ms", "", ""},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			df := engine.DataFile{URL: ts.URL + c.path}
			if c.path == "/hang" {
				df.Timeout = 20 // 20ms; the other cases keep the default 60s, so a loaded machine cannot time them out
			}
			b, err := f.Fetch(context.Background(), df)
			if err != nil {
				t.Fatal(err)
			}
			var data []byte
			if b.Fail == "" {
				r, err := b.Reader()
				if err != nil {
					t.Fatal(err)
				}
				data, _ = io.ReadAll(r)
				r.Close()
			}
			if b.Fail != c.fail || string(data) != c.data {
				t.Fatalf("fail %q data %q", b.Fail, data)
			}
			if c.data != "" && b.MD5 != "187ef4436122d1cc2f40dc2b92f0eba0" {
				t.Fatalf("md5 %s", b.MD5)
			}
		})
	}
	// The caller going away is an error, not a verdict on the source.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Fetch(ctx, engine.DataFile{URL: ts.URL + "/hang", Timeout: 20}); err == nil {
		t.Fatal("cancelled fetch: no error")
	}
	for _, u := range []string{"ftp://127.0.0.1/x", "http:///nohost", "::bad"} {
		if _, err := f.Fetch(context.Background(), engine.DataFile{URL: u}); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
}
