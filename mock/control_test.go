package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
	"gopkg.in/yaml.v3"
)

func TestHealthAndUnknownEndpoints(t *testing.T) {
	f := newFx(t, nil)
	h := f.mustCtl(200, "GET", "/_ensmock/health", "")
	if h["status"] != "ok" || h["now"] != "2024-03-01T00:00:00Z" {
		t.Fatalf("health: %v", h)
	}
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/_ensmock/nope", 404},
		{"PUT", "/_ensmock/faults", 405},
		{"GET", "/_ensmock/reset", 405},
		{"DELETE", "/_ensmock/faults/nope", 404},
	}
	for _, c := range cases {
		r := f.ctl(c.method, c.path, "")
		if r.status != c.status || r.obj(t)["error"] == nil || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestControlToken(t *testing.T) {
	f := newFx(t, func(o *Options) { o.ControlToken = "s3cret" })
	cases := []struct {
		path, auth string
		status     int
	}{
		{"/_ensmock/health", "", 200},
		{"/_ensmock/state", "", 401},
		{"/_ensmock/faults", "Bearer wrong", 401},
		{"/_ensmock/clock", "s3cret", 401},
		{"/_ensmock/requests", "Bearer s3cret", 200},
		{"/_ensmock/clock", "Bearer s3cret", 200},
	}
	for _, c := range cases {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		r := f.ctl("GET", c.path, "", hdr...)
		if r.status != c.status {
			t.Errorf("%s with %q: %d %s", c.path, c.auth, r.status, r.body)
		}
		if r.status == 401 && (r.header.Get("WWW-Authenticate") == "" || r.obj(t)["error"] == nil) {
			t.Errorf("401 without WWW-Authenticate or error body: %s", r.body)
		}
	}
}

func TestControlSeparateListener(t *testing.T) {
	f := newFx(t, func(o *Options) { o.ControlSeparate = true })
	if r := f.ctl("GET", "/_ensmock/health", ""); r.status != 200 {
		t.Fatalf("health on the API listener: %d", r.status)
	}
	if r := f.ctl("GET", "/_ensmock/faults", ""); r.status != 404 {
		t.Fatalf("faults on the API listener: %d %s", r.status, r.body)
	}
	ts := httptest.NewServer(f.srv.ControlHandler())
	defer ts.Close()
	resp, err := testClient.Post(ts.URL+"/_ensmock/clock/advance", "application/json", strings.NewReader(`{"by":"1m"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !f.clk.Now().Equal(fxStart.Add(time.Minute)) {
		t.Fatalf("advance on the control listener: %d, now %s", resp.StatusCode, f.clk.Now())
	}
}

func TestClockEndpoints(t *testing.T) {
	f := newFx(t, nil)
	cases := []struct {
		method, path, body string
		status             int
		mode               string
		speed              float64
		now                string
	}{
		{"GET", "/_ensmock/clock", "", 200, "manual", 1, "2024-03-01T00:00:00Z"},
		{"POST", "/_ensmock/clock/advance", `{"by":"90s"}`, 200, "manual", 1, "2024-03-01T00:01:30Z"},
		{"POST", "/_ensmock/clock/advance", `{"by":"-1s"}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock/advance", `{"by":"soon"}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock/advance", `{}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock", `{"now":"2025-01-02T03:04:05Z"}`, 200, "manual", 1, "2025-01-02T03:04:05Z"},
		{"POST", "/_ensmock/clock", `{"mode":"manual","speed":60}`, 200, "manual", 60, "2025-01-02T03:04:05Z"},
		{"POST", "/_ensmock/clock", `{"mode":"sideways"}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock", `{"speed":-2}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock", `{"tick":1}`, 400, "", 0, ""},
		{"POST", "/_ensmock/clock", `{"mode":"manual"}`, 200, "manual", 60, "2025-01-02T03:04:05Z"},
	}
	for _, c := range cases {
		r := f.ctl(c.method, c.path, c.body)
		m := r.obj(t)
		if r.status != c.status {
			t.Fatalf("%s %s: %d %s", c.path, c.body, r.status, r.body)
		}
		if c.status != 200 {
			if m["error"] == nil {
				t.Fatalf("no error: %s", r.body)
			}
			continue
		}
		if m["mode"] != c.mode || m["speed"] != c.speed || m["now"] != c.now {
			t.Fatalf("%s %s: %v", c.path, c.body, m)
		}
	}
}

func TestResetIsolatesAccounts(t *testing.T) {
	creds := append(DefaultCredentials(), Credential{AccessKeyID: "other-key", AccessKeySecret: "x", Account: "team-b"})
	f := newFx(t, func(o *Options) { o.Credentials = creds })
	pushAs := func(key string) {
		q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {key},
			"AppId": {fxApp}, "Data": {file("shared", "")}}
		req, _ := http.NewRequest("GET", "http://127.0.0.1/?"+q.Encode(), nil)
		if r := f.send(req); r.status != 200 {
			t.Fatalf("push as %s: %d %s", key, r.status, r.body)
		}
	}
	files := func(query string) int {
		st := f.mustCtl(200, "GET", "/_ensmock/state"+query, "")
		n := 0
		for _, a := range st["accounts"].([]any) {
			for _, p := range a.(map[string]any)["apps"].([]any) {
				n += len(p.(map[string]any)["files"].([]any))
			}
		}
		return n
	}
	cases := []struct {
		reset         string
		testid, teamB int
	}{
		{"?account=testid", 0, 1},
		{"?accessKeyId=other-key", 1, 0},
		{"", 0, 0},
	}
	for _, c := range cases {
		pushAs("testid")
		pushAs("other-key")
		if files("?account=testid") != 1 || files("?accessKeyId=other-key") != 1 || files("") != 2 {
			t.Fatalf("before reset%s: %d/%d", c.reset, files("?account=testid"), files("?account=team-b"))
		}
		f.mustCtl(200, "POST", "/_ensmock/reset"+c.reset, "")
		if a, b := files("?account=testid"), files("?account=team-b"); a != c.testid || b != c.teamB {
			t.Fatalf("after reset%s: testid %d, team-b %d", c.reset, a, b)
		}
		f.mustCtl(200, "POST", "/_ensmock/reset", "")
	}
	// With auth off an unknown key is the default account, as on the API.
	if r := f.mustCtl(200, "POST", "/_ensmock/reset?accessKeyId=nobody", ""); r["account"] != DefaultAccount {
		t.Fatalf("unknown key with auth off: %v", r)
	}
	// The journal survives a reset.
	if n := len(f.srv.Requests(control.Filter{Action: "PushApplicationData"})); n != 6 {
		t.Fatalf("journal after resets: %d pushes", n)
	}
}

