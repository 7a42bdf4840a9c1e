package mock

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/control"
	"github.com/ensmock/ensmock/signature"
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
	resp, err := http.Post(ts.URL+"/_ensmock/clock/advance", "application/json", strings.NewReader(`{"by":"1m"}`))
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
	if n := len(f.srv.Journal().List(control.Filter{Action: "PushApplicationData"})); n != 6 {
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
			j := f.srv.Journal()
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
