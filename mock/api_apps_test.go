package mock_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/spec"
)

func (h *harness) createApp(tmpl string) string {
	h.t.Helper()
	r := h.get(call("CreateApplication", "Template", tmpl))
	if r.status != 200 {
		h.t.Fatalf("CreateApplication: %d %s", r.status, r.body)
	}
	id, _ := r.json(h.t)["AppId"].(string)
	return id
}

// application decodes DescribeApplication's Application JSON string.
func (h *harness) application(kv ...string) map[string]any {
	h.t.Helper()
	r := h.get(call("DescribeApplication", kv...))
	if r.status != 200 {
		h.t.Fatalf("DescribeApplication: %d %s", r.status, r.body)
	}
	s, ok := r.json(h.t)["Application"].(string)
	if !ok {
		h.t.Fatalf("Application is not a string: %s", r.body)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		h.t.Fatalf("Application is not JSON: %v", err)
	}
	return doc
}

func instanceStats(doc map[string]any) (ids []string) {
	ds, _ := doc["DetailStat"].(map[string]any)
	for _, v := range asList(ds["AppVersionStat"]) {
		for _, d := range asList(v.(map[string]any)["DistrictStat"]) {
			for _, in := range asList(d.(map[string]any)["InstanceStat"]) {
				ids = append(ids, in.(map[string]any)["RegionId"].(string)+"/"+in.(map[string]any)["InstanceId"].(string))
			}
		}
	}
	return ids
}

func asList(v any) []any { l, _ := v.([]any); return l }

func TestDescribeApplicationOptions(t *testing.T) {
	h := newHarness(t, nil)
	id := h.createApp(`{"appMetaData":{"appName":"web","clusterName":"poc","appType":"Common","description":"d"},
		"resourceAttribute":{"instanceSpec":"ens.sn1.tiny","systemDiskSize":20},
		"resourceSelector":[{"regionCode":"cn-chengdu-telecom-4","count":2},{"regionCode":"cn-wuxi-5","count":1}],
		"workload":[{"name":"nginx","podCount":3}]}`)
	doc := h.application("AppId", id)
	meta := doc["AppMetaData"].(map[string]any)
	if meta["AppId"] != id || meta["AppName"] != "web" || meta["ClusterName"] != "poc" || meta["AppType"] != "Common" {
		t.Errorf("AppMetaData %v", meta)
	}
	if ra := doc["ResourceAttribute"].(map[string]any); ra["InstanceSpec"] != "ens.sn1.tiny" {
		t.Errorf("ResourceAttribute %v", ra)
	}
	if wl := asList(doc["WorkloadAttribute"]); len(wl) != 1 || wl[0].(map[string]any)["Name"] != "nginx" {
		t.Errorf("WorkloadAttribute %v", wl)
	}
	if ds := doc["DetailStat"].(map[string]any); ds["Level"] != "National" || ds["InstanceTotalCount"] != 3.0 {
		t.Errorf("DetailStat %v", ds)
	}
	if got := instanceStats(doc); len(got) != 3 {
		t.Errorf("instances %v", got)
	}
	// ResourceSelector restricts the instances, Level is echoed
	doc = h.application("AppId", id, "Level", "RegionId", "ResourceSelector", `[{"regionCode":"cn-wuxi-5"}]`)
	if got := instanceStats(doc); len(got) != 1 || !strings.HasPrefix(got[0], "cn-wuxi-5/") {
		t.Errorf("ResourceSelector: %v", got)
	}
	if doc["DetailStat"].(map[string]any)["Level"] != "RegionId" {
		t.Errorf("Level not echoed")
	}
	// switches and versions
	doc = h.application("AppId", id, "OutDetailStatParams", `{"appInfo":false,"instanceStat":false}`)
	if _, ok := doc["ResourceAttribute"]; ok {
		t.Error("appInfo false still outputs ResourceAttribute")
	}
	if got := instanceStats(doc); len(got) != 0 {
		t.Errorf("instanceStat false still lists %v", got)
	}
	if doc = h.application("AppId", id, "AppVersions", "v9"); len(asList(doc["DetailStat"].(map[string]any)["AppVersionStat"])) != 0 {
		t.Error("AppVersions v9 still reports v1")
	}
	if doc = h.application("AppId", id, "AppVersions", "All"); len(asList(doc["DetailStat"].(map[string]any)["AppVersionStat"])) != 1 {
		t.Error("AppVersions All does not report v1")
	}
	for _, bad := range [][]string{{"Level", "Planet"}, {"OutDetailStatParams", `{"appInfo":"yes"}`}, {"ResourceSelector", `{"regionCode":1}`}} {
		if r := h.get(call("DescribeApplication", "AppId", id, bad[0], bad[1])); r.status != 400 ||
			r.json(t)["Code"] != "InvalidParameter."+bad[0] {
			t.Errorf("%s=%s: %d %s", bad[0], bad[1], r.status, r.body)
		}
	}
	if r := h.get(call("DescribeApplication", "AppId", "nope")); r.status != 400 || r.json(t)["Code"] != "InvalidParameter.AppId" {
		t.Errorf("unknown app: %d %s", r.status, r.body)
	}
}

