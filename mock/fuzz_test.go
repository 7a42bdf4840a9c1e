package mock_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/mock"
)

// FuzzPushApplicationData sends any Data, PushStrategy, AppId and Timeout strings
// through the whole HTTP handler (auth off): the answer is 200 with PushResults,
// or a 4xx with the exact error envelope; never a 5xx or a panic.
func FuzzPushApplicationData(f *testing.F) {
	f.Add(`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/x"}]`, "", "app", "", true)
	f.Add(`[{"name":"a","version":"1","size":1,"archiveType":"zip","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://h/a","timeout":5}]`,
		`{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-chengdu-telecom-4"]}}`, "app", "60", false)
	f.Add(`[{"name":"a","version":"1"},{"name":"a","version":"1"}]`, `[{"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":[]}}]`, "", "x", true)
	f.Add(`{"name":"a"}`, `[]`, "app", "-1", true)
	f.Add(`[]`, `{"name":"Other"}`, strings.Repeat("a", 300), "99999999999999999999", false)
	f.Add("\x00\xff", "\"\\ud800\"", "\u00e9", "1e3", true)
	srv, err := mock.NewServer(mock.Options{NoListener: true, AuthOff: true})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.HTTPHandler()
	f.Fuzz(func(t *testing.T, data, strategy, appID, timeout string, form bool) {
		p := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"},
			"Data": {data}, "AppId": {appID}}
		if strategy != "" {
			p.Set("PushStrategy", strategy)
		}
		if timeout != "" {
			p.Set("Timeout", timeout)
		}
		var r *http.Request
		if form {
			r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(p.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodPost, "/?"+p.Encode(), nil)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		checkEnvelope(t, rec, "PushResults")
	})
}

// checkEnvelope asserts a JSON answer is a 200 holding successKey, or a 4xx
// holding exactly the gateway's error envelope.
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder, successKey string) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d, body not JSON: %v: %q", rec.Code, err, rec.Body)
	}
	if rid, _ := body["RequestId"].(string); len(rid) != 36 || rec.Header().Get("x-acs-request-id") != rid {
		t.Fatalf("RequestId %q, header %q", body["RequestId"], rec.Header().Get("x-acs-request-id"))
	}
	switch {
	case rec.Code == http.StatusOK:
		if _, ok := body[successKey]; !ok {
			t.Fatalf("200 without %s: %s", successKey, rec.Body)
		}
	case rec.Code >= 400 && rec.Code < 500:
		if len(body) != 5 {
			t.Fatalf("error envelope has %d keys: %s", len(body), rec.Body)
		}
		for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
			if s, _ := body[k].(string); s == "" {
				t.Fatalf("error envelope: %s missing or empty: %s", k, rec.Body)
			}
		}
	default:
		t.Fatalf("status %d: %s (detail %q)", rec.Code, rec.Body, rec.Header().Get("X-Ensmock-Detail"))
	}
}
