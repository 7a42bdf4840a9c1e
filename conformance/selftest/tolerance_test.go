package selftest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
	"github.com/ensmock/ensmock/spec"
)

// faithful is an implementation that follows the documentation but decides
// differently where it is silent: @core must pass it.
type faithful struct {
	name  string
	opts  func(t *testing.T, o *mock.Options)
	wrap  func(h http.Handler) http.Handler
	setup func(t *testing.T, srv *mock.Server, cfg *conformance.Config) // after the mock starts
	// signing, when set, signs the run with "v1" or "v3".
	signing string
	// differs names an @extended scenario (pinning ensmock's own choice) that
	// must fail: the proof that the variation is real and reaches the suite.
	differs string
}

// realClock is a running clock speed times faster than the wall: transfers of
// seconds pass in milliseconds, and the test never sleeps.
func realClock(speed float64) *clock.Clock {
	return clock.New(clock.Real, speed, time.Now().UTC())
}

// apiError writes the gateway's error envelope in the format the request asked for.
func apiError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	id := "0A1B2C3D-0000-4000-8000-000000000000"
	if strings.EqualFold(r.URL.Query().Get("Format"), "XML") {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>%s</RequestId><HostId>ens.aliyuncs.com</HostId><Code>%s</Code><Message>%s</Message><Recommend><![CDATA[https://api.aliyun.com/troubleshoot?q=%s&product=Ens]]></Recommend></Error>", id, code, message, code)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"RequestId": id, "HostId": "ens.aliyuncs.com", "Code": code, "Message": message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + code + "&product=Ens"})
	_, _ = w.Write(body)
}

// editCode rewrites an error answer whose Code is from (JSON or XML).
func editCode(resp *response, from string, edit func(doc map[string]any)) {
	if !bytes.Contains(resp.body, []byte(from)) {
		return
	}
	editJSON(resp, func(doc map[string]any) {
		if doc["Code"] == from {
			edit(doc)
		}
	})
	if strings.Contains(resp.header.Get("Content-Type"), "xml") {
		doc := map[string]any{"Code": from}
		edit(doc)
		resp.body = bytes.Replace(resp.body, []byte("<Code>"+from+"</Code>"), []byte("<Code>"+doc["Code"].(string)+"</Code>"), 1)
		if m, ok := doc["Message"].(string); ok {
			resp.body = regexp.MustCompile(`<Message>[^<]*</Message>`).ReplaceAll(resp.body, []byte("<Message>"+m+"</Message>"))
		}
	}
}

// required are the documented required parameters of each action.
var required = map[string][]string{
	"PushApplicationData":     {"AppId", "Data"},
	"DescribeDataPushResult":  {"AppId"},
	"DescribeDataDownloadURL": {"AppId", "DataName", "DataVersion"},
	// applications and distribution (apps.feature, dist.feature)
	"CreateApplication":      {"Template"},
	"DescribeApplication":    {"AppId"},
	"DeleteApplication":      {"AppId"},
	"DistApplicationData":    {"AppId", "Data"},
	"DescribeDataDistResult": {"AppId"},
}

// reverseArrays reverses every array of a JSON answer, at every depth.
func reverseArrays(v any) {
	switch t := v.(type) {
	case map[string]any:
		for _, c := range t {
			reverseArrays(c)
		}
	case []any:
		slices.Reverse(t)
		for _, c := range t {
			reverseArrays(c)
		}
	}
}

func faithfulImplementations() []faithful {
	return []faithful{
		{name: "fetch mode with the runner's real files",
			opts: func(t *testing.T, o *mock.Options) { o.Source, o.Clock = mock.SourceFetch, realClock(100) }},
		{name: "another topology: three regions of 1, 3 and 5 file servers",
			opts: func(t *testing.T, o *mock.Options) {
				o.Topology = &engine.Topology{Regions: []engine.Region{
					{ID: "ap-test-alpha-1", Servers: []string{"a1"}},
					{ID: "eu-test-beta-2", Servers: []string{"b1", "b2", "b3"}},
					{ID: "us-test-gamma_unicom-3", Servers: []string{"c1", "c2", "c3", "c4", "c5"}},
				}}
			}},
		{name: "strict apps, an application that already holds 15 data files (--app-id)",
			opts: func(t *testing.T, o *mock.Options) { o.StrictApps = true },
			setup: func(t *testing.T, srv *mock.Server, cfg *conformance.Config) {
				cfg.AppID = "e76f8985-7965-41fc-925b-9648bb6bf650"
				registerAppWithFiles(t, srv, cfg.AppID, 15)
			}},
		{name: "transfers of 1 ms",
			opts: func(t *testing.T, o *mock.Options) {
				o.Clock, o.BaseLatency, o.Bandwidth, o.Jitter = realClock(1), time.Millisecond, 1<<40, -1
			}},
		{name: "transfers of 20 s",
			opts: func(t *testing.T, o *mock.Options) {
				o.Clock, o.BaseLatency, o.Jitter = realClock(1000), 20*time.Second, -1
			}},
		{name: "Missing<Param> for an absent required parameter", differs: "an absent AppId answers exactly MissingParameter",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					var missing string
					for _, p := range required[action(r)] {
						if !r.URL.Query().Has(p) && missing == "" {
							missing = p
						}
					}
					editCode(resp, "MissingParameter", func(doc map[string]any) {
						doc["Code"], doc["Message"] = "Missing"+missing, missing+" is mandatory for this action."
					})
				})
			}},
		{name: "Forbidden.RAM (HTTP 403) for a RAM denial", differs: "a credential whose policy lacks ens:PushApplicationData gets NoPermission",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					editCode(resp, "NoPermission", func(doc map[string]any) {
						doc["Code"] = "Forbidden.RAM"
						doc["Message"] = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
						resp.status = http.StatusForbidden
					})
				})
			}},
		{name: "NotIn and arrays of policies refused", differs: "NotIn pushes to every edge node but the listed ones",
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for _, k := range []string{"PushStrategy", "ServerFilterStrategy"} {
						st := strings.TrimSpace(r.URL.Query().Get(k))
						if strings.Contains(st, `"NotIn"`) || strings.HasPrefix(st, "[") {
							apiError(w, r, http.StatusBadRequest, "InvalidParameter."+k, "The specified field "+k+" invalid. Please check it again.")
							return
						}
					}
					h.ServeHTTP(w, r)
				})
			}},
		{name: "a Data of 300 items accepted", differs: "a strict mock refuses more than 100 data files at once",
			opts: func(t *testing.T, o *mock.Options) {
				// Lift the spec's bound where it has one; a lenient mock (no
				// Strict) accepts more than 100 items anyway.
				if lifted := bytes.Replace(spec.YAML, []byte("maxItems: 100\n"), []byte("maxItems: 1000\n"), 1); !bytes.Equal(lifted, spec.YAML) {
					o.Spec = lifted
				}
			}},
		{name: "every list in another order", differs: "one result per data file, in order, with Name and Version echoed",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					editJSON(resp, func(doc map[string]any) { reverseArrays(doc) })
				})
			}},
		{name: "other descriptive texts (ResultDescrip, StatusDescrip, a lower-case success)", differs: "a strategy that selects only unknown edge nodes answers 300",
			wrap: func(h http.Handler) http.Handler {
				descrip := regexp.MustCompile(`"(ResultDescrip|StatusDescrip)":"[^"]*"`)
				descripXML := regexp.MustCompile(`<(ResultDescrip|StatusDescrip)>[^<]*</(ResultDescrip|StatusDescrip)>`)
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					resp.body = descrip.ReplaceAll(resp.body, []byte(`"$1":"成功 (预推)"`))
					resp.body = descripXML.ReplaceAll(resp.body, []byte(`<$1>成功</$1>`))
					resp.body = bytes.ReplaceAll(resp.body, []byte(`"Message":"Success"`), []byte(`"Message":"success"`))
				})
			}},
		{name: "fields beyond the documentation, content types without charset",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					editJSON(resp, func(doc map[string]any) {
						doc["Success"] = true
						if _, isErr := doc["Code"].(string); isErr {
							doc["AccessDeniedDetail"] = map[string]any{"PolicyType": "AccountLevelIdentityBasedPolicy"}
						}
					})
					switch ct := resp.header.Get("Content-Type"); {
					case strings.Contains(ct, "json"):
						resp.header.Set("Content-Type", "application/json")
					case strings.Contains(ct, "xml"):
						resp.header.Set("Content-Type", "application/xml")
					}
					resp.header.Del("x-acs-request-id")
				})
			}},
		{name: "authentication errors with their other documented statuses", differs: "InvalidAccessKeyId.NotFound answers HTTP 404 with the full envelope (JSON)",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					editCode(resp, "InvalidAccessKeyId.NotFound", func(doc map[string]any) {
						doc["Code"] = "InvalidAccessKeyId"
						resp.status = http.StatusBadRequest
					})
					editCode(resp, "SignatureDoesNotMatch", func(doc map[string]any) { resp.status = http.StatusForbidden })
				})
			}},
		{name: "without PageSize, every data file on one page",
			opts: func(t *testing.T, o *mock.Options) { o.StrictApps = true },
			setup: func(t *testing.T, srv *mock.Server, cfg *conformance.Config) {
				cfg.AppID = "474bdef0-d149-4695-abfb-52912d9143f0"
				registerAppWithFiles(t, srv, cfg.AppID, 25)
			},
			// The metadata's PageSize: "导出全部时可不传入" (omit it to export everything).
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, func(r *http.Request) {
					if action(r) != "DescribeDataPushResult" || r.ContentLength > 0 || r.URL.Query().Has("PageSize") || r.URL.Query().Has("PageNumber") {
						return
					}
					editQuery(r, func(q url.Values) { q.Set("PageSize", "1000") })
				}, nil)
			}},
		{name: "signed with V3, every transfer done before the next request",
			signing: "v3",
			opts: func(t *testing.T, o *mock.Options) {
				o.Clock, o.BaseLatency, o.Jitter = realClock(1), time.Nanosecond, -1
			}},
	}
}

