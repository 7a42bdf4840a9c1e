package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/internal/control"
)

// limitCase is a request that breaks exactly one ensmock limit.
type limitCase struct {
	limit  *limit
	name   string
	action string
	kv     []string
	param  string // InvalidParameter.<param> in strict mode
	// lenient checks what the mock did with the accepted request.
	lenient func(t *testing.T, f *fx, r reply)
}

func item1(extra string) string {
	return `[{"name":"a","version":"1","url":"http://127.0.0.1/a"` + extra + `}]`
}

// pushedFile returns the one data file of the fixture's state.
func pushedFile(t *testing.T, f *fx, name string) map[string]any {
	t.Helper()
	var st struct {
		Accounts []struct {
			Apps []struct {
				Files []map[string]any
			}
		}
	}
	if err := json.Unmarshal(f.ctl("GET", "/_ensmock/state", "").body, &st); err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Accounts {
		for _, p := range a.Apps {
			for _, fl := range p.Files {
				if fl["name"] == name {
					return fl
				}
			}
		}
	}
	t.Fatalf("no data file %q in the state", name)
	return nil
}

func codes(t *testing.T, r reply) []int {
	t.Helper()
	var body struct{ PushResults struct{ PushResult []pushed } }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	out := []int{}
	for _, p := range body.PushResults.PushResult {
		out = append(out, p.ResultCode)
	}
	return out
}

func wantCodes(want ...int) func(t *testing.T, f *fx, r reply) {
	return func(t *testing.T, f *fx, r reply) {
		t.Helper()
		if got := codes(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("result codes %v, want %v", got, want)
		}
	}
}

func wantField(name, key string, want any) func(t *testing.T, f *fx, r reply) {
	return func(t *testing.T, f *fx, r reply) {
		t.Helper()
		if got := pushedFile(t, f, name)[key]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s of %s is %v, want %v", key, name, got, want)
		}
	}
}

