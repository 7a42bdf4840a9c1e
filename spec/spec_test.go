package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validationOptions are the options the mock uses (as wire.NewValidator: body excluded, no authentication).
func validationOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		ExcludeRequestBody: true,
		MultiError:         false,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
}

func mustLoad(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return doc
}

// official reads a verbatim example from testdata/official. Parameter examples are published
// with their quotes escaped (\"); they are unescaped here, as a caller would type them.
func official(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "official", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".json") {
		return strings.TrimSpace(string(b)) // a response body: its escapes are JSON's own
	}
	return strings.ReplaceAll(strings.TrimSpace(string(b)), `\"`, `"`)
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func operation(t *testing.T, doc *openapi3.T, action string) (*openapi3.PathItem, *openapi3.Operation) {
	t.Helper()
	item := doc.Paths.Value("/" + action)
	if item == nil || item.Get == nil {
		t.Fatalf("no GET /%s in the document", action)
	}
	return item, item.Get
}

// contentSchema returns the application/json schema of a content parameter.
func contentSchema(t *testing.T, doc *openapi3.T, action, param string) *openapi3.Schema {
	t.Helper()
	_, op := operation(t, doc, action)
	p := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, param)
	if p == nil {
		t.Fatalf("%s has no query parameter %s", action, param)
	}
	mt := p.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("%s.%s is not an application/json content parameter", action, param)
	}
	return mt.Schema.Value
}

func responseSchema(t *testing.T, doc *openapi3.T, action string, status int) *openapi3.MediaType {
	t.Helper()
	_, op := operation(t, doc, action)
	r := op.Responses.Status(status)
	if r == nil {
		t.Fatalf("%s has no %d response", action, status)
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("%s %d has no application/json schema", action, status)
	}
	return mt
}

