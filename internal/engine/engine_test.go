package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newEngine(t testing.TB, mod func(*Config)) (*Engine, *clock.Clock) {
	t.Helper()
	c := clock.New(clock.Manual, 0, t0)
	cfg := Config{Clock: c, Jitter: -1}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

func dataFile(name string, size int64) DataFile {
	return DataFile{Name: name, Version: "1.0", Size: size, URL: "http://127.0.0.1/" + name}
}

func push(t *testing.T, e *Engine, st Strategy, fs ...DataFile) []PushResult {
	t.Helper()
	rs, err := e.Push(context.Background(), "acct", "app", fs, st)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestResultCodeTransitionsFollowTheClock(t *testing.T) {
	e, c := newEngine(t, nil)      // 2s base latency, 10 MiB/s, no jitter
	f := dataFile("app01", 20<<20) // 2s + 2s = 4s per server
	if got := push(t, e, nil, f); got[0].Code != CodeStarted || got[0].Descrip != "success" {
		t.Fatalf("first push: %+v", got)
	}
	if got := push(t, e, nil, f); got[0].Code != CodePushing {
		t.Fatalf("while pushing: %+v", got)
	}
	_ = c.Advance(3999 * time.Millisecond)
	if got := push(t, e, nil, f); got[0].Code != CodePushing {
		t.Fatalf("1ms before done: %+v", got)
	}
	_ = c.Advance(time.Millisecond)
	if got := push(t, e, nil, f); got[0].Code != CodePushed || got[0].Descrip != "success" {
		t.Fatalf("after transfer: %+v", got)
	}
}

func TestOneResultPerFileInOrder(t *testing.T) {
	e, _ := newEngine(t, nil)
	rs := push(t, e, nil, dataFile("b", 1), dataFile("a", 1), dataFile("c", 1))
	if len(rs) != 3 || rs[0].Name != "b" || rs[1].Name != "a" || rs[2].Name != "c" || rs[0].Version != "1.0" {
		t.Fatalf("results %+v", rs)
	}
}

func TestDuplicateFilesAreOneFileWithOneResultPerItem(t *testing.T) {
	e, _ := newEngine(t, nil)
	rs := push(t, e, nil, dataFile("a", 1), dataFile("b", 1), dataFile("a", 1))
	if len(rs) != 3 || rs[0].Code != CodeStarted || rs[1].Code != CodeStarted || rs[2].Code != CodePushing || rs[2].Name != "a" {
		t.Fatalf("results %+v", rs)
	}
	if st := e.Snapshot("acct"); len(st.Accounts[0].Apps[0].Files) != 2 || st.Accounts[0].Apps[0].Files[0].Attempts != 1 {
		t.Fatalf("state %+v", st)
	}
}

func TestStrategies(t *testing.T) {
	e, _ := newEngine(t, nil)
	all := len(e.Servers())
	cases := []struct {
		name    string
		st      Strategy
		servers int
	}{
		{"default is every server", nil, all},
		{"In", Strategy{{"In", []string{"cn-wuxi-5", "cn-jiaozuo-2"}}}, 4},
		{"In with an unknown region", Strategy{{"In", []string{"cn-wuxi-5", "cn-nowhere-1"}}}, 2},
		{"NotIn", Strategy{{"NotIn", []string{"cn-wuxi-5"}}}, all - 2},
		{"all of several", Strategy{{"NotIn", []string{"cn-wuxi-5"}}, {"In", []string{"cn-wuxi-5", "cn-chenzhou-5"}}}, 2},
		{"nothing selected", Strategy{{"In", []string{"cn-nowhere-1"}}}, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := dataFile(fmt.Sprintf("f%d", i), 1)
			rs := push(t, e, tc.st, f)
			if tc.servers == 0 {
				if rs[0].Code != CodeFailed || rs[0].Descrip == "" {
					t.Fatalf("want 300, got %+v", rs[0])
				}
				return
			}
			st := e.Snapshot("acct")
			var got int
			for _, fs := range st.Accounts[0].Apps[0].Files {
				if fs.Name == f.Name {
					got = len(fs.Replicas)
				}
			}
			if got != tc.servers {
				t.Fatalf("replicas %d, want %d", got, tc.servers)
			}
		})
	}
}

func TestWideningTheStrategyStartsOnlyNewServers(t *testing.T) {
	e, c := newEngine(t, nil)
	f := dataFile("w", 0)
	in := Strategy{{"In", []string{"cn-wuxi-5"}}}
	push(t, e, in, f)
	_ = c.Advance(time.Minute)
	if got := push(t, e, in, f); got[0].Code != CodePushed {
		t.Fatalf("narrow: %+v", got)
	}
	if got := push(t, e, nil, f); got[0].Code != CodeStarted {
		t.Fatalf("widened: %+v", got)
	}
	if got := push(t, e, in, f); got[0].Code != CodePushed {
		t.Fatalf("narrow again while others push: %+v", got)
	}
	if got := push(t, e, nil, f); got[0].Code != CodePushing {
		t.Fatalf("wide while pushing: %+v", got)
	}
}

type refuseHooks struct {
	refuse string
	fail   string
}

func (h *refuseHooks) PrePush(PushContext) string { return h.refuse }
func (h *refuseHooks) Replica(_ PushContext, s Server, p *ReplicaPlan) {
	if h.fail != "" && s.Region == "cn-wuxi-5" {
		p.Fail = h.fail
	}
}

func TestFailedPrePushThenRetry(t *testing.T) {
	h := &refuseHooks{refuse: "region cn-wuxi-5 is down"}
	e, c := newEngine(t, func(c *Config) { c.Hooks = h })
	f := dataFile("r", 0)
	if got := push(t, e, nil, f); got[0].Code != CodeFailed || got[0].Descrip != h.refuse {
		t.Fatalf("refused: %+v", got)
	}
	if st := e.Snapshot("acct"); len(st.Accounts[0].Apps[0].Files) != 0 {
		t.Fatal("a refused push left a data file behind")
	}
	h.refuse = ""
	if got := push(t, e, nil, f); got[0].Code != CodeStarted {
		t.Fatalf("retry: %+v", got)
	}
	_ = c.Advance(time.Minute)
	if got := push(t, e, nil, f); got[0].Code != CodePushed {
		t.Fatalf("after: %+v", got)
	}
}

func TestFailedReplicasAreRestartedByTheNextPush(t *testing.T) {
	h := &refuseHooks{fail: "disk full"}
	e, c := newEngine(t, func(c *Config) { c.Hooks = h })
	f := dataFile("x", 0)
	push(t, e, nil, f)
	_ = c.Advance(time.Minute)
	res, _ := e.Describe("acct", DescribeQuery{AppID: "app"})
	if len(res.Files) != 1 || len(res.Files[0].Stats) != 2 || res.Files[0].Stats[1].Status != StatusFailed ||
		res.Files[0].Stats[1].Regions[0].RegionID != "cn-wuxi-5" || res.Files[0].Stats[1].Regions[0].Descrip != "disk full" {
		t.Fatalf("describe %+v", res)
	}
	h.fail = ""
	if got := push(t, e, nil, f); got[0].Code != CodeStarted {
		t.Fatalf("push after failure: %+v", got)
	}
	if got := push(t, e, nil, f); got[0].Code != CodePushing {
		t.Fatalf("push during retry: %+v", got)
	}
	_ = c.Advance(time.Minute)
	if got := push(t, e, nil, f); got[0].Code != CodePushed {
		t.Fatalf("after retry: %+v", got)
	}
}

func TestPerFileTimeout(t *testing.T) {
	e, c := newEngine(t, nil)
	f := dataFile("big", 100<<20) // 2s + 10s
	f.Timeout = 5
	push(t, e, nil, f)
	_ = c.Advance(4 * time.Second)
	if got := push(t, e, nil, f); got[0].Code != CodePushing {
		t.Fatalf("before timeout %+v", got)
	}
	_ = c.Advance(time.Second)
	res, _ := e.Describe("acct", DescribeQuery{AppID: "app"})
	st := res.Files[0].Stats
	if len(st) != 1 || st[0].Status != StatusFailed || st[0].Regions[0].Update != t0.Add(5*time.Second) {
		t.Fatalf("after timeout %+v", st)
	}
	if d := st[0].Regions[0].Descrip; d == "" || d[:24] != "push timed out after 5s:" {
		t.Fatalf("descrip %q", d)
	}
}

func TestJitterIsSeededAndDeterministic(t *testing.T) {
	run := func(seed uint64) time.Time {
		e, _ := newEngine(t, func(c *Config) { c.Jitter = 0.5; c.Seed = seed })
		push(t, e, nil, dataFile("j", 50<<20))
		return e.Snapshot("acct").Accounts[0].Apps[0].Files[0].Replicas[0].Done
	}
	if first, again := run(1), run(1); !first.Equal(again) {
		t.Fatal("same seed, different durations")
	}
	if run(1) == run(2) {
		t.Fatal("seed has no effect")
	}
}

func TestDescribeFiltersAndPaging(t *testing.T) {
	e, c := newEngine(t, nil)
	for i := 0; i < 5; i++ {
		push(t, e, Strategy{{"In", []string{"cn-wuxi-5"}}}, DataFile{Name: fmt.Sprintf("n%d", i), Version: fmt.Sprint(i % 2), URL: "u"})
		_ = c.Advance(24 * time.Hour)
	}
	push(t, e, Strategy{{"In", []string{"cn-jiaozuo-2"}}}, DataFile{Name: "other", Version: "0", URL: "u"})
	cases := []struct {
		name  string
		q     DescribeQuery
		total int
		page  []string
	}{
		{"all", DescribeQuery{}, 6, []string{"n0", "n1", "n2", "n3", "n4", "other"}},
		{"names", DescribeQuery{Names: []string{"n1", "n3", "zz"}}, 2, []string{"n1", "n3"}},
		{"versions", DescribeQuery{Versions: []string{"1"}}, 2, []string{"n1", "n3"}},
		{"regions", DescribeQuery{Regions: []string{"cn-jiaozuo-2"}}, 1, []string{"other"}},
		{"dates", DescribeQuery{MinDate: t0.Add(24 * time.Hour), MaxDate: t0.Add(48 * time.Hour)}, 2, []string{"n1", "n2"}},
		{"page 2 of 4", DescribeQuery{PageNumber: 2, PageSize: 4}, 6, []string{"n4", "other"}},
		{"page beyond", DescribeQuery{PageNumber: 9, PageSize: 4}, 6, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.AppID = "app"
			res, err := e.Describe("acct", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Files {
				got = append(got, f.Name)
			}
			if res.Total != tc.total || fmt.Sprint(got) != fmt.Sprint(tc.page) {
				t.Fatalf("total %d files %v; want %d %v", res.Total, got, tc.total, tc.page)
			}
		})
	}
}

func TestAccountsAreIsolatedAndResettable(t *testing.T) {
	e, _ := newEngine(t, nil)
	f := dataFile("iso", 0)
	if rs, _ := e.Push(context.Background(), "a1", "app", []DataFile{f}, nil); rs[0].Code != CodeStarted {
		t.Fatal(rs)
	}
	if rs, _ := e.Push(context.Background(), "a2", "app", []DataFile{f}, nil); rs[0].Code != CodeStarted {
		t.Fatalf("second account sees the first's state: %+v", rs)
	}
	e.Reset("a1")
	if rs, _ := e.Push(context.Background(), "a1", "app", []DataFile{f}, nil); rs[0].Code != CodeStarted {
		t.Fatal(rs)
	}
	if rs, _ := e.Push(context.Background(), "a2", "app", []DataFile{f}, nil); rs[0].Code != CodePushing {
		t.Fatalf("reset of a1 touched a2: %+v", rs)
	}
}

func TestStrictApps(t *testing.T) {
	e, _ := newEngine(t, func(c *Config) { c.StrictApps = true })
	if _, err := e.Push(context.Background(), "acct", "nope", []DataFile{dataFile("a", 0)}, nil); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("err %v", err)
	}
	if _, err := e.Describe("acct", DescribeQuery{AppID: "nope"}); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("describe err %v", err)
	}
	if err := e.RegisterApp("acct", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Push(context.Background(), "acct", "yes", []DataFile{dataFile("a", 0)}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPushesOfOneFileStartItOnce(t *testing.T) {
	e, _ := newEngine(t, nil)
	const n = 32
	var wg sync.WaitGroup
	got := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := e.Push(context.Background(), "acct", "app", []DataFile{dataFile("same", 1)}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			got <- rs[0].Code
		}()
	}
	wg.Wait()
	close(got)
	zeros := 0
	for c := range got {
		if c == CodeStarted {
			zeros++
		} else if c != CodePushing {
			t.Errorf("code %d", c)
		}
	}
	if zeros != 1 {
		t.Fatalf("%d pushes answered 0, want exactly 1", zeros)
	}
}

type fakeFetcher struct {
	calls int
	blob  *Blob
	err   error
}

func (f *fakeFetcher) Fetch(context.Context, DataFile) (*Blob, error) {
	f.calls++
	return f.blob, f.err
}

func TestFetchModeOncePerFileAndUnreachableIs300(t *testing.T) {
	ff := &fakeFetcher{err: errors.New("connection refused")}
	e, c := newEngine(t, func(c *Config) { c.Fetcher = ff })
	f := dataFile("src", 0)
	if got := push(t, e, nil, f); got[0].Code != CodeFailed || got[0].Descrip != "data source unreachable: connection refused" {
		t.Fatalf("unreachable: %+v", got)
	}
	ff.err, ff.blob = nil, &Blob{Data: []byte("abc"), MD5: "900150983cd24fb0d6963f7d28e17f72"}
	if got := push(t, e, nil, f); got[0].Code != CodeStarted {
		t.Fatalf("%+v", got)
	}
	_ = c.Advance(time.Minute)
	push(t, e, nil, f)
	if ff.calls != 2 {
		t.Fatalf("fetched %d times", ff.calls)
	}
	srv, _, blob, found, _ := e.Holdings("acct", "app", "src", "1.0", nil)
	if !found || len(srv) != len(e.Servers()) || string(blob.Data) != "abc" {
		t.Fatalf("holdings %v %v %v", found, len(srv), blob)
	}
}

func TestFetchedContentFailureFailsReplicas(t *testing.T) {
	ff := &fakeFetcher{blob: &Blob{Fail: "md5 mismatch: expected x, got y"}}
	e, c := newEngine(t, func(c *Config) { c.Fetcher = ff })
	push(t, e, nil, dataFile("bad", 0))
	_ = c.Advance(time.Minute)
	res, _ := e.Describe("acct", DescribeQuery{AppID: "app"})
	if st := res.Files[0].Stats; len(st) != 1 || st[0].Status != StatusFailed || st[0].Regions[0].Descrip != ff.blob.Fail {
		t.Fatalf("%+v", st)
	}
}

func TestTopologyErrors(t *testing.T) {
	for _, top := range []Topology{
		{Regions: []Region{}},
		{Regions: []Region{{ID: "r"}}},
		{Regions: []Region{{ID: "r", Servers: []string{"s"}}, {ID: "r", Servers: []string{"t"}}}},
		{Regions: []Region{{ID: "r", Servers: []string{"s", "s"}}}},
	} {
		if _, err := New(Config{Clock: clock.New(clock.Manual, 0, t0), Topology: top}); err == nil {
			t.Errorf("topology %+v accepted", top)
		}
	}
}

// Regression: MinDate in the year 2999 overflowed UnixNano and matched every file.
func TestDescribeFarDatesDoNotOverflow(t *testing.T) {
	e, _ := newEngine(t, nil)
	push(t, e, nil, dataFile("now", 0))
	far := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
	ancient := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		q    DescribeQuery
		want int
	}{
		{DescribeQuery{AppID: "app", MinDate: far}, 0},
		{DescribeQuery{AppID: "app", MaxDate: far}, 1},
		{DescribeQuery{AppID: "app", MaxDate: ancient}, 0},
		{DescribeQuery{AppID: "app", MinDate: ancient, MaxDate: far}, 1},
	} {
		res, err := e.Describe("acct", tc.q)
		if err != nil || res.Total != tc.want {
			t.Errorf("%v..%v: total %d err %v, want %d", tc.q.MinDate, tc.q.MaxDate, res.Total, err, tc.want)
		}
	}
}