func TestListApplicationsGroupsByCluster(t *testing.T) {
	h := newHarness(t, nil)
	a := h.createApp(`{"appMetaData":{"appName":"a","clusterName":"poc"},"resourceSelector":[{"count":1}]}`)
	_ = h.clk.Advance(time.Second)
	b := h.createApp(`{"appMetaData":{"appName":"b","clusterName":"pre"},"resourceSelector":[{"count":1}]}`)
	_ = h.clk.Advance(time.Second)
	c := h.createApp(`{"appMetaData":{"appName":"c","clusterName":"poc"},"resourceSelector":[{"count":1}]}`)
	r := h.get(call("ListApplications"))
	doc := r.json(t)
	groups := asList(doc["Applications"].(map[string]any)["Application"])
	if doc["TotalCount"] != 3.0 || doc["PageSize"] != 3.0 || len(groups) != 2 {
		t.Fatalf("ListApplications %s", r.body)
	}
	ids := func(g any) (out []string) {
		for _, x := range asList(g.(map[string]any)["AppList"].(map[string]any)["App"]) {
			out = append(out, x.(map[string]any)["AppId"].(string))
		}
		return out
	}
	if g := groups[0].(map[string]any); g["ClusterName"] != "poc" || strings.Join(ids(g), ",") != a+","+c {
		t.Errorf("first group %v", g)
	}
	if g := groups[1].(map[string]any); g["ClusterName"] != "pre" || strings.Join(ids(g), ",") != b {
		t.Errorf("second group %v", g)
	}
	r = h.get(call("ListApplications", "ClusterNames", "pre", "PageNumber", "1", "PageSize", "10"))
	if doc = r.json(t); doc["TotalCount"] != 1.0 || doc["PageSize"] != 10.0 {
		t.Errorf("ClusterNames filter: %s", r.body)
	}
	r = h.get(call("ListApplications", "PageNumber", "2", "PageSize", "2"))
	if doc = r.json(t); doc["TotalCount"] != 3.0 || len(asList(doc["Applications"].(map[string]any)["Application"])) != 1 {
		t.Errorf("page 2: %s", r.body)
	}
	if r = h.get(call("ListApplications", "MinDate", "2030-01-01")); r.json(t)["TotalCount"] != 0.0 {
		t.Errorf("MinDate: %s", r.body)
	}
	// MaxDate before MinDate is ensmock limit date-order: nothing matches, or refused with Strict.
	if r = h.get(call("ListApplications", "MinDate", "2024-01-02", "MaxDate", "2024-01-01")); r.status != 200 || r.json(t)["TotalCount"] != 0.0 || r.header.Get("X-Ensmock-Warning") == "" {
		t.Errorf("MaxDate before MinDate: %d %v %s", r.status, r.header, r.body)
	}
	strict := newHarness(t, func(o *mock.Options) { o.Strict = true })
	if r = strict.get(call("ListApplications", "MinDate", "2024-01-02", "MaxDate", "2024-01-01")); r.status != 400 {
		t.Errorf("MaxDate before MinDate, strict: %d", r.status)
	}
}