// wantDist checks a DistApplicationData answer: how many instances it
// targets and the result code of each item.
func wantDist(instances int, codes ...int) func(t *testing.T, f *fx, r reply) {
	return func(t *testing.T, f *fx, r reply) {
		t.Helper()
		var body struct {
			DistInstanceTotalCount int
			DistResults            struct{ DistResult []struct{ ResultCode int } }
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		got := []int{}
		for _, d := range body.DistResults.DistResult {
			got = append(got, d.ResultCode)
		}
		if body.DistInstanceTotalCount != instances || fmt.Sprint(got) != fmt.Sprint(codes) {
			t.Fatalf("%d instances, result codes %v; want %d, %v: %s", body.DistInstanceTotalCount, got, instances, codes, r.body)
		}
	}
}

// createdApp checks a CreateApplication answer: the app's name (AppId: the
// AppId itself) and its instances per ENS node.
func createdApp(name string, perRegion map[string]int) func(t *testing.T, f *fx, r reply) {
	return func(t *testing.T, f *fx, r reply) {
		t.Helper()
		id, _ := r.obj(t)["AppId"].(string)
		d := f.api("DescribeApplication", "AppId", id)
		var app struct {
			AppMetaData struct{ AppName string }
			DetailStat  struct {
				AppVersionStat []struct {
					DistrictStat []struct {
						RegionIds          []string
						InstanceTotalCount int
					}
				}
			}
		}
		raw, _ := d.obj(t)["Application"].(string)
		if err := json.Unmarshal([]byte(raw), &app); err != nil {
			t.Fatalf("%v: %s", err, d.body)
		}
		if name == "AppId" {
			name = id
		}
		got := map[string]int{}
		for _, v := range app.DetailStat.AppVersionStat {
			for _, ds := range v.DistrictStat {
				got[ds.RegionIds[0]] += ds.InstanceTotalCount
			}
		}
		if app.AppMetaData.AppName != name || fmt.Sprint(got) != fmt.Sprint(perRegion) {
			t.Fatalf("AppName %q, instances %v; want %q, %v", app.AppMetaData.AppName, got, name, perRegion)
		}
	}
}

func limitCases() []limitCase {
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf(`{"name":"f%d","version":"1","url":"u"}`, i)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	region := "cn-chengdu-telecom-4"
	sched := func(op, values string) string {
		return `{"name":"ScheduleToRegionId","parameters":{"operator":"` + op + `","values":` + values + `}}`
	}
	push := func(kv ...string) []string { return append([]string{"AppId", fxApp}, kv...) }
	dist := func(data, strategy string) []string {
		kv := []string{"AppId", fxApp, "Data", data}
		if strategy != "" {
			kv = append(kv, "DistStrategy", strategy)
		}
		return kv
	}
	matchExpr := func(key, op string) string {
		return `{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"` + key + `","operator":"` + op + `","values":["` + region + `"]}]}}`
	}
	return []limitCase{
		{limDataItems, "101 data files", "PushApplicationData", push("Data", "["+strings.Join(many, ",")+"]"), "Data",
			func(t *testing.T, f *fx, r reply) {
				if n := len(codes(t, r)); n != 101 {
					t.Fatalf("%d results", n)
				}
			}},
		{limDataEmpty, "empty Data", "PushApplicationData", push("Data", "[]"), "Data", wantCodes()},
		{limDataDuplicate, "the same file twice", "PushApplicationData",
			push("Data", `[{"name":"a","version":"1","url":"u"},{"name":"b","version":"1","url":"u"},{"name":"a","version":"1","url":"u"}]`), "Data",
			wantCodes(0, 0, 200)},
		{limNameLength, "a 513-character name", "PushApplicationData", push("Data", `[{"name":"`+long(513)+`","version":"1","url":"u"}]`), "Data", wantCodes(0)},
		{limVersionLength, "a 129-character version", "PushApplicationData", push("Data", `[{"name":"a","version":"`+long(129)+`","url":"u"}]`), "Data", wantCodes(0)},
		{limAppIDLength, "a 129-character AppId", "PushApplicationData", []string{"AppId", long(129), "Data", item1("")}, "AppId", wantCodes(0)},
		{limURL, "no url", "PushApplicationData", push("Data", `[{"name":"a","version":"1"}]`), "Data", wantField("a", "url", "")},
		{limURL, "a url that is a number", "PushApplicationData", push("Data", `[{"name":"a","version":"1","url":5}]`), "Data", wantField("a", "url", "")},
		{limURL, "a 2049-character url", "PushApplicationData", push("Data", `[{"name":"a","version":"1","url":"`+long(2049)+`"}]`), "Data", wantCodes(0)},
		{limSizeString, `size "100"`, "PushApplicationData", push("Data", item1(`,"size":"100"`)), "Data", wantField("a", "size", 100)},
		{limSizeInteger, "size 1.5", "PushApplicationData", push("Data", item1(`,"size":1.5`)), "Data", wantField("a", "size", 2)},
		{limSizeInteger, "size -1", "PushApplicationData", push("Data", item1(`,"size":-1`)), "Data", wantField("a", "size", 0)},
		{limSizeInteger, `size "big"`, "PushApplicationData", push("Data", item1(`,"size":"big"`)), "Data", wantField("a", "size", 0)},
		{limSizeMax, "size 1e17", "PushApplicationData", push("Data", item1(`,"size":1e17`)), "Data", func(t *testing.T, f *fx, r reply) {
			wantField("a", "size", float64(1<<40))(t, f, r)
			f.advance("24h") // 1 TiB at 10 MiB/s: 29 hours; an overflow answered 100 at once
			if c, _ := f.pushCode(item1(`,"size":1e17`), ""); c != 200 {
				t.Fatalf("a day later: %d, want 200 (still pushing)", c)
			}
		}},
		{limTimeoutString, `timeout "20"`, "PushApplicationData", push("Data", item1(`,"timeout":"20"`)), "Data", wantField("a", "timeout", 20)},
		{limTimeoutRange, "timeout 86401", "PushApplicationData", push("Data", item1(`,"timeout":86401`)), "Data", wantField("a", "timeout", 86401)},
		{limTimeoutRange, "timeout 0", "PushApplicationData", push("Data", item1(`,"timeout":0`)), "Data", wantField("a", "timeout", 0)},
		{limTimeoutRange, "timeout true", "PushApplicationData", push("Data", item1(`,"timeout":true`)), "Data", wantField("a", "timeout", 0)},
		{limMD5, "a 33-character md5", "PushApplicationData", push("Data", item1(`,"md5":"`+long(33)+`"`)), "Data", wantField("a", "md5", long(33))},
		{limMD5, "md5 with punctuation", "PushApplicationData", push("Data", item1(`,"md5":"d41d8cd9-8f00"`)), "Data", wantField("a", "md5", "d41d8cd9-8f00")},
		{limMD5, "md5 a number", "PushApplicationData", push("Data", item1(`,"md5":7`)), "Data", wantField("a", "md5", "")},
		{limArchiveType, `archiveType "TAR.GZ"`, "PushApplicationData", push("Data", item1(`,"archiveType":"TAR.GZ"`)), "Data", wantField("a", "archiveType", "tar.gz")},
		{limArchiveType, `archiveType ""`, "PushApplicationData", push("Data", item1(`,"archiveType":""`)), "Data", wantField("a", "archiveType", "raw")},
		{limArchiveType, `archiveType "rar"`, "PushApplicationData", push("Data", item1(`,"archiveType":"rar"`)), "Data", wantField("a", "archiveType", "rar")},
		{limStrategyCount, "an empty strategy array", "PushApplicationData", push("Data", item1(""), "PushStrategy", "[]"), "PushStrategy",
			func(t *testing.T, f *fx, r reply) {
				if n := len(f.regions("a")); n != 8 {
					t.Fatalf("pushed to %d regions, want all 8", n)
				}
			}},
		{limStrategyCount, "11 strategies", "PushApplicationData",
			push("Data", item1(""), "PushStrategy", "["+strings.TrimSuffix(strings.Repeat(sched("In", `["`+region+`"]`)+",", 11), ",")+"]"), "PushStrategy",
			func(t *testing.T, f *fx, r reply) {
				if rs := f.regions("a"); len(rs) != 1 {
					t.Fatalf("regions %v, want only %s", rs, region)
				}
			}},
		{limStrategyName, "strategy ScheduleToMoon", "PushApplicationData",
			push("Data", item1(""), "PushStrategy", `{"name":"ScheduleToMoon","parameters":{"operator":"In","values":["x"]}}`), "PushStrategy",
			func(t *testing.T, f *fx, r reply) {
				if n := len(f.regions("a")); n != 8 {
					t.Fatalf("pushed to %d regions, want all 8 (an unknown strategy is ignored)", n)
				}
			}},
		{limStrategyOperator, "operator Near", "PushApplicationData", push("Data", item1(""), "PushStrategy", sched("Near", `["x"]`)), "PushStrategy",
			func(t *testing.T, f *fx, r reply) {
				if n := len(f.regions("a")); n != 8 {
					t.Fatalf("pushed to %d regions, want all 8 (an unknown operator is ignored)", n)
				}
			}},
		{limStrategyValues, "In []", "PushApplicationData", push("Data", item1(""), "PushStrategy", sched("In", `[]`)), "PushStrategy", wantCodes(300)},
		{limStrategyValues, "a 129-character region id", "PushApplicationData", push("Data", item1(""), "PushStrategy", sched("NotIn", `["`+long(129)+`"]`)), "PushStrategy", wantCodes(0)},
		{limStrategyValues, "filter with no region id", "DescribeDataDownloadURL",
			[]string{"AppId", fxApp, "DataName", "a", "DataVersion", "1", "ServerFilterStrategy", sched("NotIn", `[]`)}, "ServerFilterStrategy",
			func(t *testing.T, f *fx, r reply) {
				if n := len(r.obj(t)["Data"].(map[string]any)["ServerList"].([]any)); n != 16 {
					t.Fatalf("%d file servers, want 16", n)
				}
			}},
		{limNameLength, "a 513-character DataName", "DescribeDataDownloadURL",
			[]string{"AppId", fxApp, "DataName", long(513), "DataVersion", "1"}, "DataName", nil}, // lenient: InvalidParameter.DataName (never pushed)
		{limPageSize, "PageSize 0", "DescribeDataPushResult", []string{"AppId", fxApp, "PageSize", "0"}, "PageSize",
			func(t *testing.T, f *fx, r reply) {
				if ps := r.obj(t)["PageSize"]; ps != float64(10) {
					t.Fatalf("PageSize %v, want 10", ps)
				}
			}},
		{limPageSize, "PageSize 1001", "DescribeDataPushResult", []string{"AppId", fxApp, "PageSize", "1001"}, "PageSize",
			func(t *testing.T, f *fx, r reply) {
				if ps := r.obj(t)["PageSize"]; ps != float64(1001) {
					t.Fatalf("PageSize %v, want 1001", ps)
				}
			}},
		{limDistStrategyName, "strategy ScheduleToMoon", "DistApplicationData",
			dist(`[{"name":"a","version":"1"}]`, `{"name":"ScheduleToMoon","parameters":{}}`), "DistStrategy", wantDist(8, 0)},
		{limDistStrategyKey, "key zone", "DistApplicationData",
			dist(`[{"name":"a","version":"1"}]`, matchExpr("zone", "In")), "DistStrategy", wantDist(8, 0)},
		{limDistStrategyKey, "no match_expressions", "DistApplicationData",
			dist(`[{"name":"a","version":"1"}]`, `[{"name":"ScheduleToAllByMatchExpressions","parameters":{}}]`), "DistStrategy", wantDist(8, 0)},
		{limDistStrategyOperator, "operator Near", "DistApplicationData",
			dist(`[{"name":"a","version":"1"}]`, matchExpr("region_id", "Near")), "DistStrategy", wantDist(8, 0)},
		{limDistStrategyOperator, "ScheduleToRegionId operator Near", "DistApplicationData",
			dist(`[{"name":"a","version":"1"}]`, sched("Near", `["`+region+`"]`)), "DistStrategy", wantDist(8, 0)},
		{limDistDuplicate, "the same file twice", "DistApplicationData",
			dist(`[{"name":"a","version":"1"},{"name":"b","version":"1"},{"name":"a","version":"1","timeout":1}]`, ""), "Data",
			func(t *testing.T, f *fx, r reply) {
				wantDist(8, 0, 400, 0)(t, f, r)
				var st struct {
					Accounts []struct {
						Apps []struct {
							Dists []struct {
								Name     string
								Replicas []struct{ Status string }
							}
						}
					}
				}
				if err := json.Unmarshal(f.ctl("GET", "/_ensmock/state", "").body, &st); err != nil {
					t.Fatal(err)
				}
				ds := st.Accounts[0].Apps[0].Dists
				if len(ds) != 1 || ds[0].Name != "a" || len(ds[0].Replicas) != 8 {
					t.Fatalf("dists %+v, want one of a on 8 instances", ds)
				}
				f.advance("1m") // the first item's keys (no timeout): every replica succeeds
				for _, in := range f.api("DescribeDataDistResult", "AppId", fxApp).obj(t)["DistResults"].(map[string]any)["DistResult"].([]any) {
					stats := in.(map[string]any)["StatusStats"].(map[string]any)["StatusStat"].([]any)
					if len(stats) != 1 || stats[0].(map[string]any)["Status"] != "SUCCESS" {
						t.Fatalf("after a minute: %v", stats)
					}
				}
			}},
		{limTemplateAppName, "no appName", "CreateApplication",
			[]string{"Template", `{"appMetaData":{"clusterName":"poc"},"resourceSelector":[{"regionCode":"` + region + `","count":2}]}`}, "Template",
			createdApp("AppId", map[string]int{region: 2})},
		{limTemplateSelector, "no resourceSelector", "CreateApplication", []string{"Template", `{"appMetaData":{"appName":"x"}}`}, "Template",
			func(t *testing.T, f *fx, r reply) {
				per := map[string]int{}
				for _, id := range f.srv.Engine().Regions() {
					per[id] = 1
				}
				createdApp("x", per)(t, f, r)
			}},
		{limTemplateSelector, "count 0", "CreateApplication",
			[]string{"Template", `{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":0},{"regionCode":"` + region + `","count":1}]}`}, "Template",
			createdApp("x", map[string]int{region: 1})},
		{limTemplateSelector, "an unknown regionCode", "CreateApplication",
			[]string{"Template", `{"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"cn-moon-1","count":1}]}`}, "Template",
			func(t *testing.T, f *fx, r reply) {
				createdApp("x", map[string]int{f.srv.Engine().Regions()[0]: 1})(t, f, r)
			}},
		{limDateOrder, "MaxDate before MinDate", "DescribeDataPushResult", []string{"AppId", fxApp, "MinDate", "2024-03-02", "MaxDate", "2024-03-01"}, "MaxDate",
			func(t *testing.T, f *fx, r reply) {
				if n := r.obj(t)["TotalCount"]; n != float64(0) {
					t.Fatalf("TotalCount %v, want 0", n)
				}
			}},
	}
}

// TestEveryLimitInBothModes: each request breaks one ensmock limit. By default
// it is accepted, handled sensibly, and the warning names the limit in the
// X-Ensmock-Warning header, in the journal and in the log; with Strict it is
// refused with InvalidParameter.<Name>, the detail names the limit, and
// nothing changes.
func TestEveryLimitInBothModes(t *testing.T) {
	covered := map[*limit]bool{}
	for _, c := range limitCases() {
		covered[c.limit] = true
		t.Run(c.limit.ID+"/"+c.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				var logs bytes.Buffer
				f := newFx(t, func(o *Options) {
					o.Strict = strict
					o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) // info and above
				})
				if c.action != "PushApplicationData" {
					// something to describe / download: one file on every server
					f.push(item1(""), "")
					f.advance("1m")
				}
				before := f.ctl("GET", "/_ensmock/state", "").body
				r := f.api(c.action, c.kv...)
				ent := f.srv.Requests(control.Filter{Action: c.action, Limit: 1})[0]
				if strict {
					code := "InvalidParameter." + c.param
					if r.status != 400 || !strings.Contains(string(r.body), `"Code":"`+code+`"`) {
						t.Fatalf("strict: %d %s, want 400 %s", r.status, r.body, code)
					}
					if d := r.header.Get("X-Ensmock-Detail"); !strings.Contains(d, "ensmock limit "+c.limit.ID) {
						t.Fatalf("strict detail %q does not name the limit %s", d, c.limit.ID)
					}
					if ent.ErrorCode != code || !strings.Contains(ent.Detail, c.limit.ID) || len(ent.Warnings) != 0 {
						t.Fatalf("strict journal: %+v", ent)
					}
					if !strings.Contains(logs.String(), `"msg":"request refused"`) || !strings.Contains(logs.String(), "ensmock limit "+c.limit.ID) {
						t.Fatalf("strict log: %s", logs.String())
					}
					if after := f.ctl("GET", "/_ensmock/state", "").body; !bytes.Equal(before, after) {
						t.Fatalf("a strict refusal changed the state")
					}
					continue
				}
				ws := r.header.Values("X-Ensmock-Warning")
				if len(ws) == 0 || !strings.Contains(strings.Join(ws, "\n"), "ensmock limit "+c.limit.ID) {
					t.Fatalf("lenient: X-Ensmock-Warning %q does not name %s (%d %s)", ws, c.limit.ID, r.status, r.body)
				}
				if fmt.Sprint(ent.Warnings) != fmt.Sprint(ws) {
					t.Fatalf("journal warnings %q, header %q", ent.Warnings, ws)
				}
				if !strings.Contains(logs.String(), c.limit.ID) {
					t.Fatalf("lenient log does not carry the warning: %s", logs.String())
				}
				if c.lenient == nil { // accepted past the limit, then refused for another reason
					if r.status != 400 || ent.ErrorCode == "" {
						t.Fatalf("lenient: %d %s", r.status, r.body)
					}
					continue
				}
				if r.status != 200 {
					t.Fatalf("lenient: %d %s (detail %q)", r.status, r.body, r.header.Get("X-Ensmock-Detail"))
				}
				c.lenient(t, f, r)
			}
		})
	}
	for _, l := range limits {
		if !covered[l] {
			t.Errorf("limit %s has no case in limitCases", l.ID)
		}
	}
}