func TestLoad(t *testing.T) {
	doc := mustLoad(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	again, err := Load()
	if err != nil || again != doc {
		t.Fatalf("Load is not memoised: %p %p %v", doc, again, err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

func TestActions(t *testing.T) {
	doc := mustLoad(t)
	want := []string{"CreateApplication", "DeleteApplication", "DescribeApplication", "DescribeDataDistResult", "DescribeDataDownloadURL",
		"DescribeDataPushResult", "DistApplicationData", "ListApplications", "PushApplicationData"}
	if got := Actions(doc); !reflect.DeepEqual(got, want) {
		t.Fatalf("Actions = %v, want %v", got, want)
	}
	if Actions(nil) != nil {
		t.Error("Actions(nil) != nil")
	}
}

// Every operation sits at the pseudo-path /{Action}, has operationId == Action, is declared
// under get only, and declares only query parameters with a description.
func TestOperationIDIsPath(t *testing.T) {
	doc := mustLoad(t)
	for path, item := range doc.Paths.Map() {
		t.Run(path, func(t *testing.T) {
			ops := item.Operations()
			if len(ops) != 1 || item.Get == nil {
				t.Fatalf("operations %v, want only get", slices.Sorted(maps.Keys(ops)))
			}
			for method, op := range ops {
				if want := strings.TrimPrefix(path, "/"); op.OperationID != want {
					t.Errorf("%s %s: operationId %q, want %q", method, path, op.OperationID, want)
				}
				if len(op.Parameters) == 0 {
					t.Errorf("%s %s: no parameters", method, path)
				}
				for _, p := range op.Parameters {
					if p.Value.In != openapi3.ParameterInQuery {
						t.Errorf("%s: parameter %s is in %s, want query", path, p.Value.Name, p.Value.In)
					}
					if p.Value.Description == "" {
						t.Errorf("%s: parameter %s has no description", path, p.Value.Name)
					}
				}
				for _, code := range []int{200, 400, 404, 500, 503} {
					if op.Responses.Status(code) == nil {
						t.Errorf("%s: no %d response", path, code)
					}
				}
				if op.Responses.Default() == nil {
					t.Errorf("%s: no default response", path)
				}
			}
		})
	}
}

func TestMethods(t *testing.T) {
	doc := mustLoad(t)
	for _, tc := range []struct {
		action string
		want   []string
	}{
		{"PushApplicationData", []string{"GET", "POST"}},
		{"DescribeDataPushResult", []string{"GET", "POST"}},
		{"DescribeDataDownloadURL", []string{"GET"}},
		{"NoSuchAction", nil},
	} {
		if got := Methods(doc, tc.action); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Methods(%s) = %v, want %v", tc.action, got, tc.want)
		}
	}
	// Without the extension: the declared methods.
	plain, err := Parse(bytes.ReplaceAll(YAML, []byte("    x-ensmock-methods:"), []byte("    x-ignored:")))
	if err != nil {
		t.Fatal(err)
	}
	if got := Methods(plain, "PushApplicationData"); !reflect.DeepEqual(got, []string{"GET"}) {
		t.Errorf("Methods without extension = %v, want [GET]", got)
	}
}

func TestLoadConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	docs := make([]*openapi3.T, 8)
	for i := range docs {
		wg.Go(func() {
			docs[i], _ = Load()
		})
	}
	wg.Wait()
	for _, d := range docs {
		if d == nil || d != docs[0] {
			t.Fatal("Load returned different or nil documents")
		}
	}
}

// Guards the decision to declare each operation under get only: OpenAPI (and kin-openapi's
// Validate) requires unique operation ids, so a post alias carrying the same operationId makes
// the document invalid. The accepted methods live in x-ensmock-methods instead.
func TestPostAliasWithSameOperationIDIsInvalid(t *testing.T) {
	alias := bytes.Replace(YAML,
		[]byte("  /DescribeDataDownloadURL:\n"),
		[]byte("  /DescribeDataDownloadURL:\n    post:\n      operationId: DescribeDataDownloadURL\n      responses:\n        default:\n          description: x\n"),
		1)
	if bytes.Equal(alias, YAML) {
		t.Fatal("could not inject the post alias")
	}
	_, err := Parse(alias)
	if err == nil || !strings.Contains(err.Error(), "same operation id") {
		t.Fatalf("Parse with a duplicate operationId: err = %v, want a duplicate operation id error", err)
	}
}

func TestParse(t *testing.T) {
	if _, err := Parse([]byte("openapi: 3.0.3\ninfo: [")); err == nil {
		t.Error("Parse accepted broken YAML")
	}
	if _, err := Parse([]byte("openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\npaths:\n  /X:\n    get:\n      responses: {}\n")); err == nil {
		t.Error("Parse accepted an invalid document (operation without responses)")
	}

	// A test can change a constraint and get a working document (examples still valid).
	tight := bytes.Replace(YAML, []byte("      required: [name, version]\n"), []byte("      required: [name, version, colour]\n"), 1)
	if bytes.Equal(tight, YAML) {
		t.Fatal("could not change DataFile.required")
	}
	tight = bytes.ReplaceAll(tight, []byte(`url: http://xxxx`), []byte("url: http://xxxx\n                  colour: red"))
	tight = bytes.ReplaceAll(tight, []byte(`url: http://xxxxxx`), []byte("url: http://xxxxxx\n                  colour: red"))
	doc, err := Parse(tight)
	if err != nil {
		t.Fatalf("Parse(modified): %v", err)
	}
	data := decodeJSON(t, `[{"name":"a","version":"1","url":"u","timeout":5000}]`)
	if err := contentSchema(t, doc, "PushApplicationData", "Data").VisitJSON(data); err == nil {
		t.Error("an item without colour accepted with required: [.., colour]")
	}
	// ... and the embedded document is untouched.
	if err := contentSchema(t, mustLoad(t), "PushApplicationData", "Data").VisitJSON(data); err != nil {
		t.Errorf("embedded document changed: %v", err)
	}

	// The document's examples are validated too: a constraint the official example breaks
	// makes the document invalid.
	strict := bytes.Replace(YAML, []byte("    DataFiles:\n      type: array\n"), []byte("    DataFiles:\n      type: array\n      maxItems: 1\n"), 1)
	if bytes.Equal(strict, YAML) {
		t.Fatal("could not change DataFiles.maxItems")
	}
	if _, err := Parse(strict); err == nil || !strings.Contains(err.Error(), "invalid example") {
		t.Errorf("Parse with an example that breaks maxItems: err = %v", err)
	}
}

// The official request examples, typed as the doc shows them (with \" unescaped), validate
// against their parameter schemas, and the document carries the same value as its example.
func TestOfficialRequestExamples(t *testing.T) {
	doc := mustLoad(t)
	for _, tc := range []struct{ action, param string }{
		{"PushApplicationData", "Data"},
		{"PushApplicationData", "PushStrategy"},
		{"DescribeDataDownloadURL", "ServerFilterStrategy"},
		{"CreateApplication", "Template"},
		{"DistApplicationData", "Data"},
		{"DistApplicationData", "DistStrategy"},
		{"DescribeApplication", "OutDetailStatParams"},
		{"DescribeApplication", "ResourceSelector"},
		{"ListApplications", "OutAppInfoParams"},
	} {
		t.Run(tc.action+"."+tc.param, func(t *testing.T) {
			v := decodeJSON(t, official(t, tc.action+"."+tc.param+".txt"))
			if err := contentSchema(t, doc, tc.action, tc.param).VisitJSON(v); err != nil {
				t.Fatalf("official example rejected: %v", err)
			}
			_, op := operation(t, doc, tc.action)
			ex := op.Parameters.GetByInAndName("query", tc.param).Content.Get("application/json").Example
			if !reflect.DeepEqual(jsonRoundTrip(t, ex), v) {
				t.Errorf("document example %v differs from the official one %v", ex, v)
			}
		})
	}
}

func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, string(b))
}

