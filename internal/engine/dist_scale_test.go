package engine

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

const (
	distScaleInstances = 10_000 // 1,000 in each ENS node of scaleTopology
	distScaleFiles     = 100    // distributed to every instance: 1,000,000 instance replicas
)

// buildDistScale creates an app of distScaleInstances instances, pushes
// distScaleFiles data files and distributes them to every instance. It returns
// the engine, the AppId, one instance id and the live heap the distribution
// added (the app, its instances and the pushed files are measured before).
func buildDistScale(tb testing.TB) (e *Engine, app, inst string, heap uint64) {
	c := clock.New(clock.Manual, 0, t0)
	e, err := New(Config{Clock: c, Topology: scaleTopology(), Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	app, err = e.CreateApp("acct", []byte(fmt.Sprintf(`{"appMetaData":{"appName":"scale"},"resourceSelector":[{"count":%d}]}`, distScaleInstances)))
	if err != nil {
		tb.Fatal(err)
	}
	files := make([]DataFile, distScaleFiles)
	dist := make([]DistFile, distScaleFiles)
	for i := range files {
		files[i] = DataFile{Name: fmt.Sprintf("scale-dist-%03d", i), Version: "1.0", Size: int64(i) << 20, URL: "http://127.0.0.1/f"}
		dist[i] = DistFile{Name: files[i].Name, Version: "1.0"}
	}
	if _, err := e.Push(context.Background(), "acct", app, files, nil); err != nil {
		tb.Fatal(err)
	}
	_ = c.Advance(time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err := e.Dist("acct", app, dist, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(out.Instances) != distScaleInstances || out.Results[0].Code != DistCodeOK {
		tb.Fatalf("dist: %d instances, %+v", len(out.Instances), out.Results[0])
	}
	inst = out.Instances[distScaleInstances/2]
	out = DistOutcome{}
	_ = c.Advance(2 * time.Second) // some instances done, the large files still distributing
	runtime.GC()
	runtime.ReadMemStats(&after)
	return e, app, inst, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkScaleDist distributes 100 data files to 10,000 instances
// (1,000,000 instance replicas), reports the memory per distributed replica
// (target: under 128 B), then times DescribeDataDistResult at that size.
//
//	go test -run='^$' -bench=ScaleDist -benchtime=20x ./internal/engine/
func BenchmarkScaleDist(b *testing.B) {
	var (
		e         *Engine
		app, inst string
		heap      uint64
		took      time.Duration
	)
	b.Run("Dist1M", func(b *testing.B) {
		if e == nil { // built once, whatever b.N
			start := time.Now()
			e, app, inst, heap = buildDistScale(b)
			took = time.Since(start)
		}
		reps := e.account("acct", false).ext.reps
		b.ReportMetric(took.Seconds(), "s/build")
		b.ReportMetric(float64(reps), "replicas")
		b.ReportMetric(float64(heap)/float64(reps), "B/replica")
		b.ReportMetric(float64(heap)/(1<<20), "MiB")
		if per := float64(heap) / float64(reps); per >= 128 {
			b.Errorf("%.1f B per distributed replica, the target is under 128", per)
		}
	})
	if e == nil {
		b.Skip("Dist1M filtered out")
	}
	for _, bc := range []struct {
		name  string
		q     DistQuery
		total int
		insts int // instances in the answer
	}{
		{"page1", DistQuery{PageNumber: 1, PageSize: 1}, distScaleFiles, distScaleInstances},
		{"instance", DistQuery{InstanceIDs: []string{inst}, PageNumber: 1, PageSize: 10}, distScaleFiles, 10},
		{"name+region", DistQuery{Names: []string{"scale-dist-042"}, Regions: []string{"cn-scale-3"}}, 1, distScaleInstances / scaleServers},
		{"instance/all", DistQuery{InstanceIDs: []string{inst}}, distScaleFiles, distScaleFiles},
	} {
		b.Run("Describe/"+bc.name, func(b *testing.B) {
			bc.q.AppID = app
			for range b.N {
				res, err := e.DescribeDist("acct", bc.q)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for _, f := range res.Files {
					for _, st := range f.Stats {
						n += len(st.Instances)
					}
				}
				if res.Total != bc.total || n != bc.insts {
					b.Fatalf("total %d, %d instances; want %d, %d", res.Total, n, bc.total, bc.insts)
				}
			}
		})
	}
}
