package engine

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

const tmplTwoRegions = `{"appMetaData":{"appName":"nginx","clusterName":"poc"},
 "resourceSelector":[{"regionCode":"cn-chengdu-telecom-4","count":2},{"regionCode":"cn-xiangyang-19","count":1}],
 "workload":[{"name":"nginx","count":1}]}`

func createApp(t *testing.T, e *Engine, tmpl string) string {
	t.Helper()
	id, err := e.CreateApp("acct", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func pushTo(t *testing.T, e *Engine, app string, fs ...DataFile) {
	t.Helper()
	if _, err := e.Push(context.Background(), "acct", app, fs, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCreateAppIsDeterministicAndPlacesInstances(t *testing.T) {
	e1, _ := newEngine(t, func(c *Config) { c.Seed = 7 })
	e2, _ := newEngine(t, func(c *Config) { c.Seed = 7 })
	e3, _ := newEngine(t, func(c *Config) { c.Seed = 8 })
	a, b, c := createApp(t, e1, tmplTwoRegions), createApp(t, e2, tmplTwoRegions), createApp(t, e3, tmplTwoRegions)
	if a != b || a == c {
		t.Fatalf("AppIds: seed 7 %s and %s, seed 8 %s", a, b, c)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Fatalf("AppId %q is not a UUID", a)
	}
	info, err := e1.DescribeApp("acct", a, nil)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, in := range info.Instances {
		if !regexp.MustCompile(`^i-[0-9a-z]{25}$`).MatchString(in.InstanceID) {
			t.Errorf("instance id %q", in.InstanceID)
		}
		per[in.RegionID]++
	}
	if len(info.Instances) != 3 || per["cn-chengdu-telecom-4"] != 2 || per["cn-xiangyang-19"] != 1 {
		t.Fatalf("instances: %+v", info.Instances)
	}
	info2, _ := e2.DescribeApp("acct", b, nil)
	if info2.Instances[0].InstanceID != info.Instances[0].InstanceID {
		t.Error("instance ids differ for the same seed")
	}
	if a2 := createApp(t, e1, tmplTwoRegions); a2 == a {
		t.Error("a second app got the same AppId")
	}
}

func TestCreateAppRefusals(t *testing.T) {
	e, _ := newEngine(t, func(c *Config) {
		c.Topology = Topology{Regions: []Region{{ID: "r1", Servers: []string{"s1"}, Instances: 2}}}
	})
	for _, tmpl := range []string{
		`{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":3}]}`,                        // capacity 2
		`{"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"nowhere","count":3}]}`, // spread: capacity 2
		`not json`,
	} {
		var pe *ParamError
		if _, err := e.CreateApp("acct", []byte(tmpl)); !errors.As(err, &pe) || pe.Param != "Template" {
			t.Errorf("%s: err = %v", tmpl, err)
		}
	}
	if apps, total := e.ListApps("acct", AppQuery{}); total != 0 || len(apps) != 0 {
		t.Fatalf("a refused create left %d apps", total)
	}
	createApp(t, e, `{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":2}]}`)
	if _, err := e.CreateApp("acct", []byte(`{"appMetaData":{"appName":"y"},"resourceSelector":[{"count":1}]}`)); err == nil {
		t.Error("the region's capacity was exceeded")
	}
}

// TestCreateAppLenient: what the documentation does not require of a template
// is read leniently (the API layer warns, or refuses in strict mode).
func TestCreateAppLenient(t *testing.T) {
	e, _ := newEngine(t, func(c *Config) {
		c.Topology = Topology{Regions: []Region{{ID: "r1", Servers: []string{"s1"}}, {ID: "r2", Servers: []string{"s2"}}}}
	})
	for _, c := range []struct {
		tmpl, name string
		regions    []string
	}{
		{`{"appMetaData":{},"resourceSelector":[{"count":1}]}`, "", []string{"r1"}},
		{`{"appMetaData":{"appName":"x"},"resourceSelector":[]}`, "x", []string{"r1", "r2"}},
		{`{"appMetaData":{"appName":"x"}}`, "x", []string{"r1", "r2"}},
		{`{"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"nowhere","count":3}]}`, "x", []string{"r1", "r1", "r2"}},
		{`{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":0},{"regionCode":"r2","count":1}]}`, "x", []string{"r2"}},
	} {
		id := createApp(t, e, c.tmpl)
		info, err := e.DescribeApp("acct", id, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := c.name
		if want == "" {
			want = id
		}
		var got []string
		for _, in := range info.Instances {
			got = append(got, in.RegionID)
		}
		if info.AppName != want || strings.Join(got, ",") != strings.Join(c.regions, ",") {
			t.Errorf("%s: name %q, instances in %v; want %q, %v", c.tmpl, info.AppName, got, want, c.regions)
		}
	}
}

func TestDistLifecycleAndCanary(t *testing.T) {
	e, c := newEngine(t, nil) // 2s base latency, 10 MiB/s, no jitter
	app := createApp(t, e, tmplTwoRegions)
	f := dataFile("app01", 10<<20) // 3s per transfer
	df := DistFile{Name: "app01", Version: "1.0"}

	out, err := e.Dist("acct", app, []DistFile{df}, nil)
	if err != nil || out.Results[0].Code != DistCodeFail || len(out.Instances) != 3 {
		t.Fatalf("dist before push: %+v %v", out, err)
	}
	pushTo(t, e, app, f)
	if out, _ = e.Dist("acct", app, []DistFile{df}, nil); out.Results[0].Code != DistCodeFail {
		t.Fatalf("dist while pushing: %+v", out)
	}
	_ = c.Advance(3 * time.Second)
	canary := DistStrategy{{Key: "region_id", Operator: "In", Values: []string{"cn-xiangyang-19"}}}
	out, err = e.Dist("acct", app, []DistFile{df}, canary)
	if err != nil || out.Results[0].Code != DistCodeOK || len(out.Instances) != 1 {
		t.Fatalf("canary dist: %+v %v", out, err)
	}
	xiangyang := out.Instances[0]
	res, _ := e.DescribeDist("acct", DistQuery{AppID: app})
	if res.Total != 1 || len(res.Files[0].Stats) != 1 || res.Files[0].Stats[0].Status != DistDisting ||
		res.Files[0].Stats[0].Instances[0].InstanceID != xiangyang {
		t.Fatalf("describe while disting: %+v", res)
	}
	_ = c.Advance(3*time.Second - time.Millisecond)
	if res, _ = e.DescribeDist("acct", DistQuery{AppID: app}); res.Files[0].Stats[0].Status != DistDisting {
		t.Fatalf("1ms early: %+v", res)
	}
	_ = c.Advance(time.Millisecond)
	if res, _ = e.DescribeDist("acct", DistQuery{AppID: app}); res.Files[0].Stats[0].Status != DistSuccess {
		t.Fatalf("after transfer: %+v", res)
	}
	// by instances: one chengdu instance
	info, _ := e.DescribeApp("acct", app, []string{"cn-chengdu-telecom-4"})
	one := info.Instances[0].InstanceID
	out, _ = e.Dist("acct", app, []DistFile{df}, DistStrategy{{Key: "instance_id", Operator: "In", Values: []string{one}}})
	if len(out.Instances) != 1 || out.Instances[0] != one {
		t.Fatalf("canary by instance: %+v", out)
	}
	res, _ = e.DescribeDist("acct", DistQuery{AppID: app})
	if len(res.Files[0].Stats) != 2 || res.Files[0].Stats[0].Status != DistSuccess || res.Files[0].Stats[1].Status != DistDisting {
		t.Fatalf("mixed: %+v", res)
	}
	// filters
	if r, _ := e.DescribeDist("acct", DistQuery{AppID: app, InstanceIDs: []string{one}}); len(r.Files) != 1 ||
		len(r.Files[0].Stats) != 1 || r.Files[0].Stats[0].Instances[0].InstanceID != one {
		t.Fatalf("InstanceIds filter: %+v", r)
	}
	if r, _ := e.DescribeDist("acct", DistQuery{AppID: app, Regions: []string{"cn-wuxi-5"}}); r.Total != 0 {
		t.Fatalf("region filter with no instance: %+v", r)
	}
	if r, _ := e.DescribeDist("acct", DistQuery{AppID: app, Names: []string{"other"}}); r.Total != 0 {
		t.Fatalf("name filter: %+v", r)
	}
	if r, _ := e.DescribeDist("acct", DistQuery{AppID: app, MaxDate: t0.Add(-48 * time.Hour)}); r.Total != 0 {
		t.Fatalf("date filter: %+v", r)
	}
	// no instance matches
	out, _ = e.Dist("acct", app, []DistFile{df}, DistStrategy{{Key: "region_id", Operator: "In", Values: []string{"cn-wuxi-5"}}})
	if len(out.Instances) != 0 || out.Results[0].Code != DistCodeFail {
		t.Fatalf("empty canary: %+v", out)
	}
	if _, err := e.Dist("acct", app, []DistFile{df, df}, nil); err == nil {
		t.Fatal("duplicate Data accepted")
	}
}

func TestDistPagingAndTimeout(t *testing.T) {
	e, c := newEngine(t, nil)
	app := createApp(t, e, tmplTwoRegions)
	var dfs []DistFile
	for _, n := range []string{"a", "b", "c"} {
		pushTo(t, e, app, dataFile(n, 0))
		dfs = append(dfs, DistFile{Name: n, Version: "1.0", Timeout: 1})
	}
	_ = c.Advance(2 * time.Second)
	if _, err := e.Dist("acct", app, dfs, nil); err != nil {
		t.Fatal(err)
	}
	r, _ := e.DescribeDist("acct", DistQuery{AppID: app, PageNumber: 2, PageSize: 2})
	if r.Total != 3 || len(r.Files) != 1 || r.Files[0].Name != "c" {
		t.Fatalf("page 2: %+v", r)
	}
	_ = c.Advance(time.Second)
	r, _ = e.DescribeDist("acct", DistQuery{AppID: app, Names: []string{"a"}})
	if st := r.Files[0].Stats; len(st) != 1 || st[0].Status != DistFailed || len(st[0].Instances) != 3 {
		t.Fatalf("timeout 1s on a 2s transfer: %+v", r)
	}
}

func TestDeleteAppIsAsynchronousAndForgets(t *testing.T) {
	e, c := newEngine(t, nil)
	app := createApp(t, e, tmplTwoRegions)
	pushTo(t, e, app, dataFile("f", 0))
	_ = c.Advance(2 * time.Second)
	if _, err := e.Dist("acct", app, []DistFile{{Name: "f", Version: "1.0"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteApp("acct", app); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteApp("acct", app); err != nil {
		t.Fatalf("second delete while deleting: %v", err)
	}
	info, err := e.DescribeApp("acct", app, nil)
	if err != nil || info.Phase != PhaseDeleting {
		t.Fatalf("while deleting: %+v %v", info, err)
	}
	if _, err := e.Push(context.Background(), "acct", app, []DataFile{dataFile("g", 0)}, nil); !errors.Is(err, ErrAppDeleting) {
		t.Fatalf("push while deleting: %v", err)
	}
	if _, err := e.Dist("acct", app, []DistFile{{Name: "f", Version: "1.0"}}, nil); !errors.Is(err, ErrAppDeleting) {
		t.Fatalf("dist while deleting: %v", err)
	}
	r, _ := e.DescribeDist("acct", DistQuery{AppID: app})
	if r.Files[0].Stats[0].Status != DistDeleted {
		t.Fatalf("dist status while deleting: %+v", r)
	}
	_ = c.Advance(DefaultReleaseDuration)
	for name, err := range map[string]error{
		"describe app":  func() error { _, err := e.DescribeApp("acct", app, nil); return err }(),
		"describe dist": func() error { _, err := e.DescribeDist("acct", DistQuery{AppID: app}); return err }(),
		"describe push": func() error { _, err := e.Describe("acct", DescribeQuery{AppID: app}); return err }(),
		"push": func() error {
			_, err := e.Push(context.Background(), "acct", app, []DataFile{dataFile("g", 0)}, nil)
			return err
		}(),
		"delete": e.DeleteApp("acct", app),
	} {
		if !errors.Is(err, ErrAppDeleted) {
			t.Errorf("%s after the release: %v", name, err)
		}
	}
	if _, total := e.ListApps("acct", AppQuery{}); total != 0 {
		t.Errorf("ListApps still lists %d apps", total)
	}
	a := e.account("acct", false)
	if a.files != 0 || a.stateBytes != 0 || a.ext.instances != 0 || a.ext.reps != 0 || a.ext.tmplBytes != 0 {
		t.Errorf("counters not released: files %d state %d B, instances %d, reps %d, templates %d B", a.files, a.stateBytes, a.ext.instances, a.ext.reps, a.ext.tmplBytes)
	}
	if err := e.DeleteApp("acct", "never"); !errors.Is(err, ErrAppNotFound) {
		t.Errorf("delete of an unknown app: %v", err)
	}
}

func TestBareAppGetsOneInstancePerRegion(t *testing.T) {
	e, c := newEngine(t, nil)
	pushTo(t, e, "auto-app", dataFile("f", 0))
	_ = c.Advance(2 * time.Second)
	out, err := e.Dist("acct", "auto-app", []DistFile{{Name: "f", Version: "1.0"}}, nil)
	if err != nil || len(out.Instances) != len(e.Regions()) || out.Results[0].Code != DistCodeOK {
		t.Fatalf("%+v %v", out, err)
	}
	strict, _ := newEngine(t, func(c *Config) { c.StrictApps = true })
	if _, err := strict.Dist("acct", "nope", []DistFile{{Name: "f", Version: "1.0"}}, nil); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("strict: %v", err)
	}
	id := createApp(t, strict, tmplTwoRegions)
	if _, err := strict.Describe("acct", DescribeQuery{AppID: id}); err != nil {
		t.Fatalf("a created app is known in strict mode: %v", err)
	}
}

func TestListAppsFiltersAndPages(t *testing.T) {
	e, c := newEngine(t, nil)
	var ids []string
	for _, cl := range []string{"poc", "pre", "poc"} {
		ids = append(ids, createApp(t, e, `{"appMetaData":{"appName":"n","clusterName":"`+cl+`"},"resourceSelector":[{"count":1}]}`))
		_ = c.Advance(25 * time.Hour)
	}
	apps, total := e.ListApps("acct", AppQuery{Clusters: []string{"poc"}})
	if total != 2 || apps[0].AppID != ids[0] || apps[1].AppID != ids[2] {
		t.Fatalf("cluster filter: %d %+v", total, apps)
	}
	apps, total = e.ListApps("acct", AppQuery{PageNumber: 2, PageSize: 2})
	if total != 3 || len(apps) != 1 || apps[0].AppID != ids[2] {
		t.Fatalf("paging: %d %+v", total, apps)
	}
	apps, total = e.ListApps("acct", AppQuery{MinDate: t0.Add(24 * time.Hour).Truncate(24 * time.Hour)})
	if total != 2 {
		t.Fatalf("MinDate: %d %+v", total, apps)
	}
}

func TestTemplateBytesAreBounded(t *testing.T) {
	e, _ := newEngine(t, nil)
	big := `{"appMetaData":{"appName":"x","description":"` + strings.Repeat("a", MaxTemplateBytes) + `"},"resourceSelector":[{"count":1}]}`
	var pe *ParamError
	if _, err := e.CreateApp("acct", []byte(big)); !errors.As(err, &pe) || pe.Param != "Template" {
		t.Fatalf("a %d-byte template: %v", len(big), err)
	}
	near := `{"appMetaData":{"appName":"x","description":"` + strings.Repeat("a", MaxTemplateBytes-100) + `"},"resourceSelector":[{"count":1}]}`
	n := 0
	for ; n < 1000; n++ {
		if _, err := e.CreateApp("acct", []byte(near)); err != nil {
			break
		}
	}
	if want := MaxTemplateBytesPerAccount / len(near); n != want {
		t.Fatalf("%d templates of %d bytes accepted, want %d", n, len(near), want)
	}
}

func TestRegisterRevivesADeletedAppID(t *testing.T) {
	e, c := newEngine(t, nil)
	pushTo(t, e, "app", dataFile("f", 0))
	if err := e.DeleteApp("acct", "app"); err != nil {
		t.Fatal(err)
	}
	_ = c.Advance(DefaultReleaseDuration)
	if _, err := e.Describe("acct", DescribeQuery{AppID: "app"}); !errors.Is(err, ErrAppDeleted) {
		t.Fatalf("after the release: %v", err)
	}
	if err := e.RegisterApp("acct", "app"); err != nil {
		t.Fatal(err)
	}
	if res, err := e.Describe("acct", DescribeQuery{AppID: "app"}); err != nil || res.Total != 0 {
		t.Fatalf("registered again: %+v %v", res, err)
	}
}

func TestRewindMovesDistributions(t *testing.T) {
	c := clock.New(clock.Manual, 0, time.Now().Add(2*time.Hour)) // ahead of the machine's time
	e, err := New(Config{Clock: c, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	app := createApp(t, e, tmplTwoRegions)
	pushTo(t, e, app, dataFile("f", 10<<20)) // 3 s per transfer
	_ = c.Advance(time.Minute)
	if _, err := e.Dist("acct", app, []DistFile{{Name: "f", Version: "1.0"}}, nil); err != nil {
		t.Fatal(err)
	}
	_ = c.Advance(time.Second) // 2 s of the dist left
	before, _ := e.DescribeDist("acct", DistQuery{AppID: app})
	from, to, err := c.Reset(clock.Manual) // back to the machine's time, as POST /_ensmock/clock/reset
	if err != nil {
		t.Fatal(err)
	}
	e.Rewind(from.Sub(to))
	after, _ := e.DescribeDist("acct", DistQuery{AppID: app})
	st := after.Files[0].Stats
	if len(st) != 1 || st[0].Status != DistDisting || !st[0].Instances[0].Start.Equal(before.Files[0].Stats[0].Instances[0].Start.Add(-from.Sub(to)).Truncate(time.Nanosecond)) {
		t.Fatalf("after the rewind by %s: %+v", from.Sub(to), after)
	}
	_ = c.Advance(2 * time.Second)
	if after, _ = e.DescribeDist("acct", DistQuery{AppID: app}); after.Files[0].Stats[0].Status != DistSuccess {
		t.Fatalf("the remaining 2 s: %+v", after)
	}
}

// TestDescribeDistEachReleasesTheLock: the callbacks of DescribeDistEach run
// without the account lock (a dist during the answer does not deadlock and
// does not change the file being written: its group sizes equal its
// instances), parts hold at most chunk instances, and a reset during the
// answer ends it after a whole file.
func TestDescribeDistEachReleasesTheLock(t *testing.T) {
	e, c := newEngine(t, nil)
	app := createApp(t, e, `{"appMetaData":{"appName":"x"},"resourceSelector":[{"count":40}]}`)
	f1, f2 := dataFile("f1", 1), dataFile("f2", 1)
	pushTo(t, e, app, f1)
	pushTo(t, e, app, f2)
	_ = c.Advance(time.Minute)
	canary := DistStrategy{{Key: "region_id", Operator: "NotIn", Values: []string{"cn-xiangyang-19"}}}
	for _, f := range []DataFile{f1, f2} {
		if out, err := e.Dist("acct", app, []DistFile{{Name: f.Name, Version: f.Version}}, canary); err != nil || out.Results[0].Code != DistCodeOK {
			t.Fatalf("dist %s: %+v %v", f.Name, out, err)
		}
	}
	var files, reset bool
	for _, doReset := range []bool{false, true} {
		var heads []DistFileHead
		got, counted := 0, 0
		err := e.DescribeDistEach("acct", DistQuery{AppID: app}, 7,
			func(res DistDescribeResult) error {
				if res.Total != 2 {
					t.Fatalf("total %d", res.Total)
				}
				return nil
			},
			func(h DistFileHead) error {
				heads = append(heads, h)
				for _, g := range h.Groups {
					counted += g.Count
				}
				// the lock is free: distribute f1 everywhere meanwhile
				if _, err := e.Dist("acct", app, []DistFile{{Name: "f1", Version: "1.0"}}, nil); err != nil {
					t.Fatal(err)
				}
				if doReset {
					e.Reset("")
					reset = true
				}
				return nil
			},
			func(ins []InstanceStatus) error {
				if len(ins) < 1 || len(ins) > 7 {
					t.Fatalf("a part of %d instances", len(ins))
				}
				got += len(ins)
				files = true
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if got != counted || !files {
			t.Fatalf("reset %v: %d instances reported, the groups count %d", doReset, got, counted)
		}
		if want := map[bool]int{false: 2, true: 1}[doReset]; len(heads) != want {
			t.Fatalf("reset %v: %d files, want %d", doReset, len(heads), want)
		}
		if doReset {
			break
		}
		if heads[0].Groups[0].Count >= 40 || heads[0].Name != "f1" {
			t.Fatalf("the first file changed while written: %+v", heads[0])
		}
	}
	if !reset {
		t.Fatal("no reset")
	}
}

// failIndex finds descriptions already kept (before and during the call),
// adds new ones, and past maxDistFails answers the last one kept.
func TestDistFailIndex(t *testing.T) {
	d := &dist{fails: []string{"old"}}
	var ix map[string]uint16
	if got := d.failIndex("", &ix); got != 0 || ix != nil {
		t.Fatalf("no failure: %d, index %v", got, ix)
	}
	if got := d.failIndex("old", &ix); got != 1 {
		t.Fatalf("kept description: %d", got)
	}
	for i := 2; i <= maxDistFails; i++ {
		if got := d.failIndex(strconv.Itoa(i), &ix); got != uint16(i) {
			t.Fatalf("new description %d: %d", i, got)
		}
	}
	if got := d.failIndex("7", &ix); got != 7 {
		t.Fatalf("description added in this call: %d", got)
	}
	if got := d.failIndex("one too many", &ix); got != maxDistFails || len(d.fails) != maxDistFails {
		t.Fatalf("past the bound: %d, %d kept", got, len(d.fails))
	}
}

// The streamed state (StateApps) and Snapshot agree on a deleted app: listed
// while it is being deleted, gone once its release time has come.
func TestStateAppsAfterRelease(t *testing.T) {
	e, c := newEngine(t, nil)
	app := createApp(t, e, tmplTwoRegions)
	if err := e.DeleteApp("acct", app); err != nil {
		t.Fatal(err)
	}
	if ids := e.StateApps("acct"); len(ids) != 1 || e.StateAppDetail("acct", app, c.Now()).Phase != PhaseDeleting {
		t.Fatalf("being deleted: %v", ids)
	}
	_ = c.Advance(DefaultReleaseDuration)
	if ids := e.StateApps("acct"); len(ids) != 0 {
		t.Fatalf("released: still listed %v", ids)
	}
	if st := e.Snapshot("acct"); len(st.Accounts) != 1 || len(st.Accounts[0].Apps) != 0 {
		t.Fatalf("released: snapshot %+v", st)
	}
}
