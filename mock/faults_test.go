package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
)

// The helpers of this file are shared by faults_test.go, control_test.go and
// download_test.go (package mock, in-process, manual clock, no jitter).

var fxStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

const fxApp = "e76f8985-7965-41fc-925b-9648bb6bf650"

type fx struct {
	t   *testing.T
	srv *Server
	clk *clock.Clock
}

func newFx(t *testing.T, mod func(*Options)) *fx {
	t.Helper()
	clk := clock.New(clock.Manual, 0, fxStart)
	opts := Options{NoListener: true, AuthOff: true, Clock: clk, Jitter: -1, Seed: 7, TimestampClock: TimestampMock, CheckResponses: true}
	if mod != nil {
		mod(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &fx{t: t, srv: srv, clk: clk}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (f *fx) send(req *http.Request) reply {
	f.t.Helper()
	resp, err := f.srv.HTTPClient().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

// api calls an action as account testid (auth is off unless a test signs).
func (f *fx) api(action string, kv ...string) reply {
	f.t.Helper()
	q := url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/?"+q.Encode(), nil)
	return f.send(req)
}

// ctl calls the control plane; body "" sends none.
func (f *fx) ctl(method, path, body string, header ...string) reply {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://127.0.0.1"+path, rd)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // as every control-plane client must
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.send(req)
}

func (f *fx) mustCtl(want int, method, path, body string) map[string]any {
	f.t.Helper()
	r := f.ctl(method, path, body)
	if r.status != want {
		f.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r.obj(f.t)
}

func (f *fx) advance(d string) {
	f.t.Helper()
	f.mustCtl(200, "POST", "/_ensmock/clock/advance", fmt.Sprintf(`{"by":%q}`, d))
}

type pushed struct {
	Name          string
	ResultCode    int
	ResultDescrip string
}

// push pushes data files (a JSON array) with an optional strategy and returns the results.
func (f *fx) push(data, strategy string) []pushed {
	f.t.Helper()
	kv := []string{"AppId", fxApp, "Data", data}
	if strategy != "" {
		kv = append(kv, "PushStrategy", strategy)
	}
	r := f.api("PushApplicationData", kv...)
	if r.status != 200 {
		f.t.Fatalf("push: status %d: %s", r.status, r.body)
	}
	var body struct{ PushResults struct{ PushResult []pushed } }
	if err := json.Unmarshal(r.body, &body); err != nil {
		f.t.Fatal(err)
	}
	return body.PushResults.PushResult
}

func (f *fx) pushCode(data, strategy string) (int, string) {
	f.t.Helper()
	res := f.push(data, strategy)
	if len(res) != 1 {
		f.t.Fatalf("want one result, got %+v", res)
	}
	return res[0].ResultCode, res[0].ResultDescrip
}

// regions returns DescribeDataPushResult's per-region status and description of one file.
func (f *fx) regions(name string) map[string][2]string {
	f.t.Helper()
	r := f.api("DescribeDataPushResult", "AppId", fxApp, "DataNames", name)
	if r.status != 200 {
		f.t.Fatalf("describe: %d %s", r.status, r.body)
	}
	var body struct {
		PushResults struct {
			PushResult []struct {
				StatusStatS struct {
					StatusStat []struct {
						Status    string
						RegionIds struct {
							RegionID []struct {
								RegionID      string `json:"RegionId"`
								StatusDescrip string
							} `json:"RegionId"`
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		f.t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, pr := range body.PushResults.PushResult {
		for _, st := range pr.StatusStatS.StatusStat {
			for _, rg := range st.RegionIds.RegionID {
				out[rg.RegionID] = [2]string{st.Status, rg.StatusDescrip}
			}
		}
	}
	return out
}

func file(name string, extra string) string {
	return fmt.Sprintf(`[{"name":%q,"version":"1.0","size":0,"url":"http://127.0.0.1/%s"%s}]`, name, name, extra)
}

const wuxi = `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`

func TestRegionDownRefusesUntilRemoved(t *testing.T) {
	f := newFx(t, nil)
	f.mustCtl(200, "POST", "/_ensmock/clock", `{"mode":"manual"}`)
	rule := f.mustCtl(201, "POST", "/_ensmock/faults", `{"match":{"region":"cn-wuxi-5","account":"testid"},"effect":"region_down"}`)
	id, _ := rule["id"].(string)
	if id == "" {
		t.Fatalf("no id: %v", rule)
	}
	code, why := f.pushCode(file("a", ""), wuxi)
	if want := fmt.Sprintf("region cn-wuxi-5 is down (fault %s)", id); code != 300 || why != want {
		t.Fatalf("push through a down region: %d %q, want 300 %q", code, why, want)
	}
	// Another region is not affected.
	if code, _ := f.pushCode(file("b", ""), strings.Replace(wuxi, "cn-wuxi-5", "cn-jiaozuo-2", 1)); code != 0 {
		t.Fatalf("other region: %d", code)
	}
	f.mustCtl(200, "DELETE", "/_ensmock/faults/"+id, "")
	if code, _ := f.pushCode(file("a", ""), wuxi); code != 0 {
		t.Fatalf("retry after the fault is removed: %d", code)
	}
	if code, _ := f.pushCode(file("a", ""), wuxi); code != 200 {
		t.Fatalf("while pushing: %d", code)
	}
	f.advance("90s")
	if code, _ := f.pushCode(file("a", ""), wuxi); code != 100 {
		t.Fatalf("after the transfer: %d", code)
	}
	if r := f.ctl("DELETE", "/_ensmock/faults/"+id, ""); r.status != 404 || r.obj(t)["error"] == nil {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}
}

func TestReplicaFaults(t *testing.T) {
	// Base transfer: 2s (default base latency, size 0, no jitter).
	cases := []struct {
		name, rule, extra string
		at                string // clock advance before looking
		want              map[string][2]string
	}{
		{"region down, fail mode", `{"match":{"region":"cn-wuxi-5"},"effect":"region_down","params":{"mode":"fail"}}`, "", "0s",
			map[string][2]string{"cn-wuxi-5": {"FAILED", "region cn-wuxi-5 is down (fault f1)"}, "cn-jiaozuo-2": {"PUSHING", "pushing"}}},
		{"server down, fail mode, shorthand params", `{"match":{"server":"cn-wuxi-5-fs-2"},"effect":"server_down","mode":"fail"}`, "", "2s",
			map[string][2]string{"cn-wuxi-5": {"FAILED", "file server cn-wuxi-5-fs-2 in region cn-wuxi-5 is down (fault f1)"}, "cn-jiaozuo-2": {"SUCCESS", "success"}}},
		{"slow keeps pushing", `{"match":{"region":"cn-wuxi-*"},"effect":"slow","params":{"factor":10}}`, "", "19s",
			map[string][2]string{"cn-wuxi-5": {"PUSHING", "pushing"}, "cn-jiaozuo-2": {"SUCCESS", "success"}}},
		{"slow ends", `{"match":{"region":"cn-wuxi-*"},"effect":"slow","params":{"factor":10,"latency":"5s"}}`, "", "25s",
			map[string][2]string{"cn-wuxi-5": {"SUCCESS", "success"}}},
		{"per-file timeout", `{"match":{"region":"cn-wuxi-5"},"effect":"slow","params":{"factor":10}}`, `,"timeout":10`, "10s",
			map[string][2]string{"cn-wuxi-5": {"FAILED", "push timed out after 10s: the transfer to cn-wuxi-5-fs-1 needs 20s"}, "cn-jiaozuo-2": {"SUCCESS", "success"}}},
		{"fail after half", `{"match":{"region":"cn-wuxi-5"},"effect":"fail_after","params":{"fraction":0.5}}`, "", "1s",
			map[string][2]string{"cn-wuxi-5": {"FAILED", "transfer to cn-wuxi-5-fs-1 failed after 50% of it (fault f1)"}, "cn-jiaozuo-2": {"PUSHING", "pushing"}}},
		{"corrupt", `{"match":{"region":"cn-wuxi-5","name":"f*"},"effect":"corrupt"}`, `,"md5":"0123456789abcdef0123456789abcdef"`, "2s",
			map[string][2]string{"cn-wuxi-5": {"FAILED", "md5 mismatch on cn-wuxi-5-fs-1: expected 0123456789abcdef0123456789abcdef, got "}, "cn-jiaozuo-2": {"SUCCESS", "success"}}},
		{"no match by name", `{"match":{"name":"other"},"effect":"corrupt"}`, "", "2s",
			map[string][2]string{"cn-wuxi-5": {"SUCCESS", "success"}}},
		{"no match by account", `{"match":{"account":"someone-else"},"effect":"region_down","mode":"fail"}`, "", "2s",
			map[string][2]string{"cn-wuxi-5": {"SUCCESS", "success"}}},
	}
	both := `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5","cn-jiaozuo-2"]}}`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, nil)
			f.mustCtl(201, "POST", "/_ensmock/faults", c.rule)
			if code, why := f.pushCode(file("f1", c.extra), both); code != 0 {
				t.Fatalf("push: %d %s", code, why)
			}
			f.advance(c.at)
			got := f.regions("f1")
			for region, want := range c.want {
				g := got[region]
				if g[0] != want[0] || !strings.HasPrefix(g[1], want[1]) {
					t.Errorf("%s: %v, want %v", region, g, want)
				}
			}
		})
	}
}

func TestAPIErrorFaults(t *testing.T) {
	cases := []struct {
		name, rule       string
		action           string
		status           int
		code, message    string
		throttleHeader   bool
		reachesOtherCall bool
	}{
		{"throttling", `{"match":{"action":"PushApplicationData"},"effect":"error","params":{"code":"Throttling.User","retryAfter":"3s"}}`,
			"PushApplicationData", 400, "Throttling.User", "Request was denied due to user flow control.", true, false},
		{"service unavailable", `{"effect":"error","code":"ServiceUnavailable"}`,
			"DescribeDataPushResult", 503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", false, true},
		{"internal error", `{"match":{"action":"Describe*","account":"testid"},"effect":"error","params":{"code":"InternalError"}}`,
			"DescribeDataPushResult", 500, "InternalError", "The request processing has failed due to some unknown error, exception or failure.", false, false},
		{"any code with status and message", `{"effect":"error","params":{"code":"Custom.Broken","status":429,"message":"slow down"}}`,
			"DescribeDataPushResult", 429, "Custom.Broken", "slow down", false, true},
		{"unknown code defaults to 400", `{"effect":"error","params":{"code":"Custom.Other"}}`,
			"DescribeDataPushResult", 400, "Custom.Other", "The request has failed due to an injected fault.", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFx(t, nil)
			f.mustCtl(201, "POST", "/_ensmock/faults", c.rule)
			var r reply
			if c.action == "PushApplicationData" {
				r = f.api(c.action, "AppId", fxApp, "Data", file("x", ""))
			} else {
				r = f.api(c.action, "AppId", fxApp)
			}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			m := r.obj(t)
			if len(m) != 5 || m["Code"] != c.code || m["Message"] != c.message || m["HostId"] != "ens.aliyuncs.com" ||
				m["RequestId"] != r.header.Get("x-acs-request-id") || !strings.Contains(m["Recommend"].(string), c.code) {
				t.Fatalf("envelope: %s", r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
			h := r.header.Get("x-ratelimit-user-api")
			if want := fmt.Sprintf("Limit:1,Remain:0,TimeLeft:3000,Reset:%d", fxStart.Add(3*time.Second).Unix()); c.throttleHeader && h != want {
				t.Fatalf("x-ratelimit-user-api %q, want %q", h, want)
			} else if !c.throttleHeader && h != "" {
				t.Fatalf("unexpected x-ratelimit-user-api %q", h)
			}
			// The other action: answered normally unless the rule matches every action.
			other := f.api("DescribeDataPushResult", "AppId", fxApp)
			if c.action == "DescribeDataPushResult" {
				other = f.api("PushApplicationData", "AppId", fxApp, "Data", file("x", ""))
			}
			if got := other.status != 200; got != c.reachesOtherCall {
				t.Fatalf("other action: %d %s", other.status, other.body)
			}
		})
	}
}

func TestAPIFaultComesAfterAuthentication(t *testing.T) {
	f := newFx(t, func(o *Options) { o.AuthOff = false })
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"match":{"account":"testid"},"effect":"error","params":{"code":"ServiceUnavailable"}}`)
	// Unsigned: the gateway's authentication error, not the fault.
	if r := f.api("DescribeDataPushResult", "AppId", fxApp); r.status != 400 || r.obj(t)["Code"] != "MissingParameter" {
		t.Fatalf("unsigned: %d %s", r.status, r.body)
	}
	signed := func(id, secret, nonce string) reply {
		q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {fxApp}}
		signature.SignV1(http.MethodGet, q, id, secret, nonce, fxStart)
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/?"+q.Encode(), nil)
		return f.send(req)
	}
	if r := signed("testid", "testsecret", "n1"); r.status != 503 {
		t.Fatalf("signed testid: %d %s", r.status, r.body)
	}
	// denied-id is another account: the rule does not apply; its policy allows Describe*.
	if r := signed("denied-id", "denied-secret", "n2"); r.status != 200 {
		t.Fatalf("signed denied-id: %d %s", r.status, r.body)
	}
	// Invalid parameters are checked after the fault (the fault comes first).
	q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
	signature.SignV1(http.MethodGet, q, "testid", "testsecret", "n3", fxStart)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/?"+q.Encode(), nil)
	if r := f.send(req); r.status != 503 {
		t.Fatalf("missing AppId under a fault: %d %s", r.status, r.body)
	}
}

func TestFaultCountAndProbabilityAreDeterministic(t *testing.T) {
	scenario := []byte(`
faults:
  - match: {action: DescribeDataPushResult}
    effect: error
    params: {code: Throttling.User}
    probability: 0.5
  - match: {action: PushApplicationData}
    effect: error
    params: {code: InternalError}
    count: 2
`)
	rules, err := faults.ParseScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) string {
		f := newFx(t, func(o *Options) { o.Faults, o.Seed = rules, seed })
		var b strings.Builder
		for range 40 {
			fmt.Fprintf(&b, "%d,", f.api("DescribeDataPushResult", "AppId", fxApp).status)
		}
		b.WriteString("|")
		for i := range 4 {
			fmt.Fprintf(&b, "%d,", f.api("PushApplicationData", "AppId", fxApp, "Data", file(fmt.Sprint("p", i), "")).status)
		}
		return b.String()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Fatalf("same seed, different outcomes:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same 40 coin flips: %s", a)
	}
	if !strings.Contains(a, "200,") || !strings.Contains(strings.Split(a, "|")[0], "400,") {
		t.Fatalf("probability 0.5 should both fire and not fire in 40 tries: %s", a)
	}
	if got := strings.Split(a, "|")[1]; got != "500,500,200,200," {
		t.Fatalf("count 2: %s", got)
	}
}

func TestLatencyFaultHonoursCancellation(t *testing.T) {
	f := newFx(t, nil)
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"effect":"latency","params":{"latency":"10m"}}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/?Action=DescribeDataPushResult&Version=2017-11-10&Format=JSON&AppId=x", nil)
	rec := httptest.NewRecorder()
	f.srv.HTTPHandler().ServeHTTP(rec, req) // returns at once: the client is gone
	j := f.srv.Requests(control.Filter{})
	if len(j) != 1 || j[0].HTTPStatus != 499 || j[0].ErrorCode != "ClientClosedRequest" {
		t.Fatalf("journal: %+v", j)
	}
}

func TestBadFaultRulesChangeNothing(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"not JSON", `{`, "bad fault rule"},
		{"unknown effect", `{"effect":"explode"}`, `effect "explode"`},
		{"no effect", `{"match":{"region":"x"}}`, "effect is required"},
		{"unknown key", `{"effect":"corrupt","colour":"red"}`, "colour"},
		{"unknown match key", `{"effect":"corrupt","match":{"zone":"x"}}`, "zone"},
		{"bad glob", `{"effect":"corrupt","match":{"region":"cn-["}}`, "bad glob"},
		{"probability > 1", `{"effect":"corrupt","probability":1.5}`, "probability"},
		{"negative count", `{"effect":"corrupt","count":-1}`, "count"},
		{"bad mode", `{"effect":"region_down","params":{"mode":"melt"}}`, "mode"},
		{"slow without factor", `{"effect":"slow"}`, "factor"},
		{"fraction out of range", `{"effect":"fail_after","params":{"fraction":2}}`, "fraction"},
		{"fail_after without fraction", `{"effect":"fail_after"}`, "fraction"},
		{"error without code", `{"effect":"error"}`, "code"},
		{"error with bad status", `{"effect":"error","params":{"code":"X","status":200}}`, "status"},
		{"latency not positive", `{"effect":"latency","params":{"latency":"-1s"}}`, "latency"},
		{"bad duration", `{"effect":"latency","params":{"latency":"soon"}}`, "duration"},
		{"param of another effect", `{"effect":"corrupt","params":{"factor":2}}`, "factor does not apply"},
		{"region on an API effect", `{"effect":"error","match":{"region":"x"},"params":{"code":"InternalError"}}`, "match.region"},
		{"param twice", `{"effect":"slow","factor":2,"params":{"factor":3}}`, "both"},
		{"one bad in a list", `{"faults":[{"effect":"corrupt"},{"effect":"nope"}]}`, "faults[1]"},
		{"duplicate id", `{"faults":[{"id":"a","effect":"corrupt"},{"id":"a","effect":"corrupt"}]}`, "already in use"},
		{"bad id", `{"id":"a/b","effect":"corrupt"}`, "id"},
	}
	f := newFx(t, nil)
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"id":"keep","effect":"corrupt","match":{"name":"nothing"}}`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.ctl("POST", "/_ensmock/faults", c.body)
			msg, _ := r.obj(t)["error"].(string)
			if r.status != 400 || !strings.Contains(msg, c.want) {
				t.Fatalf("%d %s, want 400 mentioning %q", r.status, r.body, c.want)
			}
			list := f.mustCtl(200, "GET", "/_ensmock/faults", "")["faults"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["id"] != "keep" {
				t.Fatalf("rules changed: %v", list)
			}
		})
	}
}

func TestFaultsEndpoints(t *testing.T) {
	f := newFx(t, nil)
	many := f.mustCtl(201, "POST", "/_ensmock/faults", `{"faults":[{"effect":"corrupt"},{"id":"mine","effect":"slow","params":{"factor":2,"latency":"1.5s"}}]}`)
	got := many["faults"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["id"] != "f1" || got[1].(map[string]any)["id"] != "mine" {
		t.Fatalf("created: %v", many)
	}
	list := f.mustCtl(200, "GET", "/_ensmock/faults", "")["faults"].([]any)
	slow := list[1].(map[string]any)
	if slow["params"].(map[string]any)["latency"] != "1.5s" || slow["applied"] != 0.0 || slow["effect"] != "slow" {
		t.Fatalf("listed: %v", slow)
	}
	f.mustCtl(200, "DELETE", "/_ensmock/faults", "")
	if list := f.mustCtl(200, "GET", "/_ensmock/faults", "")["faults"].([]any); len(list) != 0 {
		t.Fatalf("after delete all: %v", list)
	}
	if one := f.mustCtl(201, "POST", "/_ensmock/faults", `{"effect":"corrupt"}`); one["id"] != "f2" {
		t.Fatalf("ids are not reused: %v", one)
	}
}