// registerAppWithFiles registers appID for testid (strict apps) and pushes n
// data files to it, served by a local file server, as another user would have.
func registerAppWithFiles(t *testing.T, srv *mock.Server, appID string, n int) {
	t.Helper()
	h := srv.HTTPHandler()
	reg := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/_ensmock/apps", strings.NewReader(`{"accessKeyId":"testid","appId":"`+appID+`"}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(reg, req)
	if reg.Code != http.StatusCreated {
		t.Fatalf("registering %s: HTTP %d %s", appID, reg.Code, reg.Body)
	}
	content := bytes.Repeat([]byte("x"), 100)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(content) }))
	t.Cleanup(files.Close)
	sum := md5.Sum(content)
	var data []map[string]any
	for i := range n {
		data = append(data, map[string]any{"name": fmt.Sprintf("earlier-%02d", i), "version": "1.0", "size": len(content),
			"archiveType": "raw", "md5": hex.EncodeToString(sum[:]), "url": files.URL + fmt.Sprintf("/earlier-%02d", i)})
	}
	raw, _ := json.Marshal(data)
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {conformance.APIVersion}, "Format": {"JSON"}, "AppId": {appID}, "Data": {string(raw)}}
	signature.SignV1(http.MethodPost, q, "testid", "testsecret", "setup-nonce-"+appID, time.Now())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1/?"+q.Encode(), nil))
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		t.Fatalf("pushing %d data files to %s: HTTP %d %s", n, appID, rec.Code, rec.Body)
	}
	results := pushResults(doc)
	for _, r := range results {
		if code, _ := r.(map[string]any)["ResultCode"].(float64); code != 0 {
			t.Fatalf("pushing %d data files to %s: an item was refused: %s", n, appID, rec.Body)
		}
	}
	if len(results) != n {
		t.Fatalf("pushing %d data files to %s: %d results: %s", n, appID, len(results), rec.Body)
	}
}

