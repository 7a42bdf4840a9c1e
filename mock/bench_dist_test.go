package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// BenchmarkDistRequestPath measures DistApplicationData and
// DescribeDataDistResult through the whole request path, against an app of
// 100 instances whose data file was pushed (and distributed) before timing.
func BenchmarkDistRequestPath(b *testing.B) {
	const data = `[{"name":"same","version":"1.0"}]`
	for _, bc := range []struct {
		name   string
		action string
		params func(app string, i int) url.Values
	}{
		// a client distributing again data that every instance holds (nothing restarts)
		{"DistApplicationData/repeat", "DistApplicationData", func(app string, _ int) url.Values {
			return url.Values{"AppId": {app}, "Data": {data}}
		}},
		{"DistApplicationData/canary", "DistApplicationData", func(app string, _ int) url.Values {
			return url.Values{"AppId": {app}, "Data": {data}, "DistStrategy": {`{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["cn-wuxi-5"]}]}}`}}
		}},
		// a client watching its dist propagate: one file on 100 instances
		{"DescribeDataDistResult", "DescribeDataDistResult", func(app string, _ int) url.Values {
			return url.Values{"AppId": {app}, "DataNames": {"same"}, "PageNumber": {"1"}, "PageSize": {"10"}}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Now().UTC()
			clk := clock.New(clock.Manual, 0, now)
			srv, err := mock.NewServer(mock.Options{NoListener: true, Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.HTTPHandler()
			setup := func(action, nonce string, p url.Values) []byte {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, benchRequest(now, action, nonce, p))
				if rec.Code != 200 {
					b.Fatalf("setup %s: status %d: %s", action, rec.Code, rec.Body)
				}
				return rec.Body.Bytes()
			}
			var created struct{ AppId string }
			_ = json.Unmarshal(setup("CreateApplication", "s1", url.Values{"Template": {`{"appMetaData":{"appName":"bench"},"resourceSelector":[{"count":100}]}`}}), &created)
			app := created.AppId
			setup("PushApplicationData", "s2", url.Values{"AppId": {app}, "Data": {`[{"name":"same","version":"1.0","size":100,"url":"http://127.0.0.1/x"}]`}})
			_ = clk.Advance(time.Minute)
			setup("DistApplicationData", "s3", url.Values{"AppId": {app}, "Data": {data}})
			_ = clk.Advance(time.Minute)
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				reqs[i] = benchRequest(now, bc.action, fmt.Sprintf("nonce-%d", i), bc.params(app, i))
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
