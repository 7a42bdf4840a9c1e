package mock_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
)

// BenchmarkRequestPath measures the whole request path in-process: decode →
// signature → spec validation → engine → encode, for V1-signed requests whose
// signatures (unique nonces) are computed outside the timed loop.
func BenchmarkRequestPath(b *testing.B) {
	const same = `[{"name":"same","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/x"}]`
	for _, bc := range []struct {
		name   string
		action string
		params func(i int) url.Values
	}{
		{"PushApplicationData/new", "PushApplicationData", func(i int) url.Values {
			return url.Values{"AppId": {app}, "Data": {fmt.Sprintf(`[{"name":"bench-%d","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/x"}]`, i)}}
		}},
		{"PushApplicationData/repeat", "PushApplicationData", func(int) url.Values {
			return url.Values{"AppId": {app}, "Data": {same}}
		}},
		// A client watching its push propagate: the file pushed before timing, on every file server.
		{"DescribeDataPushResult", "DescribeDataPushResult", func(int) url.Values {
			return url.Values{"AppId": {app}, "DataNames": {"same"}, "PageNumber": {"1"}, "PageSize": {"10"}}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Now().UTC()
			srv, err := mock.NewServer(mock.Options{NoListener: true, Clock: clock.New(clock.Manual, 0, now)})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.HTTPHandler()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, benchRequest(now, "PushApplicationData", "setup", url.Values{"AppId": {app}, "Data": {same}}))
			if rec.Code != 200 {
				b.Fatalf("setup push: status %d: %s", rec.Code, rec.Body)
			}
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				reqs[i] = benchRequest(now, bc.action, fmt.Sprintf("nonce-%d", i), bc.params(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, reqs[i])
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchRequest is a V1-signed POST of action with parameters p (completed in
// place) at time now, with the given nonce.
func benchRequest(now time.Time, action, nonce string, p url.Values) *http.Request {
	p.Set("Action", action)
	p.Set("Version", "2017-11-10")
	p.Set("Format", "JSON")
	p.Set("Timestamp", now.Format(signature.TimestampFormat))
	signature.SignV1(http.MethodPost, p, "testid", "testsecret", nonce, now)
	return httptest.NewRequest(http.MethodPost, "/?"+p.Encode(), nil)
}