const goodStrategy = `{"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":["cn-chengdu-telecom-4"]}}`

func TestContentParameterValues(t *testing.T) {
	doc := mustLoad(t)
	long := func(n int) string { return strings.Repeat("a", n) }
	items := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"name":"n","version":"1","url":"http://x"}`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	strategies := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = goodStrategy
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	for _, tc := range []struct {
		name, param, value string
		ok                 bool
	}{
		{"minimal item", "Data", `[{"name":"a","version":"1","url":"http://x"}]`, true},
		{"unknown keys ignored", "Data", `[{"name":"a","version":"1","url":"http://x","colour":"blue"}]`, true},
		{"hex md5", "Data", `[{"name":"a","version":"1","url":"u","md5":"D41D8CD98F00B204E9800998ECF8427E"}]`, true},
		{"size 0", "Data", `[{"name":"a","version":"1","url":"u","size":0}]`, true},
		{"every archive type", "Data", `[{"name":"a","version":"1","url":"u","archiveType":"tar.gz"},{"name":"a","version":"1","url":"u","archiveType":"tgz"},{"name":"a","version":"1","url":"u","archiveType":"tar"},{"name":"a","version":"1","url":"u","archiveType":"zip"},{"name":"a","version":"1","url":"u","archiveType":"gz"},{"name":"a","version":"1","url":"u","archiveType":"raw"}]`, true},
		{"100 items", "Data", items(100), true},
		{"timeout bounds", "Data", `[{"name":"a","version":"1","url":"u","timeout":1},{"name":"a","version":"1","url":"u","timeout":86400}]`, true},

		{"not an array", "Data", `{"name":"a","version":"1","url":"http://x"}`, false},
		{"not JSON", "Data", `app01`, false},
		{"empty array", "Data", `[]`, true},     // an ensmock limit (mock/limits.go), not a constraint of the document
		{"101 items", "Data", items(101), true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"item not an object", "Data", `["app01"]`, false},
		{"item missing name", "Data", `[{"version":"1","url":"http://x"}]`, false},
		{"item missing version", "Data", `[{"name":"a","url":"http://x"}]`, false},
		{"item missing url", "Data", `[{"name":"a","version":"1"}]`, true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"empty name", "Data", `[{"name":"","version":"1","url":"http://x"}]`, false},
		{"name too long", "Data", `[{"name":"` + long(513) + `","version":"1","url":"u"}]`, true},                          // an ensmock limit (mock/limits.go), not a constraint of the document
		{"url too long", "Data", `[{"name":"a","version":"1","url":"` + long(2049) + `"}]`, true},                          // an ensmock limit (mock/limits.go), not a constraint of the document
		{"size as string", "Data", `[{"name":"a","version":"1","url":"u","size":"100"}]`, true},                            // an ensmock limit (mock/limits.go), not a constraint of the document
		{"size negative", "Data", `[{"name":"a","version":"1","url":"u","size":-1}]`, true},                                // an ensmock limit (mock/limits.go), not a constraint of the document
		{"size fractional", "Data", `[{"name":"a","version":"1","url":"u","size":1.5}]`, true},                             // an ensmock limit (mock/limits.go), not a constraint of the document
		{"md5 too long", "Data", `[{"name":"a","version":"1","url":"u","md5":"d41d8cd98f00b204e9800998ecf8427e0"}]`, true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"md5 with punctuation", "Data", `[{"name":"a","version":"1","url":"u","md5":"d41d8cd9-8f00-b204"}]`, true},        // an ensmock limit (mock/limits.go), not a constraint of the document
		{"md5 as number", "Data", `[{"name":"a","version":"1","url":"u","md5":123}]`, true},                                // an ensmock limit (mock/limits.go), not a constraint of the document
		{"unknown archive type", "Data", `[{"name":"a","version":"1","url":"u","archiveType":"rar"}]`, true},               // an ensmock limit (mock/limits.go), not a constraint of the document
		{"archive type case", "Data", `[{"name":"a","version":"1","url":"u","archiveType":"ZIP"}]`, true},                  // an ensmock limit (mock/limits.go), not a constraint of the document
		{"timeout 0", "Data", `[{"name":"a","version":"1","url":"u","timeout":0}]`, true},                                  // an ensmock limit (mock/limits.go), not a constraint of the document
		{"timeout above a day", "Data", `[{"name":"a","version":"1","url":"u","timeout":86401}]`, true},                    // an ensmock limit (mock/limits.go), not a constraint of the document

		{"one strategy", "PushStrategy", goodStrategy, true},
		{"array of strategies", "PushStrategy", `[` + goodStrategy + `,` + goodStrategy + `]`, true},
		{"10 strategies", "PushStrategy", strategies(10), true},
		{"unknown keys ignored", "PushStrategy", `{"name":"ScheduleToRegionId","priority":1,"parameters":{"operator":"In","values":["r"],"x":true}}`, true},

		{"not JSON", "PushStrategy", `ScheduleToRegionId`, false},
		{"JSON string", "PushStrategy", `"ScheduleToRegionId"`, false},
		{"empty array", "PushStrategy", `[]`, true},                                                                                                     // an ensmock limit (mock/limits.go), not a constraint of the document
		{"11 strategies", "PushStrategy", strategies(11), true},                                                                                         // an ensmock limit (mock/limits.go), not a constraint of the document
		{"unknown strategy name", "PushStrategy", `{"name":"ScheduleToIsp","parameters":{"operator":"In","values":["r"]}}`, true},                       // an ensmock limit (mock/limits.go), not a constraint of the document
		{"unknown strategy name in array", "PushStrategy", `[` + goodStrategy + `,{"name":"Foo","parameters":{"operator":"In","values":["r"]}}]`, true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"missing parameters", "PushStrategy", `{"name":"ScheduleToRegionId"}`, false},
		{"unknown operator", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"Equals","values":["r"]}}`, true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"operator case", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"in","values":["r"]}}`, true},        // an ensmock limit (mock/limits.go), not a constraint of the document
		{"empty values", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[]}}`, true},            // an ensmock limit (mock/limits.go), not a constraint of the document
		{"values not an array", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":"r"}}`, false},
		{"empty region id", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[""]}}`, true}, // an ensmock limit (mock/limits.go), not a constraint of the document
		{"region id not a string", "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[4]}}`, false},
	} {
		t.Run(tc.param+"/"+tc.name, func(t *testing.T) {
			schema := contentSchema(t, doc, "PushApplicationData", tc.param)
			// What kin-openapi does with a content parameter: JSON-decode it, and if that fails
			// (and the schema is not type: object) validate the raw string instead.
			var v any
			if err := json.Unmarshal([]byte(tc.value), &v); err != nil {
				v = tc.value
			}
			err := schema.VisitJSON(v)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// The same strategy schema is shared by PushStrategy and ServerFilterStrategy.
func TestStrategySchemaShared(t *testing.T) {
	doc := mustLoad(t)
	a := contentSchema(t, doc, "PushApplicationData", "PushStrategy")
	b := contentSchema(t, doc, "DescribeDataDownloadURL", "ServerFilterStrategy")
	if a != b {
		t.Error("PushStrategy and ServerFilterStrategy do not share #/components/schemas/Strategies")
	}
}

func TestOfficialResponseExamples(t *testing.T) {
	doc := mustLoad(t)
	for _, action := range Actions(doc) {
		t.Run(action, func(t *testing.T) {
			mt := responseSchema(t, doc, action, 200)
			v := decodeJSON(t, official(t, action+".200.json"))
			if err := mt.Schema.Value.VisitJSON(v); err != nil {
				t.Fatalf("official response example rejected: %v", err)
			}
			if mt.Example == nil {
				t.Fatal("no example in the document")
			}
			if err := mt.Schema.Value.VisitJSON(jsonRoundTrip(t, mt.Example)); err != nil {
				t.Fatalf("document example rejected: %v", err)
			}
		})
	}
}

func TestBadResponses(t *testing.T) {
	doc := mustLoad(t)
	for _, tc := range []struct {
		name, action, body string
	}{
		{"missing RequestId", "PushApplicationData", `{"PushResults":{"PushResult":[]}}`},
		{"missing PushResults", "PushApplicationData", `{"RequestId":"r"}`},
		{"PushResult not wrapped", "PushApplicationData", `{"RequestId":"r","PushResults":[]}`},
		{"unknown ResultCode", "PushApplicationData", `{"RequestId":"r","PushResults":{"PushResult":[{"Name":"a","Version":"1","ResultCode":1,"ResultDescrip":""}]}}`},
		{"ResultCode as string", "PushApplicationData", `{"RequestId":"r","PushResults":{"PushResult":[{"Name":"a","Version":"1","ResultCode":"100","ResultDescrip":""}]}}`},
		{"merged SDK field", "PushApplicationData", `{"RequestId":"r","PushResults":{"PushResult":[{"Name":"a","Version":"1","ResultCode":0,"ResultDescrip":"","StatusStatS":{}}]}}`},
		{"lower-case key", "PushApplicationData", `{"requestId":"r","PushResults":{"PushResult":[]}}`},
		{"missing TotalCount", "DescribeDataPushResult", `{"RequestId":"r","PageNumber":1,"PageSize":10,"PushResults":{"PushResult":[]}}`},
		{"StatusStats spelling", "DescribeDataPushResult", `{"RequestId":"r","PageNumber":1,"PageSize":10,"TotalCount":1,"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStats":{"StatusStat":[]}}]}}`},
		{"unknown Status", "DescribeDataPushResult", `{"RequestId":"r","PageNumber":1,"PageSize":10,"TotalCount":1,"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"DONE","RegionIdCount":0,"RegionIds":{"RegionId":[]}}]}}]}}`},
		{"InstanceCount emitted", "DescribeDataPushResult", `{"RequestId":"r","PageNumber":1,"PageSize":10,"TotalCount":1,"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"SUCCESS","RegionIdCount":0,"InstanceCount":"0","RegionIds":{"RegionId":[]}}]}}]}}`},
		{"local time", "DescribeDataPushResult", `{"RequestId":"r","PageNumber":1,"PageSize":10,"TotalCount":1,"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"SUCCESS","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"x","StartTime":"2021-12-28T16:00:00+08:00","StatusDescrip":"","UpdateTime":"2021-12-28T16:00:00Z"}]}}]}}]}}`},
		{"ServerList wrapped", "DescribeDataDownloadURL", `{"RequestId":"r","Code":0,"Message":"Success","Data":{"Url":"/f","ExpireTime":"2021-12-10T03:36:27Z","ServerList":{"Server":[]}}}`},
		{"Code as string", "DescribeDataDownloadURL", `{"RequestId":"r","Code":"0","Message":"Success","Data":{"Url":"/f","ExpireTime":"2021-12-10T03:36:27Z","ServerList":[]}}`},
		{"missing Data", "DescribeDataDownloadURL", `{"RequestId":"r","Code":0,"Message":"Success"}`},
	} {
		t.Run(tc.action+"/"+tc.name, func(t *testing.T) {
			mt := responseSchema(t, doc, tc.action, 200)
			if err := mt.Schema.Value.VisitJSON(decodeJSON(t, tc.body)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestErrorSchema(t *testing.T) {
	doc := mustLoad(t)
	schema := doc.Components.Schemas["Error"].Value
	good := `{"RequestId":"r","HostId":"ens.aliyuncs.com","Code":"MissingParameter","Message":"m","Recommend":"https://api.aliyun.com/troubleshoot?q=MissingParameter&product=Ens"}`
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"envelope", good, true},
		{"with AccessDeniedDetail", strings.Replace(good, `{`, `{"AccessDeniedDetail":{"PolicyType":"AccountLevelIdentityBasedPolicy"},`, 1), true},
		{"missing Recommend", `{"RequestId":"r","HostId":"h","Code":"c","Message":"m"}`, false},
		// The v1 Go SDK panics on a non-string Code (docs/wire.md §10).
		{"numeric Code", strings.Replace(good, `"MissingParameter"`, `400`, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := schema.VisitJSON(decodeJSON(t, tc.body))
			if tc.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tc.ok, err)
			}
		})
	}
	for _, action := range Actions(doc) {
		mt := responseSchema(t, doc, action, 400)
		if mt.Schema.Value != schema {
			t.Errorf("%s 400 does not use #/components/schemas/Error", action)
		}
		if err := schema.VisitJSON(jsonRoundTrip(t, mt.Example)); err != nil {
			t.Errorf("%s: error example rejected: %v", action, err)
		}
	}
}

// requestInput presents a request as the mock does: GET /<Action>?<merged params>, with the
// route built directly from doc.Paths (no router).
func requestInput(t *testing.T, doc *openapi3.T, action string, query url.Values) *openapi3filter.RequestValidationInput {
	t.Helper()
	item, op := operation(t, doc, action)
	req, err := http.NewRequest(http.MethodGet, "/"+action+"?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &openapi3filter.RequestValidationInput{
		Request:     req,
		QueryParams: req.URL.Query(),
		Route:       &routers.Route{Spec: doc, Path: "/" + action, PathItem: item, Method: http.MethodGet, Operation: op},
		Options:     validationOptions(),
	}
}

// errorCode maps an openapi3filter.ValidateRequest error to the Alibaba error code. This is
// the mapping the wire layer should use; what kin-openapi v0.153.0 returns (all with
// MultiError false, so at most one error, for the first failing parameter in declaration
// order, which puts the required parameters first):
//
//   - Always a *openapi3filter.RequestError with Parameter set (Parameter.Name is the
//     offending parameter); Reason is often "", so use Parameter.Name and Err, not Reason.
//   - (a) Missing required plain parameter (AppId, DataName, DataVersion):
//     Err == openapi3filter.ErrInvalidRequired (errors.Is works).
//     Missing required CONTENT parameter (Data): Err is a plain
//     fmt error `parameter "Data" is required, but missing`, NOT ErrInvalidRequired.
//     So decide "missing" by presence: Parameter.Required && the name is absent from the
//     merged params → MissingParameter. Present but empty (AppId=) is a SchemaError
//     (minLength) → InvalidParameter.AppId.
//   - (b) Data not JSON (Data=app01, Data=): no parse error. kin-openapi falls back to the
//     raw string when json.Unmarshal fails and the schema is not type: object, so Err is a
//     *openapi3.SchemaError with SchemaField "type", Reason "value must be an array".
//   - (c) Data JSON but invalid: *openapi3.SchemaError; JSONPointer() locates the fault
//     inside the value (e.g. [0 size]), SchemaField is the keyword ("type", "required", ...).
//   - (d) PushStrategy / ServerFilterStrategy oneOf failure (also for non-JSON): a
//     *openapi3.SchemaError with SchemaField "oneOf", Reason
//     `value doesn't match any schema from "oneOf"`, empty JSONPointer; its Error() text
//     names the first alternative's failure only ("doesn't match schema due to: ...").
//   - (e) PageNumber=0: *openapi3.SchemaError, SchemaField "minimum".
//     PageNumber=abc (or 1.5, or beyond int32): *openapi3filter.ParseError, Kind
//     KindInvalidFormat, Reason "an invalid integer". PageNumber= (empty):
//     Err == openapi3filter.ErrInvalidEmptyValue.
//
// Every case other than "missing" → InvalidParameter.<Parameter.Name>. Error() strings of
// SchemaErrors embed the schema and the value (unless openapi3.SchemaErrorDetailsDisabled),
// so the client-facing Message must be the fixed catalogue text, never err.Error().
func errorCode(err error, params url.Values) string {
	if err == nil {
		return ""
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) || re.Parameter == nil {
		return "InternalError"
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) || (re.Parameter.Required && !params.Has(re.Parameter.Name)) {
		return "MissingParameter"
	}
	return "InvalidParameter." + re.Parameter.Name
}

func TestValidateRequest(t *testing.T) {
	doc := mustLoad(t)
	data := official(t, "PushApplicationData.Data.txt")
	strategy := official(t, "PushApplicationData.PushStrategy.txt")
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	var (
		schemaErr *openapi3.SchemaError
		parseErr  *openapi3filter.ParseError
	)
	for _, tc := range []struct {
		name   string
		action string
		query  url.Values
		want   string // "" or the Alibaba error code
		// errAs, if set, is the type the RequestError's Err must have (errors.As target).
		errAs any
		// field is the SchemaError's SchemaField, when errAs is a SchemaError.
		field string
	}{
		{"official examples", "PushApplicationData", q("AppId", "e76f8985-7965-41fc-925b-9648bb6bf650", "Data", data, "PushStrategy", strategy, "Timeout", "1800"), "", nil, ""},
		{"common parameters ignored", "PushApplicationData", q("Action", "PushApplicationData", "Version", "2017-11-10", "Format", "JSON", "AccessKeyId", "testid", "Signature", "x", "SignatureMethod", "HMAC-SHA1", "Timestamp", "2024-01-01T00:00:00Z", "RegionId", "cn-hangzhou", "AppId", "a", "Data", data), "", nil, ""},
		{"(a) missing AppId", "PushApplicationData", q("Data", data), "MissingParameter", nil, ""},
		{"(a) missing Data", "PushApplicationData", q("AppId", "a"), "MissingParameter", nil, ""},
		{"(a) missing both: AppId reported first", "PushApplicationData", q(), "MissingParameter", nil, ""},
		{"(a') empty AppId", "PushApplicationData", q("AppId", "", "Data", data), "InvalidParameter.AppId", &schemaErr, "minLength"},
		{"(b) Data not JSON", "PushApplicationData", q("AppId", "a", "Data", "app01"), "InvalidParameter.Data", &schemaErr, "type"},
		{"(b) Data empty", "PushApplicationData", q("AppId", "a", "Data", ""), "InvalidParameter.Data", &schemaErr, "type"},
		{"(c) Data item missing name", "PushApplicationData", q("AppId", "a", "Data", `[{"version":"1","url":"u"}]`), "InvalidParameter.Data", &schemaErr, "required"},
		{"(c) Data size as string: an ensmock limit, not a document constraint", "PushApplicationData", q("AppId", "a", "Data", `[{"name":"a","version":"1","url":"u","size":"1"}]`), "", nil, ""},
		{"(c) Data item not an object", "PushApplicationData", q("AppId", "a", "Data", `["a"]`), "InvalidParameter.Data", &schemaErr, "type"},
		{"(c) Data name not a string", "PushApplicationData", q("AppId", "a", "Data", `[{"name":1,"version":"1"}]`), "InvalidParameter.Data", &schemaErr, "type"},
		{"(c) Data object not array", "PushApplicationData", q("AppId", "a", "Data", `{"name":"a","version":"1","url":"u"}`), "InvalidParameter.Data", &schemaErr, "type"},
		{"(d) PushStrategy unknown name: an ensmock limit", "PushApplicationData", q("AppId", "a", "Data", data, "PushStrategy", `{"name":"Foo","parameters":{"operator":"In","values":["r"]}}`), "", nil, ""},
		{"(d) PushStrategy without parameters", "PushApplicationData", q("AppId", "a", "Data", data, "PushStrategy", `{"name":"ScheduleToRegionId"}`), "InvalidParameter.PushStrategy", &schemaErr, "oneOf"},
		{"(d) PushStrategy array with values not an array", "PushApplicationData", q("AppId", "a", "Data", data, "PushStrategy", `[{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":"r"}}]`), "InvalidParameter.PushStrategy", &schemaErr, "oneOf"},
		{"(d) PushStrategy not JSON", "PushApplicationData", q("AppId", "a", "Data", data, "PushStrategy", "In"), "InvalidParameter.PushStrategy", &schemaErr, "oneOf"},
		{"Timeout not an integer", "PushApplicationData", q("AppId", "a", "Data", data, "Timeout", "abc"), "InvalidParameter.Timeout", &parseErr, ""},

		{"describe minimal", "DescribeDataPushResult", q("AppId", "a"), "", nil, ""},
		{"describe all", "DescribeDataPushResult", q("AppId", "a", "DataNames", "x,y", "DataVersions", "1,2", "RegionIds", "cn-wuxi-5", "MinDate", "2022-02-15", "MaxDate", "2022-02-20", "PageNumber", "2", "PageSize", "1000"), "", nil, ""},
		{"(e) PageNumber=0", "DescribeDataPushResult", q("AppId", "a", "PageNumber", "0"), "InvalidParameter.PageNumber", &schemaErr, "minimum"},
		{"(e) PageNumber=abc", "DescribeDataPushResult", q("AppId", "a", "PageNumber", "abc"), "InvalidParameter.PageNumber", &parseErr, ""},
		{"(e) PageNumber beyond int32", "DescribeDataPushResult", q("AppId", "a", "PageNumber", "2147483648"), "InvalidParameter.PageNumber", &parseErr, ""},
		{"(e) PageNumber empty", "DescribeDataPushResult", q("AppId", "a", "PageNumber", ""), "InvalidParameter.PageNumber", nil, ""},
		{"PageSize=1001: an ensmock limit", "DescribeDataPushResult", q("AppId", "a", "PageSize", "1001"), "", nil, ""},
		{"PageSize beyond int32", "DescribeDataPushResult", q("AppId", "a", "PageSize", "2147483648"), "InvalidParameter.PageSize", &parseErr, ""},
		{"MinDate format", "DescribeDataPushResult", q("AppId", "a", "MinDate", "2022/02/15"), "InvalidParameter.MinDate", &schemaErr, "pattern"},
		{"describe missing AppId", "DescribeDataPushResult", q("PageNumber", "1"), "MissingParameter", nil, ""},

		{"download official", "DescribeDataDownloadURL", q("AppId", "a", "DataName", "mirror_file/pk.tar", "DataVersion", "7895", "ServerFilterStrategy", official(t, "DescribeDataDownloadURL.ServerFilterStrategy.txt"), "ExpireTimeout", "600"), "", nil, ""},
		{"download missing DataVersion", "DescribeDataDownloadURL", q("AppId", "a", "DataName", "n"), "MissingParameter", nil, ""},
		{"download bad operator: an ensmock limit", "DescribeDataDownloadURL", q("AppId", "a", "DataName", "n", "DataVersion", "1", "ServerFilterStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"Eq","values":["r"]}}`), "", nil, ""},
		{"download operator not a string", "DescribeDataDownloadURL", q("AppId", "a", "DataName", "n", "DataVersion", "1", "ServerFilterStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":1,"values":["r"]}}`), "InvalidParameter.ServerFilterStrategy", &schemaErr, "oneOf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := openapi3filter.ValidateRequest(context.Background(), requestInput(t, doc, tc.action, tc.query))
			if got := errorCode(err, tc.query); got != tc.want {
				t.Fatalf("code %q, want %q (err: %v)", got, tc.want, err)
			}
			if err == nil {
				return
			}
			var re *openapi3filter.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("%T, want *openapi3filter.RequestError", err)
			}
			if tc.errAs != nil && !errors.As(re.Err, tc.errAs) {
				t.Fatalf("Err is %T, want %T", re.Err, tc.errAs)
			}
			if tc.field != "" {
				var se *openapi3.SchemaError
				errors.As(re.Err, &se)
				if se.SchemaField != tc.field {
					t.Errorf("SchemaField %q, want %q", se.SchemaField, tc.field)
				}
			}
		})
	}
}

// Pins the exact shapes the wire layer relies on (see errorCode).
func TestValidateRequestErrorShapes(t *testing.T) {
	doc := mustLoad(t)
	validate := func(action string, query url.Values) *openapi3filter.RequestError {
		t.Helper()
		err := openapi3filter.ValidateRequest(context.Background(), requestInput(t, doc, action, query))
		var re *openapi3filter.RequestError
		if !errors.As(err, &re) {
			t.Fatalf("%v (%T), want a *openapi3filter.RequestError", err, err)
		}
		return re
	}

	// (a) missing plain required parameter.
	re := validate("PushApplicationData", url.Values{"Data": {`[{"name":"a","version":"1","url":"u"}]`}})
	if re.Parameter.Name != "AppId" || !errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		t.Errorf("missing AppId: param %s, Err %v", re.Parameter.Name, re.Err)
	}
	// (a) missing content parameter: not ErrInvalidRequired.
	re = validate("PushApplicationData", url.Values{"AppId": {"a"}})
	if re.Parameter.Name != "Data" || errors.Is(re.Err, openapi3filter.ErrInvalidRequired) ||
		re.Err.Error() != `parameter "Data" is required, but missing` {
		t.Errorf("missing Data: param %s, Err %v", re.Parameter.Name, re.Err)
	}
	// (c) the JSON pointer into Data.
	re = validate("PushApplicationData", url.Values{"AppId": {"a"}, "Data": {`[{"name":"a","version":"1","url":"u"},{"name":"b","version":2,"url":"u"}]`}})
	var se *openapi3.SchemaError
	if !errors.As(re.Err, &se) || !reflect.DeepEqual(se.JSONPointer(), []string{"1", "version"}) || se.SchemaField != "type" {
		t.Errorf("version not a string: %#v", re.Err)
	}
	// (d) oneOf.
	re = validate("PushApplicationData", url.Values{"AppId": {"a"}, "Data": {`[{"name":"a","version":"1","url":"u"}]`}, "PushStrategy": {`{"name":"X","parameters":{}}`}})
	if !errors.As(re.Err, &se) || se.SchemaField != "oneOf" || se.Reason != `value doesn't match any schema from "oneOf"` {
		t.Errorf("oneOf: %#v", re.Err)
	}
	// (e) PageNumber=abc.
	re = validate("DescribeDataPushResult", url.Values{"AppId": {"a"}, "PageNumber": {"abc"}})
	var pe *openapi3filter.ParseError
	if !errors.As(re.Err, &pe) || pe.Kind != openapi3filter.KindInvalidFormat || pe.Reason != "an invalid integer" {
		t.Errorf("PageNumber=abc: %#v", re.Err)
	}
	// (e) PageNumber empty.
	re = validate("DescribeDataPushResult", url.Values{"AppId": {"a"}, "PageNumber": {""}})
	if !errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) {
		t.Errorf("PageNumber empty: %#v", re.Err)
	}
}

// Side effect to know about: unless Options.SkipSettingDefaults is set, ValidateRequest writes
// the schema defaults of absent parameters (PageNumber=1, PageSize=10) into the request's
// URL.RawQuery. The presented request is synthetic, so this is harmless (and can be used).
func TestValidateRequestSetsDefaults(t *testing.T) {
	doc := mustLoad(t)
	in := requestInput(t, doc, "DescribeDataPushResult", url.Values{"AppId": {"a"}})
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got := in.Request.URL.Query()
	if got.Get("PageNumber") != "1" || got.Get("PageSize") != "10" {
		t.Errorf("query after validation: %v", got)
	}

	in = requestInput(t, doc, "DescribeDataPushResult", url.Values{"AppId": {"a"}})
	in.Options.SkipSettingDefaults = true
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if in.Request.URL.Query().Has("PageNumber") {
		t.Error("SkipSettingDefaults did not skip")
	}
}

func TestValidateResponse(t *testing.T) {
	doc := mustLoad(t)
	for _, tc := range []struct {
		name, action string
		status       int
		body         string
		ok           bool
	}{
		{"official 200", "PushApplicationData", 200, official(t, "PushApplicationData.200.json"), true},
		{"official 200", "DescribeDataPushResult", 200, official(t, "DescribeDataPushResult.200.json"), true},
		{"official 200", "DescribeDataDownloadURL", 200, official(t, "DescribeDataDownloadURL.200.json"), true},
		{"error 400", "PushApplicationData", 400, `{"RequestId":"r","HostId":"ens.aliyuncs.com","Code":"InvalidParameter.Data","Message":"The specified field Data invalid. Please check it again.","Recommend":"https://api.aliyun.com/troubleshoot?q=InvalidParameter.Data&product=Ens"}`, true},
		{"error 403 via default", "PushApplicationData", 403, `{"RequestId":"r","HostId":"h","Code":"Forbidden.RAM","Message":"m","Recommend":"x"}`, true},
		{"200 without RequestId", "PushApplicationData", 200, `{"PushResults":{"PushResult":[]}}`, false},
		{"error without HostId", "DescribeDataPushResult", 400, `{"RequestId":"r","Code":"c","Message":"m","Recommend":"x"}`, false},
	} {
		t.Run(tc.action+"/"+tc.name, func(t *testing.T) {
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: requestInput(t, doc, tc.action, url.Values{}),
				Status:                 tc.status,
				Header:                 http.Header{"Content-Type": {"application/json;charset=utf-8"}},
				Body:                   io.NopCloser(strings.NewReader(tc.body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true},
			}
			err := openapi3filter.ValidateResponse(context.Background(), in)
			if tc.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tc.ok, err)
			}
		})
	}
}