// TestCoreToleratesFaithfulImplementations: every alternative faithful
// implementation passes @core, with no control plane, on a real clock. Where
// a variation has an @extended scenario pinning ensmock's choice, the whole
// suite runs (but @control) and that scenario must fail: the variation is real.
func TestCoreToleratesFaithfulImplementations(t *testing.T) {
	cases := faithfulImplementations()
	if len(cases) < 10 {
		t.Fatalf("only %d faithful implementations", len(cases))
	}
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			opts := mock.Options{Clock: realClock(1000), TimestampClock: mock.TimestampWall}
			if fc.opts != nil {
				fc.opts(t, &opts)
			}
			srv := newMock(t, opts)
			h := srv.HTTPHandler()
			if fc.wrap != nil {
				h = fc.wrap(h)
			}
			var out bytes.Buffer
			cfg := config(h, &out)
			cfg.ControlURL, cfg.Tags, cfg.Signing = "", "@core", fc.signing
			if fc.differs != "" {
				cfg.Tags = "@core, @extended, @strict" // @strict too: a lenient mock is what differs from it
			}
			cfg.PollTimeout = 30 * time.Second
			if fc.setup != nil {
				fc.setup(t, srv, &cfg)
			}
			res := run(t, cfg)
			core := res.ByTag["@core"]
			if core.Failed > 0 || core.Passed < 30 {
				t.Fatalf("@core fails the faithful implementation %q (%d passed, %d failed):\n%s", fc.name, core.Passed, core.Failed, out.String())
			}
			if fc.differs == "" {
				return
			}
			for _, sc := range res.Scenarios {
				if sc.Name == fc.differs {
					if sc.Outcome != conformance.Failed {
						t.Errorf("the @extended scenario %q passes: %q does not differ from ensmock", fc.differs, fc.name)
					}
					return
				}
			}
			t.Errorf("no scenario %q ran", fc.differs)
		})
	}
}