// TestLimitsAreDocumented: docs/decisions.md lists every ensmock limit by its ID.
func TestLimitsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/decisions.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range limits {
		if !bytes.Contains(doc, []byte("`"+l.ID+"`")) {
			t.Errorf("docs/decisions.md does not list the ensmock limit `%s`", l.ID)
		}
	}
}

// TestWarningsAreBounded: a request breaking many limits carries a bounded
// number of bounded warnings.
func TestWarningsAreBounded(t *testing.T) {
	f := newFx(t, nil)
	items := make([]string, 150)
	for i := range items {
		items[i] = fmt.Sprintf(`{"name":"%s","version":"1","url":"u","size":"%d","archiveType":"%s"}`, strings.Repeat("n", 600)+fmt.Sprint(i), i, strings.Repeat(`\n`, 100))
	}
	r := f.api("PushApplicationData", "AppId", fxApp, "Data", "["+strings.Join(items, ",")+"]")
	ws := r.header.Values("X-Ensmock-Warning")
	if r.status != 200 || len(ws) != maxWarnings+1 || !strings.Contains(ws[maxWarnings], "more ensmock limits") {
		t.Fatalf("%d, %d warnings: %q", r.status, len(ws), ws)
	}
	for _, w := range ws {
		if len(w) > maxWarningBytes || strings.ContainsAny(w, "\r\n") {
			t.Fatalf("warning of %d bytes: %q", len(w), w)
		}
	}
}

