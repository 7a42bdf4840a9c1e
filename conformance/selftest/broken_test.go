package selftest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/signature"
	"github.com/ensmock/ensmock/spec"
)

// response is an answer of the mock that a broken implementation rewrites.
type response struct {
	status int
	header http.Header
	body   []byte
}

// rewrite wraps the API (not the control plane) of h: edit may change the
// request before the mock sees it and the answer after.
func rewrite(h http.Handler, editReq func(r *http.Request), editResp func(r *http.Request, resp *response)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_ensmock/") {
			h.ServeHTTP(w, r)
			return
		}
		if editReq != nil {
			editReq(r)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		resp := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		if editResp != nil {
			editResp(r, resp)
		}
		for k, v := range resp.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.body)
	})
}

func action(r *http.Request) string {
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	return r.Header.Get("x-acs-action")
}

var secrets = map[string]string{"testid": "testsecret", "denied-id": "denied-secret"}

// editQuery changes the query of a V1-signed request and signs it again, as
// the client would have had it sent that way (a request whose signature was
// wrong to begin with stays wrong).
func editQuery(r *http.Request, edit func(q url.Values)) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return
	}
	secret, known := secrets[q.Get("AccessKeyId")]
	_, valid := signature.VerifyV1(r.Method, q, secret)
	edit(q)
	if known && valid {
		signature.SignV1(r.Method, q, q.Get("AccessKeyId"), secret, q.Get("SignatureNonce"), time.Time{}) // the Timestamp is kept
	}
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
}

