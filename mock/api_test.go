package mock_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/wire"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/spec"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is an in-process mock with a manual clock whose every JSON response is
// validated against the spec's response schema.
type harness struct {
	t   *testing.T
	srv *mock.Server
	clk *clock.Clock
	v   *wire.Validator
}

func newHarness(t *testing.T, mod func(*mock.Options)) *harness {
	t.Helper()
	clk := clock.New(clock.Manual, 0, t0)
	opts := mock.Options{NoListener: true, AuthOff: true, Clock: clk, Jitter: -1, CheckResponses: true}
	if mod != nil {
		mod(&opts)
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := spec.Load()
	if opts.Spec != nil {
		doc, err = spec.Parse(opts.Spec)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, clk: clk, v: wire.NewValidator(doc)}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return m
}

// do sends params (query for GET; form body for POST when form is set).
func (h *harness) do(method string, params url.Values, form bool, header http.Header) response {
	h.t.Helper()
	u := "http://ens.test/"
	var body io.Reader
	if form {
		body = strings.NewReader(params.Encode())
	} else {
		u += "?" + params.Encode()
	}
	req, _ := http.NewRequest(method, u, body)
	if form {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if header == nil {
		header = http.Header{"Accept": {"application/json"}}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := h.srv.HTTPClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{resp.StatusCode, resp.Header, b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if action := params.Get("Action"); h.v.Check(action, http.MethodGet) == nil {
			if err := h.v.CheckResponse(req.Context(), action, r.status, r.header, r.body); err != nil {
				h.t.Fatalf("%s response does not match the spec: %v\n%s", action, err, r.body)
			}
		}
	}
	if got := resp.Header.Get("x-acs-request-id"); got == "" {
		h.t.Fatalf("no x-acs-request-id header")
	}
	return r
}

func (h *harness) get(params url.Values) response {
	h.t.Helper()
	return h.do("GET", params, false, nil)
}

func call(action string, kv ...string) url.Values {
	v := url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

const app = "e76f8985-7965-41fc-925b-9648bb6bf650"

func data(files ...string) string {
	var items []string
	for _, f := range files {
		items = append(items, fmt.Sprintf(`{"name":%q,"version":"1.0","size":0,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/%s"}`, f, f))
	}
	return "[" + strings.Join(items, ",") + "]"
}

func pushCodes(t *testing.T, r response) []int {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var body struct {
		RequestID   string `json:"RequestId"`
		PushResults struct {
			PushResult []struct {
				Name       string
				ResultCode int
			}
		}
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.RequestID == "" || body.RequestID != r.header.Get("x-acs-request-id") || body.RequestID != strings.ToUpper(body.RequestID) {
		t.Fatalf("RequestId %q vs header %q", body.RequestID, r.header.Get("x-acs-request-id"))
	}
	var out []int
	for _, p := range body.PushResults.PushResult {
		out = append(out, p.ResultCode)
	}
	return out
}

func TestOfficialExampleResponseShape(t *testing.T) {
	h := newHarness(t, nil)
	example := `[{"name":"app01", "version":"1.0", "size":100,"archiveType":"tar.gz", "md5":"", "url":"http://xxxx","timeout": 1000 }, { "name":"app02", "version":"1.1", "size":10,"archiveType":"zip", "md5":"xxxx", "url":"http://xxxxxx","timeout": 1000 }]`
	r := h.get(call("PushApplicationData", "AppId", app, "Data", example, "Timeout", "1800",
		"PushStrategy", `{"name": "ScheduleToRegionId", "parameters":{ "operator": "In", "values": ["cn-chegndu-telecom-4", "cn-shanghai-cmcc-4"] }}`))
	if got := fmt.Sprint(pushCodes(t, r)); got != "[0 0]" {
		t.Fatalf("codes %s", got)
	}
	m := r.json(t)
	res := m["PushResults"].(map[string]any)["PushResult"].([]any)
	first := res[0].(map[string]any)
	if first["Name"] != "app01" || first["Version"] != "1.0" || first["ResultDescrip"] != "success" || len(first) != 4 {
		t.Fatalf("first result %v", first)
	}
}

func TestResultCodeTransitionsOverHTTP(t *testing.T) {
	h := newHarness(t, nil)
	push := func(st string) []int {
		p := call("PushApplicationData", "AppId", app, "Data", data("a", "b"))
		if st != "" {
			p.Set("PushStrategy", st)
		}
		return pushCodes(t, h.get(p))
	}
	if got := fmt.Sprint(push("")); got != "[0 0]" {
		t.Fatal(got)
	}
	if got := fmt.Sprint(push("")); got != "[200 200]" {
		t.Fatal(got)
	}
	_ = h.clk.Advance(2 * time.Second)
	if got := fmt.Sprint(push("")); got != "[100 100]" {
		t.Fatal(got)
	}
	unknown := `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-nowhere-9"]}}`
	p := call("PushApplicationData", "AppId", app, "Data", data("c"), "PushStrategy", unknown)
	if got := fmt.Sprint(pushCodes(t, h.get(p))); got != "[300]" {
		t.Fatal(got)
	}
	p.Del("PushStrategy")
	if got := fmt.Sprint(pushCodes(t, h.get(p))); got != "[0]" {
		t.Fatalf("retry after 300: %s", got)
	}
}

func TestFormBodyAndQueryAreMerged(t *testing.T) {
	h := newHarness(t, nil)
	p := call("PushApplicationData", "AppId", app, "Data", data("form"))
	if got := fmt.Sprint(pushCodes(t, h.do("POST", p, true, nil))); got != "[0]" {
		t.Fatal(got)
	}
	// Action and Version in the query, business parameters in the body.
	u := "http://ens.test/?Action=PushApplicationData&Version=2017-11-10&Format=JSON"
	req, _ := http.NewRequest("POST", u, strings.NewReader(url.Values{"AppId": {app}, "Data": {data("form")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if got := fmt.Sprint(pushCodes(t, response{resp.StatusCode, resp.Header, b})); got != "[200]" {
		t.Fatalf("split query/body: %s", got)
	}
}

func TestDescribeReportsPerRegionStatus(t *testing.T) {
	h := newHarness(t, nil)
	st := `[{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5","cn-jiaozuo-2"]}},{"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":["cn-jiaozuo-2"]}}]`
	pushCodes(t, h.get(call("PushApplicationData", "AppId", app, "Data", data("d"), "PushStrategy", st)))
	describe := func() map[string]any {
		r := h.get(call("DescribeDataPushResult", "AppId", app, "PageNumber", "1", "PageSize", "10"))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return r.json(t)
	}
	m := describe()
	if m["TotalCount"].(float64) != 1 || m["PageSize"].(float64) != 10 {
		t.Fatalf("%v", m)
	}
	stat := m["PushResults"].(map[string]any)["PushResult"].([]any)[0].(map[string]any)["StatusStatS"].(map[string]any)["StatusStat"].([]any)
	if len(stat) != 1 || stat[0].(map[string]any)["Status"] != "PUSHING" || stat[0].(map[string]any)["RegionIdCount"].(float64) != 1 {
		t.Fatalf("stat %v", stat)
	}
	_ = h.clk.Advance(time.Minute)
	stat = describe()["PushResults"].(map[string]any)["PushResult"].([]any)[0].(map[string]any)["StatusStatS"].(map[string]any)["StatusStat"].([]any)
	region := stat[0].(map[string]any)["RegionIds"].(map[string]any)["RegionId"].([]any)[0].(map[string]any)
	if stat[0].(map[string]any)["Status"] != "SUCCESS" || region["RegionId"] != "cn-wuxi-5" || region["StartTime"] != "2024-01-01T00:00:00Z" || region["UpdateTime"] != "2024-01-01T00:00:02Z" {
		t.Fatalf("after transfer %v", stat)
	}
}

func TestXMLResponses(t *testing.T) {
	h := newHarness(t, nil)
	p := call("PushApplicationData", "AppId", app, "Data", data("x1", "x2"))
	p.Set("Format", "xml")
	r := h.get(p)
	if r.status != 200 || r.header.Get("Content-Type") != wire.ContentTypeXML {
		t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
	}
	if !bytes.HasPrefix(r.body, []byte(`<?xml version="1.0" encoding="UTF-8"?><PushApplicationDataResponse><RequestId>`)) {
		t.Fatalf("xml %s", r.body)
	}
	var body struct {
		XMLName     xml.Name
		RequestID   string `xml:"RequestId"`
		PushResults struct {
			PushResult []struct {
				Name       string
				ResultCode int
			}
		}
	}
	if err := xml.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.XMLName.Local != "PushApplicationDataResponse" || len(body.PushResults.PushResult) != 2 || body.PushResults.PushResult[1].Name != "x2" {
		t.Fatalf("%+v", body)
	}
	p.Del("AppId")
	r = h.get(p)
	if r.status != 400 || r.header.Get("Content-Type") != wire.ContentTypeXML ||
		!bytes.HasPrefix(r.body, []byte(`<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>`)) ||
		!bytes.Contains(r.body, []byte(`<Code>MissingParameter</Code>`)) || !bytes.Contains(r.body, []byte(`<Recommend><![CDATA[https://api.aliyun.com/troubleshoot?q=MissingParameter&product=Ens&requestId=`)) {
		t.Fatalf("xml error %d %s", r.status, r.body)
	}
}

func TestFormatNegotiation(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		format, accept, want string
	}{
		{"JSON", "", wire.ContentTypeJSON},
		{"json", "", wire.ContentTypeJSON},
		{"XML", "application/json", wire.ContentTypeXML},
		{"", "application/json", wire.ContentTypeJSON}, // V3 clients send no Format
		{"", "", wire.ContentTypeXML},                  // the documented default
	}
	for _, tc := range cases {
		p := call("DescribeDataPushResult", "AppId", app)
		p.Del("Format")
		if tc.format != "" {
			p.Set("Format", tc.format)
		}
		hdr := http.Header{}
		if tc.accept != "" {
			hdr.Set("Accept", tc.accept)
		}
		if r := h.do("GET", p, false, hdr); r.header.Get("Content-Type") != tc.want {
			t.Errorf("Format=%q Accept=%q: %s", tc.format, tc.accept, r.header.Get("Content-Type"))
		}
	}
}

// TestErrorPaths: every refusal, in strict mode (where ensmock's limits are
// refusals too; limits_test.go checks each limit in both modes).
func TestErrorPaths(t *testing.T) {
	h := newHarness(t, func(o *mock.Options) {
		o.Limits = wire.Limits{MaxBodyBytes: 64 << 10, MaxQueryBytes: 64 << 10}
		o.Strict = true
	})
	big := make([]string, 101)
	for i := range big {
		big[i] = fmt.Sprint("f", i)
	}
	huge := strings.Repeat("x", 70<<10)
	cases := []struct {
		name   string
		method string
		params url.Values
		form   bool
		status int
		code   string
	}{
		{"missing AppId", "GET", call("PushApplicationData", "Data", data("a")), false, 400, "MissingParameter"},
		{"missing Data", "GET", call("PushApplicationData", "AppId", app), false, 400, "MissingParameter"},
		{"empty AppId", "GET", call("PushApplicationData", "AppId", "", "Data", data("a")), false, 400, "InvalidParameter.AppId"},
		{"Data not JSON", "GET", call("PushApplicationData", "AppId", app, "Data", "app01"), false, 400, "InvalidParameter.Data"},
		{"Data not an array", "GET", call("PushApplicationData", "AppId", app, "Data", `{"name":"a"}`), false, 400, "InvalidParameter.Data"},
		{"Data empty", "GET", call("PushApplicationData", "AppId", app, "Data", `[]`), false, 400, "InvalidParameter.Data"},
		{"item without name", "GET", call("PushApplicationData", "AppId", app, "Data", `[{"version":"1","url":"u"}]`), false, 400, "InvalidParameter.Data"},
		{"size as string", "GET", call("PushApplicationData", "AppId", app, "Data", `[{"name":"a","version":"1","url":"u","size":"100"}]`), false, 400, "InvalidParameter.Data"},
		{"duplicate files", "GET", call("PushApplicationData", "AppId", app, "Data", data("a", "b", "a")), false, 400, "InvalidParameter.Data"},
		{"too many files", "GET", call("PushApplicationData", "AppId", app, "Data", data(big...)), false, 400, "InvalidParameter.Data"},
		{"strategy not JSON", "GET", call("PushApplicationData", "AppId", app, "Data", data("a"), "PushStrategy", "{"), false, 400, "InvalidParameter.PushStrategy"},
		{"strategy unknown name", "GET", call("PushApplicationData", "AppId", app, "Data", data("a"), "PushStrategy", `{"name":"ScheduleToMoon","parameters":{"operator":"In","values":["x"]}}`), false, 400, "InvalidParameter.PushStrategy"},
		{"strategy unknown operator", "GET", call("PushApplicationData", "AppId", app, "Data", data("a"), "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"Exists","values":["x"]}}`), false, 400, "InvalidParameter.PushStrategy"},
		{"strategy empty values", "GET", call("PushApplicationData", "AppId", app, "Data", data("a"), "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[]}}`), false, 400, "InvalidParameter.PushStrategy"},
		{"Timeout not a number", "GET", call("PushApplicationData", "AppId", app, "Data", data("a"), "Timeout", "soon"), false, 400, "InvalidParameter.Timeout"},
		{"PageNumber 0", "GET", call("DescribeDataPushResult", "AppId", app, "PageNumber", "0"), false, 400, "InvalidParameter.PageNumber"},
		{"PageSize abc", "GET", call("DescribeDataPushResult", "AppId", app, "PageSize", "abc"), false, 400, "InvalidParameter.PageSize"},
		{"MinDate format", "GET", call("DescribeDataPushResult", "AppId", app, "MinDate", "2024/01/01"), false, 400, "InvalidParameter.MinDate"},
		{"MinDate impossible", "GET", call("DescribeDataPushResult", "AppId", app, "MinDate", "2024-13-45"), false, 400, "InvalidParameter.MinDate"},
		{"MaxDate before MinDate", "GET", call("DescribeDataPushResult", "AppId", app, "MinDate", "2024-02-01", "MaxDate", "2024-01-01"), false, 400, "InvalidParameter.MaxDate"},
		{"describe missing AppId", "GET", call("DescribeDataPushResult"), false, 400, "MissingParameter"},
		{"download by POST", "POST", call("DescribeDataDownloadURL", "AppId", app, "DataName", "a", "DataVersion", "1.0"), false, 400, "UnsupportedHTTPMethod"},
		{"download missing DataName", "GET", call("DescribeDataDownloadURL", "AppId", app, "DataVersion", "1.0"), false, 400, "MissingParameter"},
		{"download unknown data", "GET", call("DescribeDataDownloadURL", "AppId", app, "DataName", "nope", "DataVersion", "1.0"), false, 400, "InvalidParameter.DataName"},
		{"unknown action", "GET", call("RunInstances"), false, 404, "InvalidAction.NotFound"},
		{"missing action", "GET", url.Values{"Version": {"2017-11-10"}, "Format": {"JSON"}}, false, 400, "MissingParameter"},
		{"wrong version", "GET", call("PushApplicationData", "Version", "2020-01-01"), false, 400, "InvalidVersion"},
		{"missing version", "GET", url.Values{"Action": {"PushApplicationData"}, "Format": {"JSON"}}, false, 400, "MissingParameter"},
		{"bad Format", "GET", call("PushApplicationData", "Format", "yaml"), false, 400, "InvalidParameter.Format"},
		{"body too large", "POST", call("PushApplicationData", "AppId", app, "Data", huge), true, 400, "InvalidParameter"},
		{"query too large", "GET", call("PushApplicationData", "AppId", app, "Data", huge), false, 400, "InvalidParameter"},
		{"PUT", "PUT", call("PushApplicationData", "AppId", app, "Data", data("a")), false, 400, "UnsupportedHTTPMethod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.method, tc.params, tc.form, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			m := r.json(t)
			for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
				if s, ok := m[k].(string); !ok || s == "" {
					t.Fatalf("envelope field %s = %v in %s", k, m[k], r.body)
				}
			}
			if m["Code"] != tc.code || m["RequestId"] != r.header.Get("x-acs-request-id") || m["HostId"] != "ens.aliyuncs.com" {
				t.Fatalf("got %s (detail %q)", r.body, r.header.Get("X-Ensmock-Detail"))
			}
			if strings.HasPrefix(tc.code, "InvalidParameter.") {
				name := strings.TrimPrefix(tc.code, "InvalidParameter.")
				if want := "The specified field " + name + " invalid. Please check it again."; m["Message"] != want {
					t.Fatalf("message %q", m["Message"])
				}
			}
		})
	}
	if st := h.srv.Engine().Snapshot(""); len(st.Accounts) != 0 {
		t.Fatalf("bad requests changed state: %+v", st)
	}
}

// Changing a constraint in ens.yaml changes the mock's behaviour with no Go change.
func TestSpecChangeChangesBehaviour(t *testing.T) {
	three := data("a", "b", "c")
	strict := bytes.Replace(spec.YAML, []byte("    DataFiles:\n      type: array\n"), []byte("    DataFiles:\n      type: array\n      maxItems: 2\n"), 1)
	if bytes.Equal(strict, spec.YAML) {
		t.Fatal("the spec has no DataFiles array to change; update this test")
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want int
	}{{"embedded", nil, 200}, {"maxItems 2", strict, 400}} {
		h := newHarness(t, func(o *mock.Options) { o.Spec = tc.doc })
		r := h.get(call("PushApplicationData", "AppId", app, "Data", three))
		if r.status != tc.want {
			t.Fatalf("%s: status %d %s", tc.name, r.status, r.body)
		}
	}
}

func TestSpecOperationWithoutHandlerIsRefused(t *testing.T) {
	extra := bytes.Replace(spec.YAML, []byte("paths:\n"), []byte("paths:\n  /RunInstances:\n    get:\n      operationId: RunInstances\n      responses:\n        \"200\":\n          description: ok\n"), 1)
	if _, err := mock.NewServer(mock.Options{NoListener: true, Spec: extra}); err == nil || !strings.Contains(err.Error(), "RunInstances") {
		t.Fatalf("err %v", err)
	}
}

func TestDownloadURLAndBytes(t *testing.T) {
	h := newHarness(t, nil)
	p := call("PushApplicationData", "AppId", app, "Data", `[{"name":"dir/file.tar","version":"7","size":1000,"url":"http://127.0.0.1/x"}]`)
	pushCodes(t, h.get(p))
	dl := call("DescribeDataDownloadURL", "AppId", app, "DataName", "dir/file.tar", "DataVersion", "7")
	r := h.get(dl)
	if m := r.json(t); len(m["Data"].(map[string]any)["ServerList"].([]any)) != 0 {
		t.Fatalf("servers hold the file before the transfer ends: %s", r.body)
	}
	_ = h.clk.Advance(time.Minute)
	r = h.get(dl)
	d := r.json(t)["Data"].(map[string]any)
	if len(d["ServerList"].([]any)) != 16 || d["ExpireTime"] != "2024-01-01T01:01:00Z" ||
		d["ServerList"].([]any)[0].(map[string]any)["Host"] != "ens.test" { // the host the client used
		t.Fatalf("%s", r.body)
	}
	resp, err := h.srv.HTTPClient().Get("http://ens.test" + d["Url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	want, _ := io.ReadAll(io.LimitReader(mock.SyntheticContent("dir/file.tar", "7"), 1000))
	if resp.StatusCode != 200 || !bytes.Equal(got, want) || resp.Header.Get("X-Ensmock-Content") != "simulated" {
		t.Fatalf("download %d %q len %d", resp.StatusCode, resp.Header.Get("X-Ensmock-Content"), len(got))
	}
	tampered := strings.Replace(d["Url"].(string), "/7?", "/8?", 1)
	if resp, _ := h.srv.HTTPClient().Get("http://ens.test" + tampered); resp.StatusCode != 403 {
		t.Fatalf("tampered link: %d", resp.StatusCode)
	}
	_ = h.clk.Advance(2 * time.Hour)
	if resp, _ := h.srv.HTTPClient().Get("http://ens.test" + d["Url"].(string)); resp.StatusCode != 403 {
		t.Fatalf("expired link: %d", resp.StatusCode)
	}
}

// A response that does not match the spec never reaches a test unnoticed: with
// Options.CheckResponses (the tests' harnesses set it) the mock validates each
// JSON response right after encoding and answers 500 instead.
func TestResponsesAreCheckedAgainstTheSpec(t *testing.T) {
	loose := bytes.Replace(spec.YAML, []byte("enum: [0, 100, 200, 300]"), []byte("enum: [100, 200, 300]"), 1)
	if bytes.Equal(loose, spec.YAML) {
		t.Fatal("the spec has no ResultCode enum 'enum: [0, 100, 200, 300]' to change; update this test")
	}
	h := newHarness(t, func(o *mock.Options) { o.Spec = loose })
	p := call("PushApplicationData", "AppId", app, "Data", data("a"))
	req, _ := http.NewRequest("GET", "http://ens.test/?"+p.Encode(), nil)
	resp, err := h.srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.Contains(string(b), `"Code":"InternalError"`) ||
		!strings.Contains(resp.Header.Get("X-Ensmock-Detail"), "does not match spec/ens.yaml") {
		t.Fatalf("%d %s %q", resp.StatusCode, b, resp.Header.Get("X-Ensmock-Detail"))
	}
	// The same with Action and everything else in a form body.
	p.Set("Data", data("b"))
	req, _ = http.NewRequest("POST", "http://ens.test/", strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = h.srv.HTTPClient().Do(req); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 {
		t.Fatalf("form body: %d", resp.StatusCode)
	}
}