// TestPageSizeWithoutPaging: an unpaged describe answers PageSize 10 (the
// documented default), even for an empty app, and still lists every result.
func TestPageSizeWithoutPaging(t *testing.T) {
	f := newFx(t, nil)
	r := f.api("DescribeDataPushResult", "AppId", fxApp)
	if m := r.obj(t); r.status != 200 || m["PageSize"] != float64(10) || m["PageNumber"] != float64(1) || m["TotalCount"] != float64(0) {
		t.Fatalf("empty app: %d %s", r.status, r.body)
	}
	items := make([]string, 25)
	for i := range items {
		items[i] = fmt.Sprintf(`{"name":"f%02d","version":"1","url":"u"}`, i)
	}
	f.push("["+strings.Join(items, ",")+"]", "")
	r = f.api("DescribeDataPushResult", "AppId", fxApp)
	m := r.obj(t)
	if m["PageSize"] != float64(10) || m["TotalCount"] != float64(25) || len(m["PushResults"].(map[string]any)["PushResult"].([]any)) != 25 {
		t.Fatalf("unpaged: %s", r.body)
	}
	r = f.api("DescribeDataPushResult", "AppId", fxApp, "PageNumber", "3")
	m = r.obj(t)
	if m["PageSize"] != float64(10) || len(m["PushResults"].(map[string]any)["PushResult"].([]any)) != 5 {
		t.Fatalf("page 3: %s", r.body)
	}
}

