package mock

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/internal/engine"
)

// createApp is CreateApplication as account testid; it returns the AppId.
func (f *fx) createApp(tmpl string) string {
	f.t.Helper()
	r := f.api("CreateApplication", "Template", tmpl)
	if r.status != 200 {
		f.t.Fatalf("CreateApplication: %d %s", r.status, r.body)
	}
	id, _ := r.obj(f.t)["AppId"].(string)
	if id == "" {
		f.t.Fatalf("CreateApplication: no AppId: %s", r.body)
	}
	return id
}

var requestID = regexp.MustCompile(`"RequestId":"[^"]*",?`)

// appAPI is the workflow actions' view of app id: its description, its dist
// results and its push results (the bodies, for comparison across a restart).
func (f *fx) appAPI(id string) string {
	f.t.Helper()
	var out []string
	for _, c := range [][]string{
		{"DescribeApplication", "AppId", id},
		{"DescribeDataDistResult", "AppId", id},
		{"DescribeDataPushResult", "AppId", id},
	} {
		r := f.api(c[0], c[1:]...)
		if r.status != 200 {
			f.t.Fatalf("%s: %d %s", c[0], r.status, r.body)
		}
		out = append(out, c[0]+" "+requestID.ReplaceAllString(string(r.body), ""))
	}
	return strings.Join(out, "\n")
}

// Applications created by CreateApplication, their instances and their
// distributions survive a restart on the same data dir with the same
// statuses; a deleted application stays deleted and its files do not come back.
func TestDataDirKeepsApplications(t *testing.T) {
	dir := t.TempDir()
	f := newDirFx(t, dir, fxStart, nil)
	keep := f.createApp(`{"appMetaData":{"appName":"keep","clusterName":"poc"},"resourceSelector":[{"regionCode":"cn-wuxi-5","count":2},{"count":3}]}`)
	gone := f.createApp(`{"appMetaData":{"appName":"gone"},"resourceSelector":[{"count":1}]}`)
	for _, id := range []string{keep, gone} {
		if r := f.api("PushApplicationData", "AppId", id, "Data", file("a", "")); r.status != 200 {
			t.Fatalf("push to %s: %d %s", id, r.status, r.body)
		}
	}
	f.advance("10m")
	if r := f.api("PushApplicationData", "AppId", keep, "Data", file("b", "")); r.status != 200 {
		t.Fatalf("push b: %d %s", r.status, r.body)
	}
	f.advance("10m")
	// One finished dist, and one still DISTING at the restart.
	if r := f.api("DistApplicationData", "AppId", keep, "Data", `[{"name":"a","version":"1.0"}]`); r.status != 200 || !strings.Contains(string(r.body), `"ResultCode":0`) {
		t.Fatalf("dist a: %d %s", r.status, r.body)
	}
	f.advance("10m")
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"match":{"name":"b"},"effect":"slow","params":{"factor":1000}}`)
	if r := f.api("DistApplicationData", "AppId", keep, "Data", `[{"name":"b","version":"1.0"}]`); r.status != 200 || !strings.Contains(string(r.body), `"ResultCode":0`) {
		t.Fatalf("dist b: %d %s", r.status, r.body)
	}
	f.advance("1ms")
	if r := f.api("DeleteApplication", "AppId", gone); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	before, state := f.appAPI(keep), f.stateJSON()
	for _, want := range []string{`SUCCESS`, `DISTING`, `"phase": "DELETING"`} {
		if !strings.Contains(before+state, want) {
			t.Fatalf("before the restart, %s is missing:\n%s\n%s", want, before, state)
		}
	}
	f.srv.Close()

	g := newDirFx(t, dir, fxStart, nil)
	if after := g.appAPI(keep); after != before {
		t.Fatalf("the app after a restart differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if after := g.stateJSON(); after != state {
		t.Fatalf("state after restart differs:\n--- before\n%s\n--- after\n%s", state, after)
	}
	// The deletion completes on the restored clock, durably.
	g.advance("1m")
	if r := g.api("DescribeApplication", "AppId", gone); r.status == 200 {
		t.Fatalf("a deleted app is described: %s", r.body)
	}
	// A new app does not reuse an AppId.
	third := g.createApp(`{"appMetaData":{"appName":"third"},"resourceSelector":[{"count":1}]}`)
	if third == keep || third == gone {
		t.Fatalf("CreateApplication after a restart reused AppId %s", third)
	}
	if _, err := g.srv.engine.DescribeApp("testid", gone, nil); !errors.Is(err, engine.ErrAppDeleted) {
		t.Fatalf("the deleted app: %v, want ErrAppDeleted", err)
	}
	g.srv.Close()

	h := newDirFx(t, dir, fxStart, nil)
	defer h.srv.Close()
	// Still a tombstone (not an unknown AppId), and a push to it is refused.
	if _, err := h.srv.engine.DescribeApp("testid", gone, nil); !errors.Is(err, engine.ErrAppDeleted) {
		t.Fatalf("the deleted app after a restart: %v, want ErrAppDeleted", err)
	}
	if r := h.api("PushApplicationData", "AppId", gone, "Data", file("a", "")); r.status == 200 {
		t.Fatalf("a push to the deleted app after a restart: %d %s", r.status, r.body)
	}
	s := h.stateJSON()
	if strings.Contains(s, gone) {
		t.Fatalf("the deleted app's data came back:\n%s", s)
	}
	if !strings.Contains(s, keep) || !strings.Contains(s, third) {
		t.Fatalf("the kept apps are missing:\n%s", s)
	}
	if r := h.api("DescribeApplication", "AppId", third); r.status != 200 {
		t.Fatalf("the app created after the first restart: %d %s", r.status, r.body)
	}
}