// editJSON rewrites a JSON body in place (numbers kept as they are).
func editJSON(resp *response, edit func(doc map[string]any)) {
	if !strings.Contains(resp.header.Get("Content-Type"), "json") {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(resp.body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return
	}
	edit(doc)
	resp.body, _ = json.Marshal(doc)
}

func pushResults(doc map[string]any) []any {
	pr, _ := doc["PushResults"].(map[string]any)
	list, _ := pr["PushResult"].([]any)
	return list
}

func setPushResults(doc map[string]any, list []any) {
	if pr, ok := doc["PushResults"].(map[string]any); ok {
		pr["PushResult"] = list
	}
}

var resultCodeXML = regexp.MustCompile(`<ResultCode>\d+</ResultCode>`)

// specWithout returns the embedded spec with the first "required: true" after
// the declaration of parameter name turned to false.
func specWithout(t *testing.T, name string) []byte {
	t.Helper()
	s := string(spec.YAML)
	decl := "- name: " + name + "\n"
	i := strings.Index(s, decl)
	j := strings.Index(s[i:], "required: true")
	if i < 0 || j < 0 {
		t.Fatalf("spec: no required parameter %s", name)
	}
	return []byte(s[:i+j] + "required: false" + s[i+j+len("required: true"):])
}

// broken is a deliberately broken implementation and a scenario that must catch it.
type broken struct {
	name   string
	opts   func(t *testing.T, o *mock.Options)
	wrap   func(h http.Handler) http.Handler
	caught string // a scenario that must fail
}

func brokenImplementations() []broken {
	return []broken{
		{name: "ResultCode always 0", caught: "pushing again answers 200 or 100",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if action(r) != "PushApplicationData" {
						return
					}
					resp.body = resultCodeXML.ReplaceAll(resp.body, []byte("<ResultCode>0</ResultCode>"))
					editJSON(resp, func(doc map[string]any) {
						for _, v := range pushResults(doc) {
							v.(map[string]any)["ResultCode"] = 0
						}
					})
				})
			}},
		{name: "PushStrategy ignored", caught: "In limits the push to the listed edge node",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, func(r *http.Request) {
					editQuery(r, func(q url.Values) { q.Del("PushStrategy") })
				}, nil)
			}},
		{name: "NotIn read as In", caught: "NotIn pushes to every edge node but the listed ones",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, func(r *http.Request) {
					editQuery(r, func(q url.Values) {
						if s := q.Get("PushStrategy"); s != "" {
							q.Set("PushStrategy", strings.ReplaceAll(s, `"NotIn"`, `"In"`))
						}
					})
				}, nil)
			}},
		{name: "Data not required", caught: "an absent Data answers exactly MissingParameter",
			opts: func(t *testing.T, o *mock.Options) { o.Spec = specWithout(t, "Data") }},
		{name: "AppId not required", caught: "AppId is required",
			opts: func(t *testing.T, o *mock.Options) { o.Spec = specWithout(t, "AppId") }},
		{name: "wrong error code", caught: "a credential whose policy lacks ens:PushApplicationData is refused",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					resp.body = bytes.ReplaceAll(resp.body, []byte("NoPermission"), []byte("Forbidden.RAM"))
				})
			}},
		{name: "HTTP 200 for errors", caught: "the error envelope has string fields",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if resp.status >= 400 {
						resp.status = http.StatusOK
					}
				})
			}},
		{name: "no RequestId in bodies", caught: "the error envelope has string fields",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					editJSON(resp, func(doc map[string]any) { delete(doc, "RequestId") })
					resp.body = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`).ReplaceAll(resp.body, nil)
				})
			}},
		{name: "RequestId differs from x-acs-request-id", caught: "the error's RequestId is the x-acs-request-id header",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					resp.header.Set("x-acs-request-id", "00000000-0000-4000-8000-000000000000")
				})
			}},
		{name: "Timeout honoured", caught: "Timeout is accepted and has no effect",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if r.URL.Query().Get("Timeout") == "" {
						return
					}
					resp.status = http.StatusBadRequest
					resp.header.Set("Content-Type", "application/json;charset=utf-8")
					resp.body = []byte(`{"RequestId":"0A1B2C3D-0000-4000-8000-000000000000","HostId":"ens.aliyuncs.com","Code":"InvalidParameter.Timeout","Message":"The specified field Timeout invalid. Please check it again.","Recommend":""}`)
				})
			}},
		{name: "wrong XML root", caught: "a push answers under <PushApplicationDataResponse>",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					resp.body = bytes.ReplaceAll(resp.body, []byte("PushApplicationDataResponse>"), []byte("Response>"))
				})
			}},
		{name: "signature not checked", caught: "a request signed with the wrong secret is refused",
			opts: func(t *testing.T, o *mock.Options) { o.AuthOff = true }},
		{name: "permission not enforced", caught: "a credential whose policy lacks ens:PushApplicationData is refused",
			opts: func(t *testing.T, o *mock.Options) {
				o.Credentials = []mock.Credential{
					{AccessKeyID: "testid", AccessKeySecret: "testsecret", Allow: []string{"ens:*"}},
					{AccessKeyID: "denied-id", AccessKeySecret: "denied-secret", Allow: []string{"ens:*"}},
				}
			}},
		{name: "stale status in Describe (always PUSHING)", caught: "push results agree with DescribeDataPushResult",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if action(r) != "DescribeDataPushResult" {
						return
					}
					resp.body = regexp.MustCompile(`"Status":"[A-Z]+"`).ReplaceAll(resp.body, []byte(`"Status":"PUSHING"`))
					resp.body = regexp.MustCompile(`<Status>[A-Z]+</Status>`).ReplaceAll(resp.body, []byte(`<Status>PUSHING</Status>`))
				})
			}},
		{name: "each PushResult twice", caught: "one result per data file, with Name and Version echoed",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if action(r) != "PushApplicationData" {
						return
					}
					editJSON(resp, func(doc map[string]any) {
						var twice []any
						for _, v := range pushResults(doc) {
							twice = append(twice, v, v)
						}
						setPushResults(doc, twice)
					})
				})
			}},
		{name: "PushResults out of order", caught: "one result per data file, in order, with Name and Version echoed",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if action(r) != "PushApplicationData" {
						return
					}
					editJSON(resp, func(doc map[string]any) {
						list := pushResults(doc)
						slices.Reverse(list)
						setPushResults(doc, list)
					})
				})
			}},
		{name: "ResultCode as a JSON string", caught: "a fresh push answers ResultCode 0",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					resp.body = regexp.MustCompile(`"ResultCode":(\d+)`).ReplaceAll(resp.body, []byte(`"ResultCode":"$1"`))
				})
			}},
		{name: "JSON answered as text/plain", caught: "a fresh push answers ResultCode 0",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, nil, func(r *http.Request, resp *response) {
					if strings.Contains(resp.header.Get("Content-Type"), "json") {
						resp.header.Set("Content-Type", "text/plain;charset=utf-8")
					}
				})
			}},
		{name: "unsigned requests accepted", caught: "a request without any signature parameter is refused",
			opts: func(t *testing.T, o *mock.Options) { o.AuthOff = true }},
		{name: "DataNames filter ignored", caught: "DataNames filters by name",
			wrap: func(h http.Handler) http.Handler {
				return rewrite(h, func(r *http.Request) {
					editQuery(r, func(q url.Values) { q.Del("DataNames") })
				}, nil)
			}},
	}
}

// TestSuiteCatchesBrokenImplementations: each deliberately broken
// implementation makes at least one scenario fail, among them the one named.
func TestSuiteCatchesBrokenImplementations(t *testing.T) {
	cases := brokenImplementations()
	if len(cases) < 12 {
		t.Fatalf("only %d broken implementations", len(cases))
	}
	for _, bc := range cases {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			var opts mock.Options
			if bc.opts != nil {
				bc.opts(t, &opts)
			}
			srv := newMock(t, opts)
			h := srv.HTTPHandler()
			if bc.wrap != nil {
				h = bc.wrap(h)
			}
			var out bytes.Buffer
			cfg := config(h, &out)
			cfg.Tags = "~@strict" // ensmock's own limits are refused only by a strict mock
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
