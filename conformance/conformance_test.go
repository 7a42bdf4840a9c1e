package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/signature"
)

func TestParseBodyXML(t *testing.T) {
	b := parseBody([]byte(`<?xml version="1.0" encoding="UTF-8"?><PushApplicationDataResponse><RequestId>R1</RequestId>` +
		`<PushResults><PushResult><Name>a</Name><Version>1</Version><ResultCode>0</ResultCode><ResultDescrip>ok</ResultDescrip></PushResult></PushResults>` +
		`</PushApplicationDataResponse>`))
	if b.Err != nil || b.Format != "XML" || b.Root != "PushApplicationDataResponse" {
		t.Fatalf("parse: %+v", b)
	}
	rs, err := b.pushResults()
	if err != nil || len(rs) != 1 || rs[0] != (pushResult{Name: "a", Version: "1", Descrip: "ok", Code: 0}) {
		t.Fatalf("one XML PushResult: %+v, %v", rs, err)
	}
	two := parseBody([]byte(`<R><PushResults><PushResult><Name>a</Name><Version>1</Version><ResultCode>100</ResultCode></PushResult>` +
		`<PushResult><Name>b</Name><Version>2</Version><ResultCode>200</ResultCode></PushResult></PushResults></R>`))
	rs, err = two.pushResults()
	if err != nil || len(rs) != 2 || rs[1].Name != "b" || rs[1].Code != 200 {
		t.Fatalf("two XML PushResults: %+v, %v", rs, err)
	}
	if b := parseBody([]byte(`<a></a><b></b>`)); b.Err == nil {
		t.Error("two roots parsed")
	}
}

func TestParseBodyJSON(t *testing.T) {
	b := parseBody([]byte(`{"RequestId":"R","PushResults":{"PushResult":[{"Name":"a","Version":"1","ResultCode":300,"ResultDescrip":"no"}]}}`))
	rs, err := b.pushResults()
	if err != nil || len(rs) != 1 || rs[0].Code != 300 || rs[0].Descrip != "no" {
		t.Fatalf("%+v, %v", rs, err)
	}
	if _, err := parseBody([]byte(`{"RequestId":"R"}`)).pushResults(); err == nil {
		t.Error("a body without PushResults has push results")
	}
	for _, raw := range []string{"", "plain text", "{not json"} {
		if b := parseBody([]byte(raw)); b.Err == nil {
			t.Errorf("%q parsed", raw)
		}
	}
}

