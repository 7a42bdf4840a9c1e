package selftest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
)

// Broken implementations of the application and distribution actions: each
// must fail the named scenario of apps.feature, dist.feature or workflow.feature.
func brokenAppImplementations() []broken {
	onAction := func(name string, edit func(resp *response)) func(h http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return rewrite(h, nil, func(r *http.Request, resp *response) {
				if action(r) == name && resp.status == http.StatusOK {
					edit(resp)
				}
			})
		}
	}
	dropParam := func(param string) func(h http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return rewrite(h, func(r *http.Request) { editQuery(r, func(q url.Values) { q.Del(param) }) }, nil)
		}
	}
	return []broken{
		{name: "dist of unpushed data accepted", caught: "data that was never pushed is not distributed",
			wrap: onAction("DistApplicationData", func(resp *response) {
				resp.body = regexp.MustCompile(`"ResultCode":400`).ReplaceAll(resp.body, []byte(`"ResultCode":0`))
			})},
		{name: "DistStrategy ignored", caught: "a canary by edge node distributes only to the instances there",
			wrap: dropParam("DistStrategy")},
		{name: "EnsRegionIds ignored", caught: "EnsRegionIds filters the described instances by edge node",
			wrap: dropParam("EnsRegionIds")},
		{name: "InstanceIds ignored", caught: "InstanceIds filters the described instances",
			wrap: dropParam("InstanceIds")},
		{name: "StatusStatS spelt as in DescribeDataPushResult", caught: "DescribeDataDistResult spells StatusStats with a lower-case s and InstanceCount as a string",
			wrap: onAction("DescribeDataDistResult", func(resp *response) {
				resp.body = bytes.ReplaceAll(resp.body, []byte("StatusStats"), []byte("StatusStatS"))
			})},
		{name: "InstanceCount a number", caught: "DescribeDataDistResult spells StatusStats with a lower-case s and InstanceCount as a string",
			wrap: onAction("DescribeDataDistResult", func(resp *response) {
				resp.body = regexp.MustCompile(`"InstanceCount":"(\d+)"`).ReplaceAll(resp.body, []byte(`"InstanceCount":$1`))
			})},
		{name: "dist stuck in DISTING", caught: "pushed data is distributed to every instance of the application",
			wrap: onAction("DescribeDataDistResult", func(resp *response) {
				resp.body = bytes.ReplaceAll(resp.body, []byte(`"Status":"SUCCESS"`), []byte(`"Status":"DISTING"`))
			})},
		{name: "Application an object, not a JSON string", caught: "DescribeApplication answers the application as a JSON string",
			wrap: onAction("DescribeApplication", func(resp *response) {
				editJSON(resp, func(doc map[string]any) {
					var app any
					if s, ok := doc["Application"].(string); ok && json.Unmarshal([]byte(s), &app) == nil {
						doc["Application"] = app
					}
				})
			})},
		{name: "created application not listed", caught: "a created application is listed with its AppId",
			wrap: onAction("ListApplications", func(resp *response) {
				editJSON(resp, func(doc map[string]any) {
					doc["Applications"] = map[string]any{"Application": []any{}}
				})
			})},
		{name: "DeleteApplication does nothing", caught: "DeleteApplication releases the application: then the AppId is gone",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, func(r *http.Request) {
					if action(r) == "DeleteApplication" {
						editQuery(r, func(q url.Values) { q.Set("AppId", "conform-no-such-app") })
					}
				}, func(r *http.Request, resp *response) {
					if action(r) == "DeleteApplication" {
						resp.status = http.StatusOK
						resp.header.Set("Content-Type", "application/json;charset=utf-8")
						resp.body = []byte(`{"RequestId":"0A1B2C3D-0000-4000-8000-000000000000"}`)
					}
				})
			}},
		{name: "Template not required", caught: "an absent Template answers exactly MissingParameter",
			opts: func(t *testing.T, o *mock.Options) { o.Spec = specWithout(t, "Template") }},
	}
}

func TestSuiteCatchesBrokenAppImplementations(t *testing.T) {
	for _, bc := range brokenAppImplementations() {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			var opts mock.Options
			if bc.opts != nil {
				bc.opts(t, &opts)
			}
			h := newMock(t, opts).HTTPHandler()
			if bc.wrap != nil {
				h = bc.wrap(h)
			}
			var out bytes.Buffer
			cfg := config(h, &out)
			cfg.Tags = "@apps, @dist, @workflow"
			res := run(t, cfg)
			if res.Passed {
				t.Fatalf("no scenario caught %q:\n%s", bc.name, out.String())
			}
			var failed []string
			for _, s := range res.Scenarios {
				if s.Outcome == conformance.Failed {
					failed = append(failed, s.Name)
				}
			}
			t.Logf("%d scenarios caught %q: %s", len(failed), bc.name, strings.Join(failed, "; "))
			if !slices.Contains(failed, bc.caught) {
				t.Errorf("the scenario %q did not catch %q", bc.caught, bc.name)
			}
		})
	}
}
