package mock

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// source serves files from memory on a loopback httptest server and counts hits.
type source struct {
	ts    *httptest.Server
	files map[string][]byte
	hits  map[string]int
}

func newSource(t *testing.T, files map[string][]byte) *source {
	s := &source{files: files, hits: map[string]int{}}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits[r.URL.Path]++
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.ts.Close)
	return s
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

var gzipBytes = append([]byte{0x1f, 0x8b, 0x08, 0x00}, bytes.Repeat([]byte("payload "), 100)...)

func item(name, u string, size int, md5sum, archive string) string {
	if archive == "" {
		archive = "raw"
	}
	return fmt.Sprintf(`[{"name":%q,"version":"1","size":%d,"md5":%q,"archiveType":%q,"url":%q}]`, name, size, md5sum, archive, u)
}

// download resolves a DescribeDataDownloadURL link and GETs it (in-process).
func (f *fx) downloadLink(name string) string {
	f.t.Helper()
	r := f.api("DescribeDataDownloadURL", "AppId", fxApp, "DataName", name, "DataVersion", "1")
	if r.status != 200 {
		f.t.Fatalf("download url: %d %s", r.status, r.body)
	}
	d := r.obj(f.t)["Data"].(map[string]any)
	if len(d["ServerList"].([]any)) == 0 {
		f.t.Fatalf("no file server holds %s: %s", name, r.body)
	}
	return d["Url"].(string)
}

func (f *fx) get(link string) (int, []byte, http.Header) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", "http://127.0.0.1"+link, nil)
	r := f.send(req)
	return r.status, r.body, r.header
}

func TestDownloadReturnsTheExactBytes(t *testing.T) {
	src := newSource(t, map[string][]byte{"/app.tar.gz": gzipBytes})
	cases := []struct {
		name, source string
		size         int
		want         []byte
		content      string
	}{
		{"fetched", SourceFetch, len(gzipBytes), gzipBytes, "fetched"},
		{"simulated", SourceSimulate, 5000, nil, "simulated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, func(o *Options) { o.Source = c.source })
			want := c.want
			if want == nil {
				want, _ = io.ReadAll(io.LimitReader(syntheticContent("app.tar.gz", "1"), int64(c.size)))
			}
			if code, why := f.pushCode(item("app.tar.gz", src.ts.URL+"/app.tar.gz", c.size, md5hex(want), "tar.gz"), ""); code != 0 {
				t.Fatalf("push: %d %s", code, why)
			}
			f.advance("1m")
			link := f.downloadLink("app.tar.gz")
			status, got, hdr := f.get(link)
			if status != 200 || !bytes.Equal(got, want) || hdr.Get("X-Ensmock-Content") != c.content {
				t.Fatalf("download: %d %q, %d bytes", status, hdr.Get("X-Ensmock-Content"), len(got))
			}
			tampered := strings.Replace(link, "/1?", "/2?", 1)
			if status, _, _ := f.get(tampered); status != 403 {
				t.Fatalf("tampered link: %d", status)
			}
			f.advance("61m")
			if status, body, _ := f.get(link); status != 403 || !strings.Contains(string(body), "expired") {
				t.Fatalf("expired link: %d %s", status, body)
			}
		})
	}
	if src.hits["/app.tar.gz"] != 1 {
		t.Fatalf("the source was fetched %d times, want once (fetch mode only)", src.hits["/app.tar.gz"])
	}
}

func TestFetchModeFailuresAreVisible(t *testing.T) {
	zipBytes := []byte("PK\x03\x04rest of a zip")
	src := newSource(t, map[string][]byte{"/good.tgz": gzipBytes, "/plain.txt": []byte("hello world!"), "/z.zip": zipBytes})
	u := src.ts.URL
	cases := []struct {
		name, data string
		descrip    string
	}{ // each data file is named after the first word of its case
		{"md5 mismatch", item("md5", u+"/good.tgz", 0, "0123456789abcdef0123456789abcdef", "tgz"),
			"md5 mismatch: expected 0123456789abcdef0123456789abcdef, got " + md5hex(gzipBytes)},
		{"size mismatch", item("size", u+"/plain.txt", 100, "", "raw"), "size mismatch: expected 100 bytes, got 12"},
		{"http error", item("http", u+"/missing", 0, "", ""), "source answered HTTP 404"},
		{"not gzip", item("not", u+"/plain.txt", 12, md5hex([]byte("hello world!")), "tar.gz"), "archiveType tar.gz expected but content is not gzip"},
		{"zip", item("zip", u+"/plain.txt", 0, "", "zip"), "archiveType zip expected but content is not a zip archive"},
		{"tar", item("tar", u+"/z.zip", 0, "", "tar"), "archiveType tar expected but content is not a tar archive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, func(o *Options) { o.Source = SourceFetch })
			if code, why := f.pushCode(c.data, ""); code != 0 {
				t.Fatalf("push: %d %s", code, why)
			}
			f.advance("1m")
			regions := f.regions(strings.Fields(c.name)[0])
			if len(regions) != 8 {
				t.Fatalf("regions: %v", regions)
			}
			for region, st := range regions {
				if st[0] != "FAILED" || st[1] != c.descrip {
					t.Fatalf("%s: %v, want FAILED %q", region, st, c.descrip)
				}
			}
			// A push again restarts, and fails again the same way (the content is cached).
			if code, _ := f.pushCode(c.data, ""); code != 0 {
				t.Fatalf("retry: %d", code)
			}
		})
	}
	// Matching content in fetch mode succeeds.
	f := newFx(t, func(o *Options) { o.Source = SourceFetch })
	if code, why := f.pushCode(item("ok", u+"/z.zip", len(zipBytes), strings.ToUpper(md5hex(zipBytes)), "zip"), ""); code != 0 {
		t.Fatal(code, why)
	}
	f.advance("1m")
	for region, st := range f.regions("ok") {
		if st[0] != "SUCCESS" {
			t.Fatalf("%s: %v", region, st)
		}
	}
}

