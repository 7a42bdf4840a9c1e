// Command startup measures ensmock's start-up: process start to the first 200
// from /_ensmock/health. It builds the ensmock binary once (go build ./cmd/ensmock,
// as make build does), starts it -n times on a free loopback port, polls the
// health endpoint as fast as it can, and reports min, median and max. It also
// times, in-process, the parts start-up is made of (spec parse, mock.NewServer).
//
//	go run ./bench/startup -n 20
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/ensmock/ensmock/bench/internal/proc"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/spec"
)

func main() {
	n := flag.Int("n", 20, "number of starts")
	target := flag.Duration("target", 20*time.Millisecond, "median start-up target")
	prebuilt := flag.String("bin", "", "use this ensmock binary instead of building ./cmd/ensmock")
	flag.Parse()
	if err := run(*n, *target, *prebuilt); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

func run(n int, target time.Duration, prebuilt string) error {
	dir, err := os.MkdirTemp("", "ensmock-startup")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "ensmock")
	if prebuilt != "" {
		bin = prebuilt
	} else if err := buildBinary(bin); err != nil {
		return err
	}

	// in-process parts (the first call pays what a fresh process pays)
	t := time.Now()
	if _, err := spec.Parse(spec.YAML); err != nil {
		return err
	}
	parse := time.Since(t)
	t = time.Now()
	srv, err := mock.NewServer(mock.Options{NoListener: true})
	if err != nil {
		return err
	}
	_ = srv
	newServer := time.Since(t)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var times []time.Duration
	for i := range n {
		d, err := once(bin, client)
		if err != nil {
			return fmt.Errorf("start %d: %w", i, err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	fmt.Printf("ensmock start-up to healthy /_ensmock/health, %d starts: min %s, median %s, max %s\n",
		n, times[0].Round(10*time.Microsecond), med.Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond))
	fmt.Printf("in-process (warm binary): spec.Parse %s, mock.NewServer %s (spec cached after the first load)\n",
		parse.Round(10*time.Microsecond), newServer.Round(10*time.Microsecond))
	verdict := "PASS"
	if med >= target {
		verdict = "FAIL"
	}
	fmt.Printf("  %s  median start-up < %s\n", verdict, target)
	if verdict == "FAIL" {
		os.Exit(1)
	}
	return nil
}

func buildBinary(bin string) error {
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/ensmock")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/ensmock: %w", err)
	}
	return nil
}

// once starts the binary and returns the time until health answers 200.
func once(bin string, client *http.Client) (time.Duration, error) {
	port, err := proc.FreePort()
	if err != nil {
		return 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--log-level", "error")
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	for deadline := start.Add(10 * time.Second); time.Now().Before(deadline); {
		resp, err := client.Get("http://" + addr + "/_ensmock/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(100 * time.Microsecond) // polling interval, not an assertion
	}
	return 0, fmt.Errorf("%s not healthy within 10s", addr)
}
