package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

// scaleTopology is ten ENS nodes of one file server each.
func scaleTopology() Topology {
	var t Topology
	for i := range scaleServers {
		id := fmt.Sprintf("cn-scale-%d", i)
		t.Regions = append(t.Regions, Region{ID: id, Servers: []string{id + "-fs-1"}})
	}
	return t
}

const (
	scaleFiles   = 100_000
	scaleBatch   = 100 // data files per PushApplicationData (the documented maximum order of magnitude)
	scaleServers = 10
)

// buildScale pushes scaleFiles data files to every server of scaleTopology
// (1,000,000 replicas), one day per 10,000 files, in batches of scaleBatch. It
// returns the engine and the live heap it holds.
func buildScale(tb testing.TB) (*Engine, uint64) {
	c := clock.New(clock.Manual, 0, t0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, err := New(Config{Clock: c, Topology: scaleTopology(), Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	files := make([]DataFile, scaleBatch)
	for n := 0; n < scaleFiles; n += scaleBatch {
		if n > 0 && n%10_000 == 0 {
			_ = c.Advance(24 * time.Hour)
		}
		for i := range files {
			k := n + i
			files[i] = DataFile{Name: fmt.Sprintf("scale-file-%06d", k), Version: "1.0." + fmt.Sprint(k%3), Size: int64(k % 5000 << 10),
				ArchiveType: "tar.gz", MD5: "0cc175b9c0f1b6a831c399e269772661", URL: fmt.Sprintf("http://127.0.0.1/files/scale-file-%06d.tar.gz", k)}
		}
		rs, err := e.Push(context.Background(), "acct", "app", files, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if rs[0].Code != CodeStarted {
			tb.Fatalf("push %d: %+v", n, rs[0])
		}
	}
	_ = c.Advance(time.Minute) // some replicas done, the large ones still pushing
	runtime.GC()
	runtime.ReadMemStats(&after)
	return e, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkScale holds 100,000 data files on 10 file servers (1,000,000
// replicas) and reports the memory per
// replica, then times DescribeDataPushResult with filters and paging at that size.
//
//	go test -run='^$' -bench=Scale -benchtime=200x ./internal/engine/
func BenchmarkScale(b *testing.B) {
	var e *Engine
	var heap uint64
	var took time.Duration
	b.Run("Push100k", func(b *testing.B) {
		if e == nil { // built once, whatever b.N
			start := time.Now()
			e, heap = buildScale(b)
			took = time.Since(start)
		}
		b.ReportMetric(took.Seconds(), "s/build")
		replicas := 0
		a := e.account("acct", false)
		for _, f := range a.apps["app"].order {
			replicas += len(f.replicas)
		}
		b.ReportMetric(float64(replicas), "replicas")
		b.ReportMetric(float64(heap)/float64(replicas), "B/replica")
		b.ReportMetric(float64(heap)/(1<<20), "MiB")
	})
	if e == nil {
		b.Skip("Push100k filtered out")
	}
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	for _, bc := range []struct {
		name string
		q    DescribeQuery
		want int // total
	}{
		{"page1", DescribeQuery{PageNumber: 1, PageSize: 10}, scaleFiles},
		{"lastPage", DescribeQuery{PageNumber: scaleFiles / 50, PageSize: 50}, scaleFiles},
		{"names3", DescribeQuery{Names: []string{"scale-file-000007", "scale-file-054321", "scale-file-099999"}, PageNumber: 1, PageSize: 10}, 3},
		{"names+versions", DescribeQuery{Names: []string{"scale-file-000007", "scale-file-054321"}, Versions: []string{"1.0.1"}, PageNumber: 1, PageSize: 10}, 1},
		{"versions/page100", DescribeQuery{Versions: []string{"1.0.2"}, PageNumber: 100, PageSize: 50}, scaleFiles / 3},
		{"region/page50", DescribeQuery{Regions: []string{"cn-scale-5"}, PageNumber: 50, PageSize: 50}, scaleFiles},
		{"regions2/page1", DescribeQuery{Regions: []string{"cn-scale-3", "cn-nowhere"}, PageNumber: 1, PageSize: 50}, scaleFiles},
		{"dates/page10", DescribeQuery{MinDate: day(3), MaxDate: day(4), PageNumber: 10, PageSize: 50}, 20_000},
		{"dates+region/page2", DescribeQuery{MinDate: day(5), MaxDate: day(5), Regions: []string{"cn-scale-1"}, PageNumber: 2, PageSize: 100}, 10_000},
	} {
		b.Run("Describe/"+bc.name, func(b *testing.B) {
			bc.q.AppID = "app"
			for range b.N {
				res, err := e.Describe("acct", bc.q)
				if err != nil {
					b.Fatal(err)
				}
				if res.Total != bc.want {
					b.Fatalf("total %d, want %d", res.Total, bc.want)
				}
			}
		})
	}
}

// naiveDescribe is the reference: a scan of every file of the app with the
// plain filters, as DescribeDataPushResult is specified.
func naiveDescribe(e *Engine, acct string, q DescribeQuery) (names []string, total int) {
	a := e.account(acct, false)
	if a == nil {
		return nil, 0
	}
	p := a.apps[q.AppID]
	if p == nil {
		return nil, 0
	}
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	from, to := 0, -1
	if q.PageSize > 0 {
		from = (max(q.PageNumber, 1) - 1) * q.PageSize
		to = from + q.PageSize
	}
	for _, f := range p.order {
		if !in(q.Names, f.Name) || !in(q.Versions, f.Version) {
			continue
		}
		if !q.MinDate.IsZero() && f.created < q.MinDate.UnixNano() {
			continue
		}
		if !q.MaxDate.IsZero() && f.created >= q.MaxDate.Add(24*time.Hour).UnixNano() {
			continue
		}
		if len(q.Regions) > 0 && !slices.ContainsFunc(f.replicas, func(r replica) bool {
			return slices.Contains(q.Regions, e.ix.servers[r.server].Region)
		}) {
			continue
		}
		if total >= from && (to < 0 || total < to) {
			names = append(names, f.Name+"@"+f.Version)
		}
		total++
	}
	return names, total
}

// TestDescribeIndexMatchesNaiveScan guards the Describe summaries and name index
// (scan.go): random states and random queries answer exactly what a plain scan does.
func TestDescribeIndexMatchesNaiveScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e, c := newEngine(t, func(cfg *Config) { cfg.Topology = scaleTopology() })
	regions := e.Regions()
	pick := func(vs []string, n int) []string {
		var out []string
		for range n {
			out = append(out, vs[rng.IntN(len(vs))])
		}
		return out
	}
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("f%02d", i))
	}
	versions := []string{"1", "2", "3"}
	for round := range 200 {
		if rng.IntN(4) == 0 {
			_ = c.Advance(time.Duration(rng.IntN(48)) * time.Hour)
		}
		var st Strategy
		if rng.IntN(2) == 0 {
			st = Strategy{{Operator: []string{"In", "NotIn"}[rng.IntN(2)], Values: pick(regions, 1+rng.IntN(3))}}
		}
		f := DataFile{Name: names[rng.IntN(len(names))], Version: versions[rng.IntN(3)], Size: 1}
		if _, err := e.Push(context.Background(), "acct", "app", []DataFile{f}, st); err != nil {
			t.Fatal(err)
		}
		q := DescribeQuery{AppID: "app"}
		if rng.IntN(2) == 0 {
			q.Names = pick(names, 1+rng.IntN(4))
		}
		if rng.IntN(3) == 0 {
			q.Versions = pick(versions, 1+rng.IntN(2))
		}
		if rng.IntN(3) == 0 {
			q.Regions = pick(append(regions, "cn-nowhere"), 1+rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			q.MinDate = t0.AddDate(0, 0, rng.IntN(5))
		}
		if rng.IntN(3) == 0 {
			q.MaxDate = t0.AddDate(0, 0, rng.IntN(8))
		}
		if rng.IntN(2) == 0 {
			q.PageNumber, q.PageSize = 1+rng.IntN(4), 1+rng.IntN(5)
		}
		res, err := e.Describe("acct", q)
		if err != nil {
			t.Fatal(err)
		}
		wantNames, wantTotal := naiveDescribe(e, "acct", q)
		var got []string
		for _, f := range res.Files {
			got = append(got, f.Name+"@"+f.Version)
		}
		if res.Total != wantTotal || !slices.Equal(got, wantNames) {
			t.Fatalf("round %d, query %+v:\n got total %d %v\nwant total %d %v", round, q, res.Total, got, wantTotal, wantNames)
		}
	}
}