// Failure descriptions live beside the replicas; retrying a failing file many
// times keeps them bounded by the number of replicas.
func TestFailureDescriptionsStayBounded(t *testing.T) {
	e, c := newEngine(t, func(c *Config) { c.Jitter = 0.5 })
	f := dataFile("slow", 100<<20)
	f.Timeout = 1 // every transfer times out, each attempt with another duration (jitter)
	for i := 0; i < 200; i++ {
		push(t, e, nil, f)
		_ = c.Advance(time.Minute)
	}
	a := e.account("acct", false)
	rec := a.apps["app"].files[fileKey{"slow", "1.0"}]
	if len(rec.fails) > len(rec.replicas)+1 {
		t.Fatalf("%d failure descriptions for %d replicas", len(rec.fails), len(rec.replicas))
	}
	res, _ := e.Describe("acct", DescribeQuery{AppID: "app"})
	st := res.Files[0].Stats
	if len(st) != 1 || st[0].Status != StatusFailed || !strings.HasPrefix(st[0].Regions[0].Descrip, "push timed out after 1s") {
		t.Fatalf("%+v", st)
	}
}

// What one account may hold is bounded: beyond the bounds a push answers 300
// and records nothing.
func TestAccountBounds(t *testing.T) {
	e, _ := newEngine(t, func(c *Config) { c.MaxAppsPerAccount = 2; c.MaxFilesPerAccount = 3 })
	ctx := context.Background()
	for _, appID := range []string{"a1", "a2"} {
		if rs, _ := e.Push(ctx, "acct", appID, []DataFile{dataFile(appID, 0)}, nil); rs[0].Code != CodeStarted {
			t.Fatalf("%s: %+v", appID, rs)
		}
	}
	rs, err := e.Push(ctx, "acct", "a3", []DataFile{dataFile("x", 0)}, nil)
	if err != nil || rs[0].Code != CodeFailed || !strings.Contains(rs[0].Descrip, "maximum of 2 applications") {
		t.Fatalf("third app: %+v %v", rs, err)
	}
	if err := e.RegisterApp("acct", "a4"); !errors.Is(err, ErrTooManyApps) {
		t.Fatalf("RegisterApp beyond the bound: %v", err)
	}
	rs, _ = e.Push(ctx, "acct", "a1", []DataFile{dataFile("y", 0), dataFile("z", 0)}, nil)
	if rs[0].Code != CodeStarted || rs[1].Code != CodeFailed || !strings.Contains(rs[1].Descrip, "maximum of 3 data files") {
		t.Fatalf("files: %+v", rs)
	}
	if n := len(e.Snapshot("acct").Accounts[0].Apps); n != 2 {
		t.Fatalf("%d apps", n)
	}
}

