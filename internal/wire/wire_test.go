package wire

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestNewRequestIDIsAnUpperCaseUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewRequestID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("request id %q (repeat %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name          string
		method, url   string
		body, ctype   string
		header        map[string]string
		action, param string
		format        Format
		err           string
	}{
		{name: "query", method: "GET", url: "/?Action=A&Version=2017-11-10&Format=json&X=1", action: "A", param: "1", format: JSON},
		{name: "form body", method: "POST", url: "/", body: "Action=A&Version=2017-11-10&X=2&Format=XML", ctype: "application/x-www-form-urlencoded; charset=utf-8", action: "A", param: "2", format: XML},
		{name: "query wins over body", method: "POST", url: "/?X=q&Action=A&Version=2017-11-10", body: "X=b", ctype: "application/x-www-form-urlencoded", action: "A", param: "q"},
		{name: "non-form body ignored", method: "POST", url: "/?Action=A&Version=2017-11-10", body: "X=b", ctype: "application/json", action: "A"},
		{name: "V3 headers", method: "POST", url: "/?X=3", header: map[string]string{"x-acs-action": "A", "x-acs-version": "2017-11-10", "Accept": "application/json"}, action: "A", param: "3", format: JSON},
		{name: "missing action", method: "GET", url: "/?Version=2017-11-10", err: "MissingParameter"},
		{name: "wrong version", method: "GET", url: "/?Action=A&Version=2014-05-26", err: "InvalidVersion"},
		{name: "bad format", method: "GET", url: "/?Action=A&Version=2017-11-10&Format=yaml", err: "InvalidParameter.Format"},
		{name: "bad escape", method: "GET", url: "/?Action=A&X=%zz", err: "InvalidParameter"},
		{name: "DELETE", method: "DELETE", url: "/?Action=A&Version=2017-11-10", err: "UnsupportedHTTPMethod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			req, err := Decode(r, Limits{})
			if tc.err != "" {
				if err == nil || err.Code != tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Action != tc.action || req.Get("X") != tc.param || req.Format != tc.format || string(req.Body) != tc.body {
				t.Fatalf("%+v", req)
			}
		})
	}
}

func TestWriteErrorJSONEnvelope(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, "ID-1", JSON, InvalidParameter("Data").WithDetail("why"))
	want := `{"RequestId":"ID-1","HostId":"ens.aliyuncs.com","Code":"InvalidParameter.Data","Message":"The specified field Data invalid. Please check it again.","Recommend":"https://api.aliyun.com/troubleshoot?q=InvalidParameter.Data&product=Ens&requestId=ID-1"}`
	if rec.Code != 400 || rec.Body.String() != want || rec.Header().Get("Content-Type") != ContentTypeJSON ||
		rec.Header().Get("X-Ensmock-Detail") != "why" || rec.Header().Get("x-acs-request-id") != "ID-1" {
		t.Fatalf("%d %s %v", rec.Code, rec.Body, rec.Header())
	}
}

func TestKnownCodes(t *testing.T) {
	for code, status := range map[string]int{"Throttling.User": 400, "ServiceUnavailable": 503, "InternalError": 500, "InvalidAccessKeyId.NotFound": 404} {
		e, ok := Known(code)
		if !ok || e.Status != status {
			t.Errorf("%s: %v %v", code, e, ok)
		}
	}
	if _, ok := Known("Nope"); ok {
		t.Error("unknown code known")
	}
	e, _ := Known("InternalError")
	e.Status = 599
	if e2, _ := Known("InternalError"); e2.Status != 500 {
		t.Fatal("Known returned the shared catalogue entry")
	}
}
