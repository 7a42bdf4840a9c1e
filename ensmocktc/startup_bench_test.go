package ensmocktc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ensmock/ensmock/ensmocktc"
)

// Start-up benchmarks: from "start" to the first 200 from /_ensmock/health.
// They report, and assert nothing about wall-clock time. `make bench` runs them
// with the rest; `make bench-startup` runs only these.
//
//	BenchmarkStartupBinary                 exec `ensmock serve` → healthy
//	BenchmarkStartupContainer/docker-run   `docker run -d -p 127.0.0.1::8080` → healthy
//	BenchmarkStartupContainer/ensmocktc    ensmocktc.Run (create, copy, start, wait) → returns

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// staticBinary builds cmd/ensmock as the image does (static, trimmed) once per run.
func staticBinary(b *testing.B) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ensmock-bench-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ensmock")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binPath, "../cmd/ensmock")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

func BenchmarkStartupBinary(b *testing.B) {
	bin := staticBinary(b)
	b.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	var m startups
	for b.Loop() {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--log-level", "info")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		addr, err := listeningAddr(stderr)
		if err == nil {
			err = waitHealthy("http://"+addr+ensmocktc.HealthPath, 10*time.Second)
		}
		took := time.Since(start)
		b.StopTimer()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		go io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
		if err != nil {
			b.Fatal(err)
		}
		m.add(took)
		b.StartTimer()
	}
	m.report(b)
}

// listeningAddr reads the JSON log until "ensmock listening" and returns its addr.
func listeningAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "ensmock listening" && line.Addr != "" {
			return line.Addr, nil
		}
	}
	return "", fmt.Errorf("ensmock exited before listening (%v)", sc.Err())
}

// waitHealthy polls url every millisecond until it answers 200 (bounded).
func waitHealthy(url string, limit time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %v: %v", url, limit, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkStartupContainer(b *testing.B) {
	requireDocker(b)
	tclog.SetDefault(tclog.NewNoopLogger()) // one line per container step drowns the report
	b.Run("docker-run", func(b *testing.B) {
		if _, err := exec.LookPath("docker"); err != nil {
			b.Skip("skipping: no docker CLI")
		}
		var m startups
		for b.Loop() {
			start := time.Now()
			out, err := exec.Command("docker", "run", "-d", "-p", "127.0.0.1::8080", image).Output()
			id := strings.TrimSpace(string(out))
			if err == nil {
				var port []byte
				port, err = exec.Command("docker", "port", id, "8080/tcp").Output()
				hostport := strings.TrimSpace(strings.SplitN(string(port), "\n", 2)[0])
				if err == nil {
					err = waitHealthy("http://"+hostport+ensmocktc.HealthPath, 30*time.Second)
				}
			}
			took := time.Since(start)
			b.StopTimer()
			if id != "" {
				_ = exec.Command("docker", "rm", "-f", id).Run()
			}
			if err != nil {
				b.Fatalf("docker run %s: %v", image, err)
			}
			m.add(took)
			b.StartTimer()
		}
		m.report(b)
	})
	b.Run("ensmocktc", func(b *testing.B) {
		ctx := context.Background()
		var m startups
		for b.Loop() {
			start := time.Now()
			ctr, err := ensmocktc.Run(ctx, image, testcontainers.WithWaitStrategy(
				wait.ForHTTP(ensmocktc.HealthPath).WithPort(ensmocktc.Port).
					WithStartupTimeout(30*time.Second).WithPollInterval(5*time.Millisecond)))
			took := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := testcontainers.TerminateContainer(ctr); err != nil {
				b.Fatal(err)
			}
			m.add(took)
			b.StartTimer()
		}
		m.report(b)
	})
}

// startups averages the measured start-ups; the timer excludes teardown, so
// ns/op says the same, but ms-to-healthy reads at a glance.
type startups struct {
	total time.Duration
	n     int
}

func (s *startups) add(d time.Duration) { s.total += d; s.n++ }

func (s *startups) report(b *testing.B) {
	if s.n > 0 {
		b.ReportMetric(float64(s.total.Microseconds())/1000/float64(s.n), "ms-to-healthy")
	}
}
