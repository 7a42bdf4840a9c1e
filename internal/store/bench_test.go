package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
)

// BenchmarkSaveFileParallel: records of 16 replicas saved and waited for by
// 4, 11 and 32 concurrent writers (group commits): ops/s and the process's CPU
// (user + system, so the fsyncs count) per record.
func BenchmarkSaveFileParallel(b *testing.B) {
	for _, writers := range []int{4, 11, 32} {
		b.Run(fmt.Sprint("writers=", writers), func(b *testing.B) {
			s, _, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			start := time.Now()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := n.Add(1)
						if i > int64(b.N) {
							return
						}
						r := &engine.FileRecord{Account: "testid", App: "bench-app", DataFile: engine.DataFile{Name: fmt.Sprintf("prefix-new-%d", i), Version: "1.0", Size: 1 << 20, URL: "http://127.0.0.1/files/app.tar.gz", MD5: "0cc175b9c0f1b6a831c399e269772661", ArchiveType: "tar.gz"}, Pos: int32(i), Created: 1, Attempts: 1}
						for k := 0; k < 16; k++ {
							r.Replicas = append(r.Replicas, engine.ReplicaRecord{Server: fmt.Sprintf("cn-shijiazhuang-telecom_unicom_cmcc-fs-%d", k), Attempt: 1, Start: 1700000000000000000, Done: 1700000002123456789})
						}
						s.Wait(s.SaveFile(r))
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration((ru1.Utime.Nano()+ru1.Stime.Nano())-(ru0.Utime.Nano()+ru0.Stime.Nano())) / time.Duration(b.N)
			b.ReportMetric(float64(cpu.Microseconds()), "cpu-us/op")
			b.ReportMetric(float64(b.N)/el.Seconds(), "ops/s")
		})
	}
}