func TestFetchModeUnreachableSourceIs300(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/gone.tar.gz"
	ln.Close() // nothing listens there any more: connection refused
	cases := []struct{ name, url, want string }{
		{"connection refused", dead, "data source unreachable: " + dead},
		{"not http", "ftp://127.0.0.1/x", "only http and https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, func(o *Options) { o.Source = SourceFetch })
			code, why := f.pushCode(item("u", c.url, 0, "", ""), "")
			if code != 300 || !strings.Contains(why, c.want) {
				t.Fatalf("push: %d %q, want 300 with %q", code, why, c.want)
			}
			if st := f.ctl("GET", "/_ensmock/state?account=testid", ""); strings.Contains(string(st.body), `"name"`) {
				t.Fatalf("a refused push left a data file: %s", st.body)
			}
		})
	}
}

func TestFetchMaxBytes(t *testing.T) {
	src := newSource(t, map[string][]byte{"/big": bytes.Repeat([]byte("b"), 2048)})
	f := newFx(t, func(o *Options) { o.Source, o.FetchMaxBytes = SourceFetch, 1024 })
	if code, _ := f.pushCode(item("big", src.ts.URL+"/big", 0, "", ""), ""); code != 0 {
		t.Fatal(code)
	}
	f.advance("1m")
	for _, st := range f.regions("big") {
		if st[0] != "FAILED" || !strings.Contains(st[1], "1024-byte limit") {
			t.Fatalf("%v", st)
		}
	}
}

func TestBadSourceOption(t *testing.T) {
	if _, err := NewServer(Options{NoListener: true, Source: "download"}); err == nil || !strings.Contains(err.Error(), "source") {
		t.Fatalf("err %v", err)
	}
}

// TestDownloadLinksForDotNames: data files named "." and ".." (and names that
// merely contain dots or slashes) get links that work from a real HTTP client,
// with no redirect to a cleaned path.
func TestDownloadLinksForDotNames(t *testing.T) {
	f := newFx(t, func(o *Options) { o.NoListener = false })
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, name := range []string{".", "..", "./..", "a/../b", "%2E", "..%2F", " . "} {
		if code, why := f.pushCode(item(name, "http://127.0.0.1/x", 300, "", "raw"), ""); code != 0 {
			t.Fatalf("push %q: %d %s", name, code, why)
		}
		f.advance("1m")
		link := f.downloadLink(name)
		want, _ := io.ReadAll(io.LimitReader(syntheticContent(name, "1"), 300))
		for _, how := range []string{"in-process", "loopback"} {
			var status int
			var body []byte
			if how == "in-process" {
				status, body, _ = f.get(link)
			} else {
				resp, err := client.Get(f.srv.URL() + link)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			if status != 200 || !bytes.Equal(body, want) {
				t.Fatalf("%s %q via %s: %d %q", link, name, how, status, body)
			}
		}
	}
}

// TestSyntheticDownloadsAreCapped: a declared size beyond the synthetic cap is
// announced in full but served only up to the cap, then the connection closes,
// so the client sees a short body, not a complete-looking file.
func TestSyntheticDownloadsAreCapped(t *testing.T) {
	defer func(old int64) { maxSynthetic = old }(maxSynthetic)
	maxSynthetic = 1000
	f := newFx(t, func(o *Options) { o.NoListener = false })
	if code, why := f.pushCode(item("big", "http://127.0.0.1/x", 50<<30, "", "raw"), ""); code != 0 {
		t.Fatalf("push: %d %s", code, why)
	}
	f.advance("100h")
	link := f.downloadLink("big")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(f.srv.URL() + link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.ContentLength != 50<<30 || len(body) != 1000 || err == nil {
		t.Fatalf("status %d, Content-Length %d, %d bytes read, err %v", resp.StatusCode, resp.ContentLength, len(body), err)
	}
	if w := resp.Header.Get("X-Ensmock-Warning"); !strings.Contains(w, "at most 1000 bytes") {
		t.Fatalf("warning %q", w)
	}
}