func TestStrictAppsThroughControlPlane(t *testing.T) {
	f := newFx(t, func(o *Options) { o.StrictApps = true })
	if r := f.api("PushApplicationData", "AppId", fxApp, "Data", file("a", "")); r.status != 400 || r.obj(t)["Code"] != "InvalidParameter.AppId" {
		t.Fatalf("unregistered app: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"appId":"x"}`, `{"account":"testid"}`, `{"account":"a","accessKeyId":"testid","appId":"x"}`, `{"account":"testid","appId":"x","extra":1}`} {
		if r := f.ctl("POST", "/_ensmock/apps", bad); r.status != 400 {
			t.Fatalf("%s: %d %s", bad, r.status, r.body)
		}
	}
	got := f.mustCtl(201, "POST", "/_ensmock/apps", fmt.Sprintf(`{"accessKeyId":"testid","appId":%q}`, fxApp))
	if got["account"] != "testid" || got["appId"] != fxApp {
		t.Fatalf("created %v", got)
	}
	if code, _ := f.pushCode(file("a", ""), ""); code != 0 {
		t.Fatalf("push to a registered app: %d", code)
	}
	apps := f.mustCtl(200, "GET", "/_ensmock/apps?account=testid", "")["apps"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["appId"] != fxApp {
		t.Fatalf("apps: %v", apps)
	}
	if apps := f.mustCtl(200, "GET", "/_ensmock/apps?account=nobody", "")["apps"].([]any); len(apps) != 0 {
		t.Fatalf("apps of another account: %v", apps)
	}
}

func TestJournalRecordsEveryRequest(t *testing.T) {
	f := newFx(t, func(o *Options) { o.AuthOff = false })
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {fxApp}, "Data": {file("j", "")}}
	signature.SignV1("GET", q, "testid", "testsecret", "nonce-1", fxStart)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/?"+q.Encode(), nil)
	if r := f.send(req); r.status != 200 {
		t.Fatalf("signed push: %d %s", r.status, r.body)
	}
	f.api("DescribeDataPushResult", "AppId", fxApp) // unsigned: MissingParameter
	f.ctl("GET", "/?Action=Nope&Version=2017-11-10&Format=JSON", "")
	f.advance("1s")

	all := f.mustCtl(200, "GET", "/_ensmock/requests", "")
	reqs := all["requests"].([]any)
	if len(reqs) != 3 || all["length"] != 3.0 || all["capacity"] != 1000.0 {
		t.Fatalf("journal: %s", f.ctl("GET", "/_ensmock/requests", "").body)
	}
	newest, oldest := reqs[0].(map[string]any), reqs[2].(map[string]any)
	if newest["action"] != "Nope" || newest["httpStatus"] != 404.0 || newest["errorCode"] != "InvalidAction.NotFound" {
		t.Fatalf("newest: %v", newest)
	}
	params := oldest["params"].(map[string]any)
	if oldest["action"] != "PushApplicationData" || oldest["account"] != "testid" || oldest["httpStatus"] != 200.0 ||
		fmt.Sprint(oldest["resultCodes"]) != "[0]" || params["Signature"] != "REDACTED" || params["AppId"] != fxApp ||
		oldest["method"] != "GET" || oldest["time"] != "2024-03-01T00:00:00Z" || oldest["requestId"] == "" || oldest["latency"] == "" {
		t.Fatalf("oldest: %v", oldest)
	}
	cases := []struct {
		query string
		n     int
	}{
		{"?action=PushApplicationData", 1},
		{"?status=400", 1},
		{"?code=MissingParameter", 1},
		{"?account=testid", 2}, // the unsigned request names testid's key
		{"?accessKeyId=testid", 2},
		{"?limit=2", 2},
		{"?status=200&action=DescribeDataPushResult", 0},
	}
	for _, c := range cases {
		if got := f.mustCtl(200, "GET", "/_ensmock/requests"+c.query, "")["requests"].([]any); len(got) != c.n {
			t.Errorf("%s: %d entries, want %d", c.query, len(got), c.n)
		}
	}
	for _, bad := range []string{"?limit=x", "?status=-1", "?accessKeyId=nobody", "?account=a&accessKeyId=testid"} {
		if r := f.ctl("GET", "/_ensmock/requests"+bad, ""); r.status != 400 || r.obj(t)["error"] == nil {
			t.Fatalf("%s: %d %s", bad, r.status, r.body)
		}
	}
	f.mustCtl(200, "DELETE", "/_ensmock/requests", "")
	if got := f.mustCtl(200, "GET", "/_ensmock/requests", "")["requests"].([]any); len(got) != 0 {
		t.Fatalf("after clear: %d", len(got))
	}
}

// TestJournalStaysBoundedUnderFlood guards the memory bound: 10,000 requests,
// the journal holds its capacity and no more, newest first.
func TestJournalStaysBoundedUnderFlood(t *testing.T) {
	for _, size := range []int{0, 50} {
		t.Run(fmt.Sprint("size=", size), func(t *testing.T) {
			f := newFx(t, func(o *Options) { o.JournalSize = size })
			h := f.srv.HTTPHandler()
			big := strings.Repeat("x", 16<<10)
			for i := range 10_000 {
				action, junk := "Nope", "" // mostly cheap errors; every tenth a full describe, every 100th with 16 KiB of junk
				if i%10 == 0 {
					action = "DescribeDataPushResult"
				}
				if i%100 == 0 {
					junk = big
				}
				q := fmt.Sprintf("/?Action=%s&Version=2017-11-10&Format=JSON&AppId=a%d&Junk=%s", action, i, junk)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", q, nil))
			}
			want := size
			if want == 0 {
				want = control.DefaultJournalSize
			}
			j := f.srv.journal
			list := j.List(control.Filter{})
			if j.Len() != want || j.Cap() != want || len(list) != want {
				t.Fatalf("journal length %d cap %d listed %d, want %d", j.Len(), j.Cap(), len(list), want)
			}
			if list[0].Params["AppId"] != "a9999" || list[want-1].Params["AppId"] != fmt.Sprint("a", 10_000-want) {
				t.Fatalf("order: newest %v, oldest %v", list[0].Params["AppId"], list[want-1].Params["AppId"])
			}
			if got := len(j.List(control.Filter{Action: "DescribeDataPushResult", Status: 200})); got != want/10 {
				t.Fatalf("%d successful describes in the journal, want %d", got, want/10)
			}
			for _, e := range list {
				if len(e.Params["Junk"]) > 4200 {
					t.Fatalf("a journal entry keeps %d bytes of one parameter", len(e.Params["Junk"]))
				}
			}
		})
	}
}

// The clock only moves forward: a past "now" is a 400 naming the current time
// and changes nothing (mode and speed given with it neither).
func TestClockRefusesThePast(t *testing.T) {
	f := newFx(t, nil)
	f.advance("1h")
	r := f.ctl("POST", "/_ensmock/clock", `{"now":"2024-03-01T00:30:00Z","mode":"real","speed":5}`)
	msg, _ := r.obj(t)["error"].(string)
	if r.status != 400 || !strings.Contains(msg, "2024-03-01T01:00:00Z") || !strings.Contains(msg, "only moves forward") {
		t.Fatalf("past now: %d %s", r.status, r.body)
	}
	if st := f.clk.State(); st.Mode != "manual" || st.Speed != 1 || !st.Now.Equal(fxStart.Add(time.Hour)) {
		t.Fatalf("a refused change moved the clock: %+v", st)
	}
	for _, body := range []string{`{"speed":0}`, `{"speed":1e7}`, `{"speed":-1}`} {
		if r := f.ctl("POST", "/_ensmock/clock", body); r.status != 400 {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	f.mustCtl(200, "POST", "/_ensmock/clock", `{"now":"2024-03-01T01:00:00Z"}`) // the current time itself is fine
}

// POST /_ensmock/clock/reset puts the clock back to the machine's time, speed 1,
// in the mode asked for (default: the current one), and answers like GET /_ensmock/clock.
func TestClockReset(t *testing.T) {
	wall := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewWithWall(clock.Manual, 0, fxStart, func() time.Time { return wall })
	f := newFx(t, func(o *Options) { o.Clock = clk })
	f.clk = clk
	f.advance("2h")
	f.mustCtl(200, "POST", "/_ensmock/clock", `{"speed":60}`)
	got := f.mustCtl(200, "POST", "/_ensmock/clock/reset", "")
	if got["mode"] != "manual" || got["speed"] != 1.0 || got["now"] != "2026-05-01T12:00:00Z" {
		t.Fatalf("reset: %v", got)
	}
	if g := f.mustCtl(200, "GET", "/_ensmock/clock", ""); fmt.Sprint(g) != fmt.Sprint(got) {
		t.Fatalf("GET after reset %v, reset answered %v", g, got)
	}
	got = f.mustCtl(200, "POST", "/_ensmock/clock/reset", `{"mode":"real"}`)
	wall = wall.Add(3 * time.Second)
	if got["mode"] != "real" || !clk.Now().Equal(time.Date(2026, 5, 1, 12, 0, 3, 0, time.UTC)) {
		t.Fatalf("reset to real: %v, now %s", got, clk.Now())
	}
	for _, bad := range []string{`{"mode":"fast"}`, `{"speed":2}`, `[]`} {
		if r := f.ctl("POST", "/_ensmock/clock/reset", bad); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
}

func TestTopologyEndpoint(t *testing.T) {
	top := engine.Topology{Regions: []engine.Region{
		{ID: "zz-east-1", Servers: []string{"e1", "e2", "e3"}},
		{ID: "aa-west-2", Servers: []string{"w1"}},
	}}
	f := newFx(t, func(o *Options) { o.Topology = &top })
	r := f.ctl("GET", "/_ensmock/topology", "")
	var got engine.Topology
	if err := json.Unmarshal(r.body, &got); r.status != 200 || err != nil {
		t.Fatalf("%d %v %s", r.status, err, r.body)
	}
	if fmt.Sprint(got) != fmt.Sprint(top) {
		t.Fatalf("topology %v, want %v (the file's order)", got, top)
	}
	// The answer is itself a topology file.
	if _, err := engine.New(engine.Config{Clock: f.clk, Topology: got}); err != nil {
		t.Fatalf("the answer does not load back: %v", err)
	}
}

// The journal explains a call (code, detail, the answer's body) and verifies
// it (filters by app and parameter value; POST /_ensmock/requests/count).
func TestJournalExplainsAndVerifies(t *testing.T) {
	f := newFx(t, nil)
	if code, _ := f.pushCode(file("v1", ""), ""); code != 0 {
		t.Fatalf("push: %d", code)
	}
	f.api("PushApplicationData", "AppId", "other-app", "Data", file("v2", ""))
	f.api("PushApplicationData", "AppId", fxApp, "Data", "[not json")
	f.api("DescribeDataPushResult", "AppId", fxApp)

	list := func(q string) []control.Entry {
		t.Helper()
		r := f.ctl("GET", "/_ensmock/requests"+q, "")
		var out struct {
			Count    int             `json:"count"`
			Bytes    int64           `json:"bytes"`
			MaxBytes int64           `json:"maxBytes"`
			Requests []control.Entry `json:"requests"`
		}
		if err := json.Unmarshal(r.body, &out); r.status != 200 || err != nil {
			t.Fatalf("%s: %d %v %s", q, r.status, err, r.body)
		}
		if out.Count != len(out.Requests) || out.MaxBytes != control.DefaultJournalBytes || out.Bytes <= 0 || out.Bytes > out.MaxBytes {
			t.Fatalf("%s: count %d for %d entries, bytes %d of %d", q, out.Count, len(out.Requests), out.Bytes, out.MaxBytes)
		}
		return out.Requests
	}
	refused := list("?code=InvalidParameter.Data")
	if len(refused) != 1 || refused[0].HTTPStatus != 400 || refused[0].Detail == "" || refused[0].Response != "" {
		t.Fatalf("refused push: %+v", refused)
	}
	ok := list("?app=" + fxApp + "&action=PushApplicationData&status=200")
	if len(ok) != 1 || !strings.Contains(ok[0].Response, `"ResultCode":0`) || !strings.Contains(ok[0].Response, `"RequestId"`) {
		t.Fatalf("successful push of %s: %+v", fxApp, ok)
	}
	if got := list("?param.AppId=other-app"); len(got) != 1 || got[0].Params["AppId"] != "other-app" {
		t.Fatalf("param.AppId=other-app: %+v", got)
	}
	if got := list("?param.Data=" + url.QueryEscape("[not json")); len(got) != 1 || got[0].ErrorCode != "InvalidParameter.Data" {
		t.Fatalf("param.Data: %+v", got)
	}
	if r := f.ctl("GET", "/_ensmock/requests?acount=testid", ""); r.status != 400 || !strings.Contains(string(r.body), "param.<Name>") {
		t.Fatalf("unknown filter: %d %s", r.status, r.body)
	}

	count := func(body string) int {
		t.Helper()
		return int(f.mustCtl(200, "POST", "/_ensmock/requests/count", body)["count"].(float64))
	}
	cases := []struct {
		body string
		want int
	}{
		{`{}`, 4},
		{`{"action":"PushApplicationData"}`, 3},
		{`{"action":"PushApplicationData","app":"` + fxApp + `"}`, 2},
		{`{"action":"PushApplicationData","app":"` + fxApp + `","status":200}`, 1},
		{`{"code":"InvalidParameter.Data","accessKeyId":"testid"}`, 1},
		{`{"account":"someone-else"}`, 0},
		{`{"params":{"AppId":"other-app","Action":"PushApplicationData"}}`, 1},
		{`{"params":{"AppId":"nope"}}`, 0},
	}
	for _, c := range cases {
		if got := count(c.body); got != c.want {
			t.Errorf("count %s = %d, want %d", c.body, got, c.want)
		}
	}
	for _, bad := range []string{`{"limit":1}`, `{"acount":"x"}`, `{"status":"200"}`, `{"account":"a","accessKeyId":"testid"}`} {
		if r := f.ctl("POST", "/_ensmock/requests/count", bad); r.status != 400 {
			t.Errorf("count %s: %d %s", bad, r.status, r.body)
		}
	}
	// The Go helper agrees.
	if n := f.srv.CountRequests(control.Filter{Action: "PushApplicationData", App: fxApp}); n != 2 {
		t.Fatalf("CountRequests: %d", n)
	}
}

// Regression (issue 18, row 1): 1000 unsigned requests of 1 MB each (all
// refused) used to pin every request through substrings kept in the journal
// (1.67 GB). Now the journal stays within its byte budget, the heap does not
// grow with the requests, and GET /_ensmock/requests stays small. By default
// 100 requests (a pinning journal would keep 100 MB); ENSMOCK_HOSTILE=1 (make
// hostile) sends 1000.
func TestJournalBoundedUnderLargeRequests(t *testing.T) {
	f := newFx(t, func(o *Options) { o.AuthOff = false })
	h := f.srv.HTTPHandler()
	n := 100
	if os.Getenv("ENSMOCK_HOSTILE") != "" {
		n = 1000
	}
	junk := strings.Repeat("j", 1<<20-200)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		// Every request gets memory of its own, as requests read from the network do.
		q := strings.Clone(fmt.Sprintf("Action=PushApplicationData&Version=2017-11-10&Format=JSON&AppId=a%d&Junk=", i) + junk)
		var req *http.Request
		if i%2 == 0 {
			req = httptest.NewRequest("GET", "http://127.0.0.1/", nil)
			req.URL.RawQuery = q
		} else {
			req = httptest.NewRequest("POST", "http://127.0.0.1/", strings.NewReader(q))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	j := f.srv.journal
	if j.Bytes() > j.MaxBytes() || j.Len() == 0 {
		t.Fatalf("journal holds %d entries costing %d bytes, budget %d", j.Len(), j.Bytes(), j.MaxBytes())
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 32<<20 {
		t.Fatalf("the heap grew by %d MiB over %d refused 1 MB requests", grew>>20, n)
	}
	r := f.ctl("GET", "/_ensmock/requests", "")
	if r.status != 200 || len(r.body) > 2*int(j.MaxBytes()) {
		t.Fatalf("GET /_ensmock/requests: %d, %d bytes", r.status, len(r.body))
	}
}

// A browser page on another site cannot drive the control plane: POST needs
// a JSON Content-Type (415), a foreign Origin is refused (403), and without a
// token only Host names the mock answers to are accepted (403).
func TestControlPlaneRefusesBrowsers(t *testing.T) {
	f := newFx(t, func(o *Options) { o.AdvertiseHost = "mock.example.test:9000" })
	do := func(method, host, path, body string, hdr ...string) reply {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://"+host+path, rd)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return f.send(req)
	}
	cases := []struct {
		name, method, host, path, body string
		hdr                            []string
		status                         int
	}{
		{"text/plain POST", "POST", "127.0.0.1:8080", "/_ensmock/reset", "{}", []string{"Content-Type", "text/plain"}, 415},
		{"form POST", "POST", "127.0.0.1:8080", "/_ensmock/faults", `{"effect":"corrupt"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"POST without Content-Type", "POST", "127.0.0.1:8080", "/_ensmock/reset", "", nil, 415},
		{"JSON POST", "POST", "127.0.0.1:8080", "/_ensmock/reset", "", []string{"Content-Type", "application/json; charset=utf-8"}, 200},
		{"DELETE needs no Content-Type", "DELETE", "localhost:1", "/_ensmock/requests", "", nil, 200},
		{"foreign Origin", "POST", "127.0.0.1:8080", "/_ensmock/reset", "", []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403},
		{"foreign Origin on GET", "GET", "127.0.0.1:8080", "/_ensmock/requests", "", []string{"Origin", "http://evil.example"}, 403},
		{"null Origin", "GET", "127.0.0.1:8080", "/_ensmock/state", "", []string{"Origin", "null"}, 403},
		{"same Origin, other port", "GET", "127.0.0.1:8080", "/_ensmock/state", "", []string{"Origin", "http://127.0.0.1:3000"}, 403},
		{"same Origin", "GET", "127.0.0.1:8080", "/_ensmock/state", "", []string{"Origin", "http://127.0.0.1:8080"}, 200},
		{"rebinding Host", "GET", "attacker.example:8080", "/_ensmock/requests", "", nil, 403},
		{"rebinding Host, matching Origin", "POST", "attacker.example:8080", "/_ensmock/reset", "", []string{"Content-Type", "application/json", "Origin", "http://attacker.example:8080"}, 403},
		{"localhost", "GET", "localhost:49153", "/_ensmock/clock", "", nil, 200},
		{"sub.localhost", "GET", "ensmock.localhost", "/_ensmock/clock", "", nil, 200},
		{"IPv6 loopback", "GET", "[::1]:8080", "/_ensmock/clock", "", nil, 200},
		{"an IP address (Docker host)", "GET", "192.0.2.10:32768", "/_ensmock/clock", "", nil, 200},
		{"a Compose service name", "GET", "ensmock:8080", "/_ensmock/clock", "", nil, 200},
		{"host.docker.internal", "GET", "host.docker.internal:8080", "/_ensmock/clock", "", nil, 200},
		{"the advertised host, any port", "GET", "MOCK.example.test:1234", "/_ensmock/clock", "", nil, 200},
		{"health is always open", "GET", "attacker.example", "/_ensmock/health", "", []string{"Origin", "http://evil.example"}, 200},
	}
	for _, c := range cases {
		r := do(c.method, c.host, c.path, c.body, c.hdr...)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.status, c.status, r.body)
			continue
		}
		if c.status >= 400 && r.obj(t)["error"] == nil {
			t.Errorf("%s: no error message: %s", c.name, r.body)
		}
	}
	if r := do("POST", "127.0.0.1", "/_ensmock/faults", `{"effect":"corrupt"}`, "Content-Type", "text/plain"); r.status != 415 || f.srv.faults.Len() != 0 {
		t.Fatalf("a refused POST changed state: %d, %d rules", r.status, f.srv.faults.Len())
	}

	// With a token, the token is the guard: any Host is accepted.
	tf := newFx(t, func(o *Options) { o.ControlToken = "s3cret" })
	req, _ := http.NewRequest("GET", "http://attacker.example:8080/_ensmock/clock", nil)
	if r := tf.send(req); r.status != 401 {
		t.Fatalf("foreign Host without the token: %d", r.status)
	}
	req, _ = http.NewRequest("GET", "http://attacker.example:8080/_ensmock/clock", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	if r := tf.send(req); r.status != 200 {
		t.Fatalf("foreign Host with the token: %d %s", r.status, r.body)
	}
}

// Fault rules are capped (1000) and registered apps are too, and apps can be
// registered only for an account that exists.
func TestControlPlaneCaps(t *testing.T) {
	f := newFx(t, nil)
	var rules []string
	for range faults.MaxRules {
		rules = append(rules, `{"effect":"corrupt","match":{"name":"x"}}`)
	}
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"faults":[`+strings.Join(rules, ",")+`]}`)
	r := f.ctl("POST", "/_ensmock/faults", `{"effect":"corrupt"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "at most 1000 fault rules") {
		t.Fatalf("rule 1001: %d %s", r.status, r.body)
	}
	if n := f.srv.faults.Len(); n != faults.MaxRules {
		t.Fatalf("%d rules", n)
	}
	f.mustCtl(200, "DELETE", "/_ensmock/faults", "")

	r = f.ctl("POST", "/_ensmock/apps", `{"account":"nobody","appId":"a"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "unknown account") {
		t.Fatalf("app for an unknown account: %d %s", r.status, r.body)
	}
	if apps := f.mustCtl(200, "GET", "/_ensmock/apps", "")["apps"].([]any); len(apps) != 0 {
		t.Fatalf("a refused app was registered: %v", apps)
	}
	f.mustCtl(201, "POST", "/_ensmock/apps", `{"account":"default","appId":"a"}`) // auth off: the default account exists
	f.mustCtl(201, "POST", "/_ensmock/apps", `{"account":"testid","appId":"a"}`)
}

// examples/topology.yaml loads (strictly, as the CLI reads it), and
// GET /_ensmock/topology answers it back.
func TestTopologyExample(t *testing.T) {
	data, err := os.ReadFile("../examples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var top engine.Topology
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&top); err != nil {
		t.Fatal(err)
	}
	f := newFx(t, func(o *Options) { o.Topology = &top })
	var got engine.Topology
	if err := json.Unmarshal(f.ctl("GET", "/_ensmock/topology", "").body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Regions) != 3 || fmt.Sprint(got) != fmt.Sprint(top) {
		t.Fatalf("topology %v, want %v", got, top)
	}
}

// After POST /_ensmock/clock/reset the state moves back with the clock: a
// replica that had finished stays finished, one still pushing keeps its
// remaining time, and no recorded time lies in the future.
func TestClockResetKeepsTheStateConsistent(t *testing.T) {
	clk := clock.NewWithWall(clock.Manual, 0, fxStart, func() time.Time { return fxStart })
	f := newFx(t, func(o *Options) { o.Clock = clk })
	if code, _ := f.pushCode(rewindFile("done"), ""); code != 0 {
		t.Fatalf("first push: %d", code)
	}
	f.advance("2h")
	if code, _ := f.pushCode(rewindFile("pushing"), ""); code != 0 {
		t.Fatalf("second push: %d", code)
	}
	f.mustCtl(200, "POST", "/_ensmock/clock/reset", "")
	if !clk.Now().Equal(fxStart) {
		t.Fatalf("clock %s after reset, want %s", clk.Now(), fxStart)
	}
	if code, why := f.pushCode(rewindFile("done"), ""); code != 100 {
		t.Fatalf("a file finished before the reset answers %d (%s), want 100", code, why)
	}
	for region, st := range f.regions("pushing") {
		if st[0] != "PUSHING" {
			t.Fatalf("%s: %v, want PUSHING (2 s of transfer left)", region, st)
		}
	}
	for _, acct := range f.srv.Engine().Snapshot("").Accounts {
		for _, a := range acct.Apps {
			for _, file := range a.Files {
				for _, r := range file.Replicas {
					if r.Start.After(clk.Now()) {
						t.Fatalf("%s: replica started at %s, after the clock's %s", file.Name, r.Start, clk.Now())
					}
				}
			}
		}
	}
	f.advance("2s")
	if code, why := f.pushCode(rewindFile("pushing"), ""); code != 100 {
		t.Fatalf("the transfer left running answers %d (%s) 2 s later, want 100", code, why)
	}
}

func rewindFile(name string) string {
	return `[{"name":"` + name + `","version":"1.0","size":0,"archiveType":"tar.gz","url":"http://127.0.0.1/` + name + `"}]`
}