func TestFetchedContentIsBoundedPerAccount(t *testing.T) {
	ff := &fakeFetcher{blob: &Blob{Data: make([]byte, 10)}}
	e, _ := newEngine(t, func(c *Config) { c.Fetcher = ff; c.MaxFetchedBytesPerAccount = 15 })
	rs := push(t, e, nil, dataFile("one", 10), dataFile("two", 10))
	if rs[0].Code != CodeStarted || rs[1].Code != CodeFailed || !strings.Contains(rs[1].Descrip, "would exceed 15 bytes") {
		t.Fatalf("%+v", rs)
	}
	if got := push(t, e, nil, dataFile("one", 10)); got[0].Code != CodePushing {
		t.Fatalf("the file already held is not refused: %+v", got)
	}
}

// manyServers is regions ENS nodes of perRegion file servers each.
func manyServers(regions, perRegion int) Topology {
	var t Topology
	for r := range regions {
		reg := Region{ID: fmt.Sprintf("cn-many-%05d", r)}
		for s := range perRegion {
			reg.Servers = append(reg.Servers, fmt.Sprintf("%s-fs-%d", reg.ID, s))
		}
		t.Regions = append(t.Regions, reg)
	}
	return t
}

// TestPushIsLinearInFileServers counts replica comparisons at 32,768 file
// servers: the scan it replaced compared each target with every replica
// (n²/2 ≈ 5·10⁸ comparisons per repeated push); by index and merge walk it is
// a small multiple of n.
func TestPushIsLinearInFileServers(t *testing.T) {
	const n = 32768
	e, c := newEngine(t, func(cfg *Config) { cfg.Topology = manyServers(256, n/256) })
	half := make([]string, 0, 128)
	for r := 0; r < 256; r += 2 {
		half = append(half, fmt.Sprintf("cn-many-%05d", r))
	}
	countProbes = true
	defer func() { countProbes = false }()
	f := dataFile("wide", 1)
	steps := []struct {
		what string
		st   Strategy
		want int
	}{
		{"first push to half the regions", Strategy{{Operator: "In", Values: half}}, CodeStarted},
		{"widened to every region (new servers between old ones)", nil, CodeStarted},
		{"repeated while pushing", nil, CodePushing},
	}
	for _, s := range steps {
		probes.Store(0)
		if got := push(t, e, s.st, f); got[0].Code != s.want {
			t.Fatalf("%s: %+v", s.what, got)
		}
		if p := probes.Load(); p > 4*n {
			t.Fatalf("%s: %d replica comparisons for %d file servers (want at most %d)", s.what, p, n, 4*n)
		}
	}
	_ = c.Advance(time.Hour)
	probes.Store(0)
	if got := push(t, e, nil, f); got[0].Code != CodePushed {
		t.Fatalf("after the transfers: %+v", got)
	}
	if p := probes.Load(); p > 4*n {
		t.Fatalf("repeat after success: %d comparisons", p)
	}
	res, err := e.Describe("acct", DescribeQuery{AppID: "app"})
	if err != nil || len(res.Files) != 1 || len(res.Files[0].Stats) != 1 || len(res.Files[0].Stats[0].Regions) != 256 {
		t.Fatalf("describe: %v %+v", err, res)
	}
	regs := res.Files[0].Stats[0].Regions
	for i := 1; i < len(regs); i++ {
		if regs[i-1].RegionID >= regs[i].RegionID {
			t.Fatalf("regions not sorted at %d: %s, %s", i, regs[i-1].RegionID, regs[i].RegionID)
		}
	}
	st := e.Snapshot("acct")
	reps := st.Accounts[0].Apps[0].Files[0].Replicas
	if len(reps) != n {
		t.Fatalf("%d replicas, want %d", len(reps), n)
	}
}

