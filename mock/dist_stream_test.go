package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"
)

// wholeDistAnswer renders a DescribeDataDistResult answer in one piece from
// the engine's DescribeDist, as the mock did before answers were written in
// parts: the reference the streamed answer must equal byte for byte.
func wholeDistAnswer(t *testing.T, s *Server, q engine.DistQuery, requestID string, f wire.Format) []byte {
	t.Helper()
	res, err := s.engine.DescribeDist("testid", q)
	if err != nil {
		t.Fatal(err)
	}
	resp := &describeDataDistResultResponse{RequestID: requestID, PageNumber: res.PageNumber, PageSize: res.PageSize, TotalCount: res.Total}
	if resp.PageSize == 0 {
		resp.PageSize = defaultPageSize
	}
	resp.DistResults.DistResult = make([]distStatus, len(res.Files))
	var starts, updates utcCache
	for i, fs := range res.Files {
		ds := &resp.DistResults.DistResult[i]
		ds.Name, ds.Version = fs.Name, fs.Version
		ds.StatusStats.StatusStat = make([]distStatusStat, len(fs.Stats))
		for j, st := range fs.Stats {
			ss := &ds.StatusStats.StatusStat[j]
			ss.Status, ss.InstanceCount = st.Status, strconv.Itoa(len(st.Instances))
			ss.Instances.Instance = make([]instanceStatus, len(st.Instances))
			for k, in := range st.Instances {
				ss.Instances.Instance[k] = instanceStatus{InstanceID: in.InstanceID, StartTime: starts.format(in.Start),
					StatusDescrip: in.Descrip, UpdateTime: updates.format(in.Update)}
			}
		}
	}
	var buf bytes.Buffer
	if err := wire.Encode(&buf, f, "DescribeDataDistResult", resp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDistAnswerIsWrittenInBoundedParts: a DescribeDataDistResult answer
// gathers at most one part of instance entries at a time and writes to the
// client before the last part is gathered once 32 KiB are ready (an unpaged answer may list every
// replica of the account, up to 2,000,000), and the answer written in parts
// is byte for byte the answer built whole, in JSON and XML, paged, unpaged
// and filtered, with files of several status groups split across parts.
func TestDistAnswerIsWrittenInBoundedParts(t *testing.T) {
	f := newFx(t, func(o *Options) { o.CheckResponses = false })
	regions := f.srv.Engine().Regions()
	r := f.api("CreateApplication", "Template", `{"appMetaData":{"appName":"big"},"resourceSelector":[{"count":240}]}`)
	app, _ := r.obj(t)["AppId"].(string)
	if r.status != 200 || app == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	push := f.api("PushApplicationData", "AppId", app, "Data",
		`[{"name":"a","version":"1","url":"u"},{"name":"b <&>\"","version":"1","url":"u"},{"name":"c","version":"1","url":"u"}]`)
	if push.status != 200 {
		t.Fatalf("push: %d %s", push.status, push.body)
	}
	f.advance("1m")
	dist := func(data, strategy string) {
		t.Helper()
		kv := []string{"AppId", app, "Data", data}
		if strategy != "" {
			kv = append(kv, "DistStrategy", strategy)
		}
		if r := f.api("DistApplicationData", kv...); r.status != 200 {
			t.Fatalf("dist: %d %s", r.status, r.body)
		}
	}
	canary := `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["` + regions[0] + `"]}}`
	dist(`[{"name":"a","version":"1"},{"name":"c","version":"1"}]`, canary)
	f.advance("1m")
	dist(`[{"name":"a","version":"1"},{"name":"b <&>\"","version":"1"}]`, "") // a: SUCCESS on the canary, DISTING elsewhere
	const chunk = 50
	distChunkOverride = chunk
	t.Cleanup(func() { distChunkOverride = 0 })

	one, _ := json.Marshal([]string{regions[1]})
	for _, c := range []struct {
		name    string
		kv      []string
		q       engine.DistQuery
		entries int
	}{
		{"unpaged", nil, engine.DistQuery{AppID: app, PageNumber: 1}, 240 + 240 + 30},
		{"page 2 of 1", []string{"PageNumber", "2", "PageSize", "1"}, engine.DistQuery{AppID: app, PageNumber: 2, PageSize: 1}, 30},
		{"one ENS node", []string{"EnsRegionIds", string(one)}, engine.DistQuery{AppID: app, PageNumber: 1, Regions: []string{regions[1]}}, 60},
	} {
		for _, format := range []string{"JSON", "XML"} {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				rec := httptest.NewRecorder()
				total, parts, writtenBeforeLast := 0, 0, 0
				distParts = func(n int) {
					if n > chunk || n < 1 {
						t.Errorf("a part of %d instances, want 1 to %d", n, chunk)
					}
					parts++
					total += n
					writtenBeforeLast = rec.Body.Len()
				}
				defer func() { distParts = nil }()
				q := url.Values{"Action": {"DescribeDataDistResult"}, "Version": {"2017-11-10"}, "Format": {format}, "AccessKeyId": {"testid"}, "AppId": {app}}
				for i := 0; i+1 < len(c.kv); i += 2 {
					q.Set(c.kv[i], c.kv[i+1])
				}
				f.srv.HTTPHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?"+q.Encode(), nil))
				if rec.Code != 200 || total != c.entries || parts < (c.entries+chunk-1)/chunk || (c.entries > 300 && writtenBeforeLast == 0) {
					t.Fatalf("status %d, %d instances in %d parts, %d bytes written before the last part: %.300s",
						rec.Code, total, parts, writtenBeforeLast, rec.Body.String())
				}
				wf := wire.XML
				if format == "JSON" {
					wf = wire.JSON
				}
				want := wholeDistAnswer(t, f.srv, c.q, rec.Header().Get("X-Acs-Request-Id"), wf)
				if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Fatalf("the answer in parts differs from the whole answer at byte %d:\n got %.200s\nwant %.200s", i, got[i:], want[i:])
				}
				if c.kv == nil && format == "JSON" && !strings.Contains(rec.Body.String(), `"Status":"DISTING"`) {
					t.Fatalf("no DISTING group: the case does not split a file's groups")
				}
			})
		}
	}
	if r := f.api("DescribeDataDistResult", "AppId", app, "PageNumber", "9", "PageSize", "10"); r.status != 200 ||
		fmt.Sprint(r.obj(t)["TotalCount"]) != "3" || !strings.Contains(string(r.body), `"DistResult":[]`) {
		t.Fatalf("a page past the end: %d %s", r.status, r.body)
	}
}