func TestFileStatuses(t *testing.T) {
	b := parseBody([]byte(`{"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[` +
		`{"Status":"SUCCESS","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"r1"}]}},` +
		`{"Status":"PUSHING","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"r2"}]}}]}}]}}`))
	fs, err := b.fileStatuses()
	if err != nil || len(fs) != 1 || fs[0].Regions["r1"] != "SUCCESS" || fs[0].Regions["r2"] != "PUSHING" {
		t.Fatalf("%+v, %v", fs, err)
	}
	for name, raw := range map[string]string{
		"unknown status": `{"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"DONE","RegionIdCount":0,"RegionIds":{"RegionId":[]}}]}}]}}`,
		"wrong count":    `{"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"SUCCESS","RegionIdCount":2,"RegionIds":{"RegionId":[{"RegionId":"r1"}]}}]}}]}}`,
		"region twice":   `{"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"SUCCESS","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"r1"}]}},{"Status":"FAILED","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"r1"}]}}]}}]}}`,
	} {
		if _, err := parseBody([]byte(raw)).fileStatuses(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "100 bytes": 100, "1 KB": 1024, "300 MB": 300 << 20, "1 TB": 1 << 40, "2GB": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "1 PB", "-1"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestTagFilter(t *testing.T) {
	for _, tc := range []struct {
		in        string
		noControl bool
		want      string
	}{
		{"", false, "~@strict"},
		{"", true, "~@control && ~@strict"},
		{"@core", true, "@core && ~@control && ~@strict"},
		{"@core and not @xml or @auth", false, "@core && ~@xml && ~@strict,@auth && ~@strict"},
		{"@core && !@xml || @auth", true, "@core && ~@xml && ~@control && ~@strict,@auth && ~@control && ~@strict"},
		{"@a,@b", false, "@a && ~@strict,@b && ~@strict"},
		// @strict runs only when asked for; ~@strict is not asked for.
		{"@strict", false, "@strict"},
		{"@extended && @strict", true, "@extended && @strict && ~@control"},
		{"~@strict", false, "~@strict"},
	} {
		got, err := tagFilter(tc.in, tc.noControl)
		if err != nil || got != tc.want {
			t.Errorf("tagFilter(%q, %v) = %q, %v; want %q", tc.in, tc.noControl, got, err, tc.want)
		}
	}
	for _, bad := range []string{"(@a or @b) and @c", "@a &&", "core", "@a and"} {
		if got, err := tagFilter(bad, false); err == nil {
			t.Errorf("tagFilter(%q) = %q, accepted", bad, got)
		}
	}
}

func TestReadKnownFailing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known")
	content := "# comment\n\n  auth.feature: a scenario  \n*: wrong * secret\njust a name\nsub/*.feature:x: y\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readKnownFailing(path)
	if err != nil || len(got) != 4 {
		t.Fatalf("%+v, %v", got, err)
	}
	for i, want := range [][2]string{{"auth.feature", "a scenario"}, {"*", "wrong * secret"}, {"*", "just a name"}, {"sub/*.feature", "x: y"}} {
		if got[i].feature != want[0] || got[i].scenario != want[1] {
			t.Errorf("entry %d: %q: %q, want %q", i, got[i].feature, got[i].scenario, want)
		}
	}
	if got[0].line != 3 {
		t.Errorf("the first entry is on line %d, want 3", got[0].line)
	}
	for _, tc := range []struct {
		entry     int
		uri, name string
		want      bool
	}{
		{0, "auth.feature", "a scenario", true},
		{0, "auth.feature", "a scenario too", false},
		{0, "xml.feature", "a scenario", false},
		{0, "deep/auth.feature", "a scenario", true}, // by base name
		{1, "errors.feature", "a request with a wrong secret is refused", false},
		{1, "errors.feature", "wrong key secret", true},
		{2, "anything.feature", "just a name", true},
		{3, "sub/a.feature", "x: y", true},
		{3, "a.feature", "x: y", false},
	} {
		if got := got[tc.entry].matches(tc.uri, tc.name); got != tc.want {
			t.Errorf("entry %d matches(%q, %q) = %v, want %v", tc.entry, tc.uri, tc.name, got, tc.want)
		}
	}
	if _, err := readKnownFailing(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file is accepted")
	}
	for _, bad := range []string{"auth.feature:\n", ": name\n", "auth.feature: [unclosed\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readKnownFailing(path); err == nil || !strings.Contains(err.Error(), ":1:") {
			t.Errorf("%q: %v, want an error naming line 1", bad, err)
		}
	}
}

func TestUnmatchedKnownFailing(t *testing.T) {
	selected := [][2]string{{"auth.feature", "a wrong secret is refused"}, {"xml.feature", "XML root"}}
	known := []knownEntry{{line: 1, text: "auth.feature: a wrong *", feature: "auth.feature", scenario: "a wrong *"},
		{line: 2, text: "*.feature: XML*", feature: "*.feature", scenario: "XML*"}}
	if err := unmatchedKnown(known, selected, "list"); err != nil {
		t.Fatal(err)
	}
	known = append(known, knownEntry{line: 7, text: "auth.feature: XML root", feature: "auth.feature", scenario: "XML root"})
	err := unmatchedKnown(known, selected, "list")
	var nj *NotJudgedError
	if !errors.As(err, &nj) || nj.Check != "known-failing" || !strings.Contains(nj.Reason, "list:7") || !strings.Contains(nj.Reason, "auth.feature: XML root") {
		t.Errorf("an entry matching nothing: %v", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no endpoint": {AccessKeyID: "a", AccessKeySecret: "b"},
		"no key":      {Endpoint: "127.0.0.1:1"},
		"bad signing": {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", Signing: "v2"},
		"bad format":  {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", Formats: []string{"no-such-format"}},
		"bad tags":    {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", Tags: "(@a)"},
		"no scenario": {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", Tags: "@no-such-tag"},
		"no control":  {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", ControlURL: "http://127.0.0.1:1"},
		"bad list":    {Endpoint: "127.0.0.1:1", AccessKeyID: "a", AccessKeySecret: "b", KnownFailing: filepath.Join(t.TempDir(), "x")},
	} {
		cfg.Output = &strings.Builder{}
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: refuse{}}
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: Run accepted the configuration", name)
		}
	}
}

type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) { return nil, os.ErrDeadlineExceeded }

// TestSigning: requests signed by the client verify with the signature package
// (V1) and carry what the V3 verifier needs.
func TestSigning(t *testing.T) {
	c := call{Action: "PushApplicationData", Params: url.Values{"AppId": {"a"}, "Data": {"[]"}}, Format: "XML",
		Cred: credential{"testid", "testsecret"}, Skew: -time.Hour}
	v1 := &target{endpoint: "http://127.0.0.1:8080"}
	method, raw, h, _ := v1.build(c)
	u, _ := url.Parse(raw)
	q := u.Query()
	if _, ok := signature.VerifyV1(method, q, "testsecret"); !ok || q.Get("Format") != "XML" || q.Get("Action") != "PushApplicationData" {
		t.Errorf("V1: %s %s does not verify", method, raw)
	}
	if ts, _ := time.Parse(signature.TimestampFormat, q.Get("Timestamp")); time.Since(ts) < 59*time.Minute {
		t.Errorf("V1: the skew is not applied: %s", q.Get("Timestamp"))
	}
	if h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("V1 POST without the SDK's form content type: %v", h)
	}
	v3 := &target{endpoint: "http://127.0.0.1:8080", v3: true}
	c.Format = "JSON"
	method, raw, h, body := v3.build(c)
	req, _ := http.NewRequest(method, raw, nil)
	req.Header = h.Clone()
	req.Host = h.Get("Host")
	req.Header.Del("Host")
	if _, _, err := signature.VerifyV3(req, body, "testsecret"); err != nil {
		t.Errorf("V3: %v\n%v", err, h)
	}
	if h.Get("Accept") != "application/json" || strings.Contains(raw, "Format=") || strings.Contains(raw, "Action=") {
		t.Errorf("V3 JSON: %s %v", raw, h)
	}
}

func TestDumpShowsTheExchange(t *testing.T) {
	ex := &exchange{Method: "POST", URL: "http://127.0.0.1/?Action=X", ReqHeader: http.Header{"Content-Type": {"x"}},
		Status: 400, RespHeader: http.Header{"X-Acs-Request-Id": {"R"}}, RespBody: []byte(`{"Code":"C"}`)}
	d := ex.Dump()
	for _, want := range []string{"POST http://127.0.0.1/?Action=X", "Content-Type: x", "(empty body)", "HTTP 400 Bad Request", "X-Acs-Request-Id: R", `{"Code":"C"}`} {
		if !strings.Contains(d, want) {
			t.Errorf("the dump lacks %q:\n%s", want, d)
		}
	}
	var nilEx *exchange
	if !strings.Contains(nilEx.Dump(), "no request") {
		t.Error("the dump of no exchange")
	}
}