// BenchmarkPushManyServers is one repeated push of one file to 32,768 file servers.
func BenchmarkPushManyServers(b *testing.B) {
	e, _ := newEngine(b, func(cfg *Config) { cfg.Topology = manyServers(256, 128) })
	f := dataFile("wide", 1)
	ctx := context.Background()
	if _, err := e.Push(ctx, "acct", "app", []DataFile{f}, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Push(ctx, "acct", "app", []DataFile{f}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHugeSizesAndTimeoutsSaturate: a declared size or timeout far beyond any
// real transfer must not overflow the time arithmetic into a finished push.
func TestHugeSizesAndTimeoutsSaturate(t *testing.T) {
	e, c := newEngine(t, nil)
	for _, f := range []DataFile{
		{Name: "1e17", Version: "1", Size: 1e17, URL: "u"},
		{Name: "maxint", Version: "1", Size: math.MaxInt64, URL: "u"},
		{Name: "hugeTimeout", Version: "1", Size: MaxDeclaredSize, Timeout: math.MaxInt64, URL: "u"},
	} {
		if got := push(t, e, nil, f); got[0].Code != CodeStarted {
			t.Fatalf("%s: %+v", f.Name, got)
		}
		_ = c.Advance(24 * time.Hour)
		if got := push(t, e, nil, f); got[0].Code != CodePushing {
			t.Fatalf("%s a day later: %+v (a 1 TiB transfer at 10 MiB/s takes 29 hours)", f.Name, got)
		}
	}
}

// TestStateIsBoundedInBytesPerAccount: long names count in bytes, so the
// account's memory is bounded whatever the field lengths.
func TestStateIsBoundedInBytesPerAccount(t *testing.T) {
	e, _ := newEngine(t, func(c *Config) { c.MaxStateBytesPerAccount = 10_000 })
	long := DataFile{Name: strings.Repeat("n", 4000), Version: "1", URL: "u"}
	if cost := e.FileCost(long); cost != 320+4002+24*16 {
		t.Fatalf("cost %d", cost)
	}
	two := long
	two.Name = strings.Repeat("m", 4000)
	three := long
	three.Name = strings.Repeat("o", 4000)
	rs := push(t, e, nil, long, two, three)
	if rs[0].Code != CodeStarted || rs[1].Code != CodeStarted || rs[2].Code != CodeFailed || !strings.Contains(rs[2].Descrip, "exceed 10000 bytes") {
		t.Fatalf("%+v", rs)
	}
	if got := push(t, e, nil, long); got[0].Code != CodePushing {
		t.Fatalf("a file already held is not refused: %+v", got)
	}
}

func TestFetchModeFetchesADuplicateOnce(t *testing.T) {
	ff := &fakeFetcher{blob: &Blob{Data: []byte("abc"), MD5: "900150983cd24fb0d6963f7d28e17f72"}}
	e, _ := newEngine(t, func(c *Config) { c.Fetcher = ff })
	rs := push(t, e, nil, dataFile("src", 0), dataFile("src", 0))
	if rs[0].Code != CodeStarted || rs[1].Code != CodePushing || ff.calls != 1 {
		t.Fatalf("%+v, %d fetches", rs, ff.calls)
	}
}