func TestJournalHasWarningsOverHTTP(t *testing.T) {
	f := newFx(t, nil)
	f.api("PushApplicationData", "AppId", fxApp, "Data", item1(`,"size":"100"`))
	body := string(f.ctl("GET", "/_ensmock/requests?action=PushApplicationData", "").body)
	if !strings.Contains(body, `"warnings":[`) || !strings.Contains(body, "size-string") {
		t.Fatalf("GET /_ensmock/requests: %s", body)
	}
	if r := f.ctl("GET", "/_ensmock/requests", ""); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
}

// TestErrorDetailsSayWhatToFix: each detail a user acts on, in the answer's
// header, the journal and the log.
func TestErrorDetailsSayWhatToFix(t *testing.T) {
	data := `[{"name":"app01","version":"1.0","url":"http://xxxxxxx"},,{"name":"b"}]`
	if data[57] != ',' || data[56] != ',' {
		t.Fatalf("the test's Data has no ',' at offset 57: %q", data[55:59])
	}
	for _, c := range []struct {
		name, action string
		kv           []string
		header       []string
		code, detail string
	}{
		{"Data not JSON", "PushApplicationData", []string{"AppId", fxApp, "Data", data}, nil,
			"InvalidParameter.Data", "Data is not valid JSON: unexpected ',' at offset 57"},
		{"Data cut short", "PushApplicationData", []string{"AppId", fxApp, "Data", `[{"name":"a"`}, nil,
			"InvalidParameter.Data", "Data is not valid JSON: it ends early, after 12 bytes"},
		{"PushStrategy without values", "PushApplicationData",
			[]string{"AppId", fxApp, "Data", item1(""), "PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In"}}`}, nil,
			"InvalidParameter.PushStrategy", `PushStrategy/parameters/values: property "values" is missing`},
		{"PushStrategy array item with values not an array", "PushApplicationData",
			[]string{"AppId", fxApp, "Data", item1(""), "PushStrategy", `[{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["x"]}},{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":"x"}}]`}, nil,
			"InvalidParameter.PushStrategy", `PushStrategy/1/parameters/values: value must be an array`},
		{"PushStrategy a number", "PushApplicationData",
			[]string{"AppId", fxApp, "Data", item1(""), "PushStrategy", `42`}, nil,
			"InvalidParameter.PushStrategy", `PushStrategy: want object or array, got number`},
		{"Data item name a number", "PushApplicationData", []string{"AppId", fxApp, "Data", `[{"name":1,"version":"1"}]`}, nil,
			"InvalidParameter.Data", `Data/0/name: value must be a string`},
		{"JSON body", "PushApplicationData", nil, []string{"Content-Type", "application/json"},
			"MissingParameter", "a JSON body (application/json), which ENS does not read: RPC parameters go in the query string or in a form-encoded body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := newFx(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			var r reply
			if c.header != nil {
				req, _ := http.NewRequest("POST", "http://127.0.0.1/?Action="+c.action+"&Version=2017-11-10&Format=JSON",
					strings.NewReader(`{"AppId":"`+fxApp+`","Data":"[]"}`))
				req.Header.Set(c.header[0], c.header[1])
				r = f.send(req)
			} else {
				r = f.api(c.action, c.kv...)
			}
			if r.status != 400 || !strings.Contains(string(r.body), `"Code":"`+c.code+`"`) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if d := r.header.Get("X-Ensmock-Detail"); !strings.Contains(d, c.detail) {
				t.Fatalf("detail %q, want %q", d, c.detail)
			}
			ent := f.srv.Requests(control.Filter{Limit: 1})[0]
			if ent.ErrorCode != c.code || !strings.Contains(ent.Detail, c.detail) {
				t.Fatalf("journal %+v", ent)
			}
			if !strings.Contains(logs.String(), "level=INFO msg=\"request refused\"") || !strings.Contains(logs.String(), strconvQuoteInner(c.detail)) {
				t.Fatalf("log %s lacks %q", logs.String(), c.detail)
			}
		})
	}
}

