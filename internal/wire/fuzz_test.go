package wire

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary query strings, bodies, content types, methods and
// Accept headers to Decode: it never panics, always returns a request with a
// RequestID, answers every failure with a 4xx catalogue error, and on success
// holds a non-empty Action, the one API version and every query parameter.
func FuzzDecode(f *testing.F) {
	f.Add("Action=PushApplicationData&Version=2017-11-10&Format=JSON", "", "", "GET", "")
	f.Add("Action=DescribeDataPushResult", "Version=2017-11-10&AppId=a&Format=xml", "application/x-www-form-urlencoded; charset=utf-8", "POST", "application/json")
	f.Add("Action=X&Version=2017-11-10&Format=YAML", "", "", "GET", "")
	f.Add("a=%zz", "", "", "GET", "")
	f.Add("Action=X&Version=2017-11-10", "b=%", "application/x-www-form-urlencoded", "POST", "")
	f.Add("Action=X&Version=1999-01-01", "", "", "PUT", "")
	f.Add("Action=&Version=", "Action=Y&Version=2017-11-10", "application/x-www-form-urlencoded", "POST", "")
	f.Fuzz(func(t *testing.T, query, body, contentType, method, accept string) {
		if !validMethod(method) {
			method = http.MethodPost
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method = method
		r.URL.RawQuery = query
		if body != "" {
			r.Body = httpBody(body)
		}
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Accept", accept)
		req, err := Decode(r, Limits{MaxBodyBytes: 4096, MaxQueryBytes: 4096})
		if req == nil || len(req.RequestID) != 36 {
			t.Fatalf("no request or bad RequestID: %+v", req)
		}
		if req.Format != JSON && req.Format != XML {
			t.Fatalf("format %d", req.Format)
		}
		if err != nil {
			if err.Status < 400 || err.Status > 499 || err.Code == "" || err.Message == "" {
				t.Fatalf("error %+v", err)
			}
			return
		}
		if req.Action == "" || req.Version != APIVersion {
			t.Fatalf("accepted action %q version %q", req.Action, req.Version)
		}
		if method != http.MethodGet && method != http.MethodPost {
			t.Fatalf("accepted method %q", method)
		}
		for _, kv := range strings.Split(query, "&") {
			k, _, _ := strings.Cut(kv, "=")
			if k == "" || strings.ContainsAny(k, "%+;") {
				continue // encoded keys are checked by url.ParseQuery's own tests
			}
			if !req.Has(k) {
				t.Fatalf("query key %q lost", k)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

type stringBody struct{ *strings.Reader }

func (stringBody) Close() error { return nil }

func httpBody(s string) stringBody { return stringBody{strings.NewReader(s)} }
