package mock

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

func BenchmarkPushNewFiles(b *testing.B) {
	for _, withDir := range []bool{false, true} {
		b.Run(fmt.Sprint("dir=", withDir), func(b *testing.B) {
			opts := Options{NoListener: true, AuthOff: true, Clock: clock.New(clock.Manual, 0, fxStart), SkipResponseCheck: true}
			if withDir {
				opts.DataDir = b.TempDir()
			}
			srv, err := NewServer(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			h := srv.HTTPHandler()
			var n atomic.Int64
			b.SetParallelism(16)
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {"bench"},
						"Data": {fmt.Sprintf(`[{"name":"f-%d","version":"1.0","size":1048576,"url":"http://127.0.0.1/x"}]`, i)}}
					req, _ := http.NewRequest("GET", "http://127.0.0.1/?"+q.Encode(), nil)
					rec := &discardRW{h: http.Header{}}
					h.ServeHTTP(rec, req)
					if rec.code != 0 && rec.code != 200 {
						b.Fatal(rec.code)
					}
				}
			})
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration((ru1.Utime.Nano()+ru1.Stime.Nano())-(ru0.Utime.Nano()+ru0.Stime.Nano())) / time.Duration(b.N)
			b.ReportMetric(float64(cpu.Microseconds()), "cpu-us/op")
		})
	}
}

type discardRW struct {
	h    http.Header
	code int
}

func (d *discardRW) Header() http.Header         { return d.h }
func (d *discardRW) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardRW) WriteHeader(c int)           { d.code = c }