// strconvQuoteInner is s as slog's text handler writes it inside a quoted value.
func strconvQuoteInner(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// TestUnknownRegionsAreNamed: a push whose strategy selects no region answers
// 300 with the unknown ids and the regions that exist, in the answer and the journal.
func TestUnknownRegionsAreNamed(t *testing.T) {
	var logs bytes.Buffer
	f := newFx(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res := f.push(item1(""), `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-moon-1"]}}`)
	want := `no file server available in the target regions: no region "cn-moon-1"; the regions are cn-chengdu-telecom-4, `
	if res[0].ResultCode != 300 || !strings.HasPrefix(res[0].ResultDescrip, want) || !strings.Contains(res[0].ResultDescrip, "cn-xiangyang-19") {
		t.Fatalf("%+v", res)
	}
	if ent := f.srv.Requests(control.Filter{Limit: 1})[0]; fmt.Sprint(ent.ResultCodes) != "[300]" || !strings.Contains(ent.Detail, "item 0 (a 1): "+want) {
		t.Fatalf("journal %+v", ent)
	}
	if !strings.Contains(logs.String(), `level=INFO msg="push answered 300 for some items"`) || !strings.Contains(logs.String(), strconvQuoteInner(want)) {
		t.Fatalf("log %s", logs.String())
	}
}
