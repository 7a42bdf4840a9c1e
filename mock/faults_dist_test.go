package mock_test

import (
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock"
)

// distStatuses maps instance id → status of data file f in DescribeDataDistResult.
func (h *harness) distStatuses(app, f string) map[string]string {
	h.t.Helper()
	r := h.get(call("DescribeDataDistResult", "AppId", app, "DataNames", f))
	out := map[string]string{}
	for _, d := range asList(r.json(h.t)["DistResults"].(map[string]any)["DistResult"]) {
		for _, st := range asList(d.(map[string]any)["StatusStats"].(map[string]any)["StatusStat"]) {
			sm := st.(map[string]any)
			for _, in := range asList(sm["Instances"].(map[string]any)["Instance"]) {
				out[in.(map[string]any)["InstanceId"].(string)] = sm["Status"].(string)
			}
		}
	}
	return out
}

// TestInstanceFaults: instance_down fails one instance at once, slow on an
// ENS node delays its instances, and a push rule that does not opt in leaves
// distributions alone.
func TestInstanceFaults(t *testing.T) {
	h := newHarness(t, nil)
	app := h.createApp(`{"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"cn-wuxi-5","count":2},{"regionCode":"cn-jiaozuo-2","count":1}]}`)
	info, err := h.srv.Engine().DescribeApp(mock.DefaultAccount, app, []string{"cn-wuxi-5"})
	if err != nil || len(info.Instances) != 2 {
		t.Fatalf("%+v %v", info, err)
	}
	down, other := info.Instances[0].InstanceID, info.Instances[1].InstanceID
	h.get(call("PushApplicationData", "AppId", app, "Data", data("f")))
	_ = h.clk.Advance(time.Minute)
	if _, err := h.srv.AddFaults(
		faults.Rule{Match: faults.Match{Instance: down}, Effect: faults.InstanceDown},
		faults.Rule{Match: faults.Match{Action: "DistApplicationData", Region: "cn-jiaozuo-2"}, Effect: faults.Slow, Params: faults.Params{Latency: faults.Duration(time.Hour)}},
		faults.Rule{Match: faults.Match{Name: "f"}, Effect: faults.Corrupt}, // a push rule: no effect on dists
	); err != nil {
		t.Fatal(err)
	}
	if r := h.get(call("DistApplicationData", "AppId", app, "Data", `[{"name":"f","version":"1.0"}]`)); r.status != 200 {
		t.Fatalf("dist: %d %s", r.status, r.body)
	}
	st := h.distStatuses(app, "f")
	if st[down] != "FAILED" || st[other] != "DISTING" || len(st) != 3 {
		t.Fatalf("right after the dist: %v", st)
	}
	_ = h.clk.Advance(time.Minute)
	st = h.distStatuses(app, "f")
	if st[down] != "FAILED" || st[other] != "SUCCESS" {
		t.Fatalf("after a minute: %v", st)
	}
	for id, s := range st {
		if id != down && id != other && s != "DISTING" {
			t.Fatalf("the slowed instance %s is %s after a minute", id, s)
		}
	}
	_ = h.clk.Advance(time.Hour)
	for id, s := range h.distStatuses(app, "f") {
		if id != down && s != "SUCCESS" {
			t.Fatalf("instance %s is %s after the slow hour", id, s)
		}
	}
	if _, err := h.srv.AddFaults(faults.Rule{Match: faults.Match{Instance: "i-*"}, Effect: faults.Error, Params: faults.Params{Code: "Throttling"}}); err == nil {
		t.Error("an API-level rule with match.instance was accepted")
	}
}