func TestDistXMLForms(t *testing.T) {
	h := newHarness(t, nil)
	id := h.createApp(`{"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"cn-wuxi-5","count":2}]}`)
	h.get(call("PushApplicationData", "AppId", id, "Data", data("f")))
	_ = h.clk.Advance(time.Minute)
	x := call("DistApplicationData", "AppId", id, "Data", `[{"name":"f","version":"1.0"}]`)
	x.Set("Format", "XML")
	r := h.get(x)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, "<DistApplicationDataResponse>") || strings.Count(body, "<DistInstanceId>") != 2 ||
		!strings.Contains(body, "<DistResults><DistResult><Name>f</Name>") {
		t.Fatalf("dist XML: %s", body)
	}
	x = call("DescribeDataDistResult", "AppId", id, "EnsRegionIds", `["cn-wuxi-5"]`)
	x.Set("Format", "XML")
	body = string(h.get(x).body)
	if !strings.Contains(body, "<StatusStats><StatusStat><Status>DISTING</Status><InstanceCount>2</InstanceCount><Instances><Instance><InstanceId>") ||
		strings.Count(body, "<Instance>") != 2 {
		t.Fatalf("describe-dist XML: %s", body)
	}
	// EnsRegionIds null (what SDK1 sends for an unset field): no filter
	for _, v := range []string{"null"} {
		if r := h.get(call("DescribeDataDistResult", "AppId", id, "EnsRegionIds", v)); r.status != 200 || r.json(t)["TotalCount"] != 1.0 {
			t.Errorf("EnsRegionIds=%q: %d %s", v, r.status, r.body)
		}
	}
	if r := h.get(call("DescribeDataDistResult", "AppId", id, "EnsRegionIds", "cn-wuxi-5")); r.status != 400 {
		t.Errorf("EnsRegionIds not JSON: %d %s", r.status, r.body)
	}
}

// TestAppErrorCodesAreDocumented: the errors the new actions answer for bad
// input are among the codes the official metadata lists for them
// (x-ensmock-error-codes in the spec; %s stands for a parameter name), or the
// gateway's MissingParameter.
func TestAppErrorCodesAreDocumented(t *testing.T) {
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	documented := func(action, code string) bool {
		if code == "MissingParameter" {
			return true // the gateway's, for any required parameter (as for PushApplicationData's Data)
		}
		raw, _ := json.Marshal(doc.Paths.Value("/" + action).Get.Extensions["x-ensmock-error-codes"])
		var list []struct{ Code string }
		_ = json.Unmarshal(raw, &list)
		if len(list) == 0 {
			t.Fatalf("%s has no x-ensmock-error-codes", action)
		}
		for _, c := range list {
			if pre, ok := strings.CutSuffix(c.Code, "%s"); ok && strings.HasPrefix(code, pre) || c.Code == code {
				return true
			}
		}
		return false
	}
	h := newHarness(t, nil)
	id := h.createApp(`{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":1}]}`)
	gone := h.createApp(`{"appMetaData":{"appName":"y"},"resourceSelector":[{"count":1}]}`)
	h.get(call("DeleteApplication", "AppId", gone))
	_ = h.clk.Advance(time.Hour)
	for _, tc := range []struct {
		action string
		kv     []string
	}{
		{"CreateApplication", nil},
		{"CreateApplication", []string{"Template", "[]"}},
		{"CreateApplication", []string{"Template", `{"resourceSelector":[{"count":1000000}]}`}},
		{"DescribeApplication", nil},
		{"DescribeApplication", []string{"AppId", gone}},
		{"DescribeApplication", []string{"AppId", id, "Level", "x"}},
		{"ListApplications", []string{"PageNumber", "0"}},
		{"ListApplications", []string{"MinDate", "yesterday"}},
		{"DeleteApplication", nil},
		{"DeleteApplication", []string{"AppId", "never"}},
		{"DistApplicationData", []string{"AppId", id}},
		{"DistApplicationData", []string{"AppId", id, "Data", "not json"}},
		{"DistApplicationData", []string{"AppId", gone, "Data", `[{"name":"f","version":"1"}]`}},
		{"DistApplicationData", []string{"AppId", id, "Data", `[{"name":"f","version":"1"}]`, "DistStrategy", `{"name":1}`}},
		{"DescribeDataDistResult", nil},
		{"DescribeDataDistResult", []string{"AppId", gone}},
		{"DescribeDataDistResult", []string{"AppId", id, "EnsRegionIds", "x"}},
		{"DescribeDataDistResult", []string{"AppId", id, "PageNumber", "0"}},
		{"DistApplicationData", []string{"AppId", id, "Data", `[{"name":"f","version":"1"}]`, "DistStrategy", `{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":1,"operator":"In","values":["x"]}]}}`}},
	} {
		r := h.get(call(tc.action, tc.kv...))
		code, _ := r.json(t)["Code"].(string)
		if r.status != 400 || code == "" {
			t.Errorf("%s %v: %d %s, want an error", tc.action, tc.kv, r.status, r.body)
			continue
		}
		if !documented(tc.action, code) {
			t.Errorf("%s %v answers %s, which the metadata does not list for it", tc.action, tc.kv, code)
		}
	}
}
