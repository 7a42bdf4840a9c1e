package mock

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"
)

// expectedDescribe is the describe answer built whole, from engine.Describe,
// as the mock built it before answers were written in parts.
func expectedDescribe(t *testing.T, f *fx, q engine.DescribeQuery, format wire.Format) []byte {
	t.Helper()
	res, err := f.srv.Engine().Describe("testid", q)
	if err != nil {
		t.Fatal(err)
	}
	resp := &describeDataPushResultResponse{RequestID: "RID", PageNumber: res.PageNumber, PageSize: res.PageSize, TotalCount: res.Total}
	if resp.PageSize == 0 {
		resp.PageSize = 10
	}
	resp.PushResults.PushResult = make([]pushStatus, len(res.Files))
	var starts, updates utcCache
	for i := range res.Files {
		fillPushStatus(&resp.PushResults.PushResult[i], &res.Files[i], &starts, &updates)
	}
	var buf bytes.Buffer
	if err := wire.Encode(&buf, format, "DescribeDataPushResult", resp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var requestIDs = regexp.MustCompile(`[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}`)

// TestDescribeInPartsIsTheWholeAnswer: the answer written in parts is byte for
// byte the answer built whole, in JSON and XML, paged or not, filtered or not,
// with parts of a few files.
func TestDescribeInPartsIsTheWholeAnswer(t *testing.T) {
	f := newFx(t, nil)
	var items []string
	for i := range 23 {
		items = append(items, fmt.Sprintf(`{"name":"f%02d","version":"%d","url":"u","size":%d}`, i, i%3, i<<20))
	}
	f.push("["+strings.Join(items, ",")+"]", "")
	f.push(`[{"name":"x","version":"1","url":"u"}]`, `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`)
	f.advance("3s") // some finished, some pushing
	for _, c := range []struct {
		kv []string
		q  engine.DescribeQuery
	}{
		{nil, engine.DescribeQuery{}},
		{[]string{"PageNumber", "2", "PageSize", "7"}, engine.DescribeQuery{PageNumber: 2, PageSize: 7}},
		{[]string{"PageNumber", "9", "PageSize", "7"}, engine.DescribeQuery{PageNumber: 9, PageSize: 7}},
		{[]string{"DataVersions", "1"}, engine.DescribeQuery{Versions: []string{"1"}}},
		{[]string{"DataNames", "f03,f07,x", "RegionIds", "cn-wuxi-5"}, engine.DescribeQuery{Names: []string{"f03", "f07", "x"}, Regions: []string{"cn-wuxi-5"}}},
		{[]string{"DataVersions", "2", "PageNumber", "2", "PageSize", "3"}, engine.DescribeQuery{Versions: []string{"2"}, PageNumber: 2, PageSize: 3}},
	} {
		for _, format := range []wire.Format{wire.JSON, wire.XML} {
			name := fmt.Sprint(c.kv, format)
			q := c.q
			q.AppID = fxApp
			want := expectedDescribe(t, f, q, format)
			kv := append([]string{"AppId", fxApp}, c.kv...)
			if format == wire.XML {
				kv = append(kv, "Format", "XML")
			}
			parts := 0
			describeParts = func(n int) {
				parts++
				if n > 4 {
					t.Errorf("%s: a part of %d files, want at most 4", name, n)
				}
			}
			old := describeChunkOverride
			describeChunkOverride = 4
			r := f.api("DescribeDataPushResult", kv...)
			describeChunkOverride, describeParts = old, nil
			got := requestIDs.ReplaceAll(r.body, []byte("RID"))
			if r.status != 200 || !bytes.Equal(got, want) {
				t.Fatalf("%s: %d\n got %s\nwant %s", name, r.status, got, want)
			}
		}
	}
}

// TestDescribeAnswerIsWrittenInBoundedParts: an unpaged describe of 5,000
// files gathers at most one part of files at a time, and writes to the
// client before the last part is gathered: the memory of an answer is bounded
// by a part, not by the number of files (issue: 1M files made a 1.19 GB answer).
func TestDescribeAnswerIsWrittenInBoundedParts(t *testing.T) {
	f := newFx(t, func(o *Options) { o.CheckResponses = false })
	for b := range 50 {
		items := make([]string, 100)
		for i := range items {
			items[i] = fmt.Sprintf(`{"name":"f%d-%d","version":"1","url":"u"}`, b, i)
		}
		f.push("["+strings.Join(items, ",")+"]", "")
	}
	limit := describeChunkEntries / len(f.srv.Engine().Regions())
	for _, kv := range [][]string{nil, {"PageSize", "4500", "PageNumber", "1"}} {
		rec := httptest.NewRecorder()
		total, parts, writtenBeforeLast := 0, 0, 0
		describeParts = func(n int) {
			if n > limit {
				t.Errorf("a part of %d files, want at most %d", n, limit)
			}
			parts++
			total += n
			writtenBeforeLast = rec.Body.Len()
		}
		q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {fxApp}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		req := httptest.NewRequest(http.MethodGet, "/?"+q.Encode(), nil)
		f.srv.HTTPHandler().ServeHTTP(rec, req)
		describeParts = nil
		want := 5000
		if kv != nil {
			want = 4500
		}
		if rec.Code != 200 || total != want || parts < 3 || writtenBeforeLast == 0 {
			t.Fatalf("%v: status %d, %d files in %d parts, %d bytes written before the last part", kv, rec.Code, total, parts, writtenBeforeLast)
		}
		if n := strings.Count(rec.Body.String(), `"Name":`); n != want {
			t.Fatalf("%v: %d files in the answer, want %d", kv, n, want)
		}
	}
}

// countingWriter is an http.ResponseWriter that keeps only the byte count.
type countingWriter struct {
	h      http.Header
	code   int
	n      int64
	writes int
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(c int)   { w.code = c }
func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.writes++
	return len(b), nil
}

// TestHostileDescribeMillionFiles is the long variant (ENSMOCK_HOSTILE=1, make
// hostile): an unpaged describe of 1,000,000 files (a ~1 GB answer) keeps the
// heap within 256 MiB of what the state itself holds.
func TestHostileDescribeMillionFiles(t *testing.T) {
	if os.Getenv("ENSMOCK_HOSTILE") == "" {
		t.Skip("long variant: set ENSMOCK_HOSTILE=1 (make hostile)")
	}
	f := newFx(t, func(o *Options) { o.CheckResponses = false })
	eng := f.srv.Engine()
	files := make([]engine.DataFile, 100)
	for b := range 10_000 {
		for i := range files {
			files[i] = engine.DataFile{Name: fmt.Sprintf("f%d-%d", b, i), Version: "1", URL: "u"}
		}
		if _, err := eng.Push(context.Background(), "testid", fxApp, files, nil); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	parts := 0
	describeParts = func(int) {
		if parts++; parts%25 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	defer func() { describeParts = nil }()
	w := &countingWriter{h: http.Header{}}
	q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {fxApp}}
	f.srv.HTTPHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?"+q.Encode(), nil))
	if w.code != 200 || w.n < 500<<20 {
		t.Fatalf("status %d, %d bytes", w.code, w.n)
	}
	if grew := int64(peak) - int64(base); grew > 256<<20 {
		t.Fatalf("the heap grew by %d MiB while answering (%d MiB written)", grew>>20, w.n>>20)
	}
	t.Logf("%d MiB answered in %d writes; heap grew at most %d MiB", w.n>>20, w.writes, (int64(peak)-int64(base))>>20)
}
