// Command load is ensmock's load benchmark (make bench-load).
//
// It starts two servers, each in a child process of its own (this program
// re-executed with -child), both on 127.0.0.1:
//
//   - mock: mock.NewServer with signatures and spec validation on (the defaults);
//   - mock+dir: the same with a data dir (--data-dir: every acknowledged push is
//     committed to the store before it is answered), in phase 1 only;
//   - bare: a net/http handler answering a fixed body of the size of a typical
//     mock response — the floor any Go HTTP server pays on this machine.
//
// It drives each with vegeta (as a library) using realistic V1-signed requests,
// signed before the timed phase with unique nonces: a mix of PushApplicationData
// of new files, PushApplicationData of already pushed files, and
// DescribeDataPushResult. Server CPU comes from the child's getrusage, allocations
// from its runtime.MemStats (both read through a debug listener of the child), RSS
// from /proc/<pid>/status. Phases:
//
//  1. idle RSS of a fresh mock;
//  2. max throughput: -rounds rounds of -duration, bare and mock alternating;
//     the round with the median CPU per request of each is reported, so that a
//     burst of noise from the shared machine in one round does not decide;
//  3. fixed -rate req/s (-rate-duration each) for the latency quantiles;
//  4. soak: a fresh mock under full load for -soak, then its RSS. Requests are
//     signed on the fly here and new-file names cycle over -soak-files names, so
//     the engine's state is bounded and any growth is a leak.
//
// With -wrk, the max-throughput phase is repeated with wrk (a load generator in C, if installed)
// as a cross-check of how much CPU the Go load generator adds; it reports only.
//
// It prints a table and PASS/FAIL against the targets, and exits 1 on a FAIL
// (unless -strict=false). All traffic goes to 127.0.0.1; the program stops by itself.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ensmock/ensmock/bench/internal/proc"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/signature"
)

type config struct {
	duration, rateDuration, soak time.Duration
	rate, maxRPS, workers        int
	rounds                       int
	soakFiles                    int
	strict                       bool
	cpuProfile                   string
	wrk                          string
}

func main() {
	child := flag.String("child", "", "internal: run as the server child (mock or bare)")
	bodySize := flag.Int("body-size", 300, "internal: bare child's body size")
	flag.IntVar(&nonceCapacity, "nonce-capacity", 0, "mock.Options.NonceCapacity of the mock children (0: mock.DefaultNonceCapacity)")
	var c config
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each max-throughput round")
	flag.IntVar(&c.rounds, "rounds", 3, "max-throughput rounds of each child, bare and mock alternating; the median round is reported")
	flag.DurationVar(&c.rateDuration, "rate-duration", 10*time.Second, "length of each fixed-rate phase")
	flag.IntVar(&c.rate, "rate", 200, "requests/s of the fixed-rate phase")
	flag.DurationVar(&c.soak, "soak", 60*time.Second, "length of the full-load soak before the RSS reading (0 skips it)")
	flag.IntVar(&c.soakFiles, "soak-files", 10000, "distinct new-file names in the soak (bounds the engine state)")
	flag.IntVar(&c.maxRPS, "max-rps", 40000, "requests pre-signed per second of a max-throughput round (an upper bound)")
	flag.IntVar(&c.workers, "workers", 32, "concurrent vegeta workers (and connections) at max throughput")
	flag.BoolVar(&c.strict, "strict", true, "exit 1 when a target fails")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the mock child's CPU profile of its first max-throughput round to this file")
	flag.StringVar(&c.wrk, "wrk", "", "also cross-check phase 1 with this wrk binary (a C load generator; optional, e.g. -wrk wrk)")
	flag.Parse()
	switch *child {
	case "mock", "mock-dir", "bare":
		if err := runChild(*child, *bodySize); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		return
	case "":
	default:
		fmt.Fprintln(os.Stderr, "load: -child must be mock or bare")
		os.Exit(2)
	}
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if !ok && c.strict {
		os.Exit(1)
	}
}

// ---- child side ----

var nonceCapacity int

type childStats struct {
	UserMicros, SysMicros int64
	Mallocs               uint64
	HeapAlloc             uint64
	NumGC                 uint32
}

// runChild serves the API on one loopback listener and stats on another, prints
// "ADDR <api> <stats>" and runs until its stdin closes (the parent exited).
func runChild(kind string, bodySize int) error {
	var apiAddr string
	switch kind {
	case "mock", "mock-dir":
		opts := mock.Options{Host: "127.0.0.1", NonceCapacity: nonceCapacity}
		if kind == "mock-dir" {
			dir, err := os.MkdirTemp("", "ensmock-load-data-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			opts.DataDir = dir
		}
		srv, err := mock.NewServer(opts)
		if err != nil {
			return err
		}
		defer srv.Close()
		apiAddr = srv.Endpoint()
	case "bare":
		body := []byte(strings.Repeat("x", bodySize))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		hs := mock.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			w.Header().Set("x-acs-request-id", "00000000-0000-4000-8000-000000000000")
			_, _ = w.Write(body)
		}))
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		apiAddr = ln.Addr().String()
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stats := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") != "" {
			runtime.GC()
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_ = json.NewEncoder(w).Encode(childStats{
			UserMicros: ru.Utime.Sec*1e6 + ru.Utime.Usec, SysMicros: ru.Stime.Sec*1e6 + ru.Stime.Usec,
			Mallocs: ms.Mallocs, HeapAlloc: ms.HeapAlloc, NumGC: ms.NumGC,
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/", stats)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { _ = http.Serve(sln, mux) }()
	fmt.Printf("ADDR %s %s\n", apiAddr, sln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes away
	return nil
}

// ---- parent side ----

type child struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	api, stat string
}

func startChild(kind string, bodySize int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-child", kind, "-body-size", strconv.Itoa(bodySize), "-nonce-capacity", strconv.Itoa(nonceCapacity))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ADDR" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("child %s: bad hello %q: %v", kind, line, err)
	}
	for _, a := range f[1:] {
		if h, _, _ := net.SplitHostPort(a); h != "127.0.0.1" {
			return nil, fmt.Errorf("child %s listens on %s, not loopback", kind, a)
		}
	}
	return &child{cmd: cmd, stdin: stdin, api: f[1], stat: f[2]}, nil
}

func (c *child) stop() {
	_ = c.stdin.Close()
	proc.WaitOrKill(c.cmd, 5*time.Second)
}

func (c *child) stats(gc bool) (childStats, error) {
	u := "http://" + c.stat + "/"
	if gc {
		u += "?gc=1"
	}
	var s childStats
	resp, err := http.Get(u)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// profile saves a CPU profile of the child over d.
func (c *child) profile(file string, d time.Duration) error {
	secs := max(int(d.Seconds()), 1)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", c.stat, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rss returns VmRSS and VmHWM of the child in bytes.
func (c *child) rss() (cur, peak int64, err error) {
	return proc.RSS(c.cmd.Process.Pid)
}

// signer makes V1-signed requests of the benchmark mix.
type signer struct {
	base    string // http://host:port/
	now     time.Time
	prefix  string // unique per run, so reruns never repeat a name or nonce
	newMod  int    // >0: new-file names cycle over newMod names
	counter atomic.Uint64
}

const app = "bench-app"

// target returns request i of the mix: i%3 == 0 a new file, 1 a repeated file
// (one of 50), 2 a describe of that repeated file (DataNames, first page of 10):
// a client watching its push propagate.
func (s *signer) target(i uint64) vegeta.Target {
	p := url.Values{}
	switch i % 3 {
	case 0:
		n := i
		if s.newMod > 0 {
			n %= uint64(s.newMod)
		}
		p.Set("Action", "PushApplicationData")
		p.Set("AppId", app)
		p.Set("Data", fmt.Sprintf(`[{"name":"%s-new-%d","version":"1.0","size":1048576,"archiveType":"tar.gz","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://127.0.0.1/files/app.tar.gz"}]`, s.prefix, n))
	case 1:
		p.Set("Action", "PushApplicationData")
		p.Set("AppId", app)
		p.Set("Data", fmt.Sprintf(`[{"name":"%s-repeat-%d","version":"1.0","size":1048576,"archiveType":"tar.gz","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://127.0.0.1/files/app.tar.gz"}]`, s.prefix, i%50))
	default:
		p.Set("Action", "DescribeDataPushResult")
		p.Set("AppId", app)
		p.Set("DataNames", fmt.Sprintf("%s-repeat-%d", s.prefix, (i-1)%50))
		p.Set("PageNumber", "1")
		p.Set("PageSize", "10")
	}
	p.Set("Version", "2017-11-10")
	p.Set("Format", "JSON")
	signature.SignV1(http.MethodPost, p, "testid", "testsecret", fmt.Sprintf("%s-%d", s.prefix, i), s.now)
	return vegeta.Target{Method: http.MethodPost, URL: s.base + "?" + p.Encode()}
}

func (s *signer) presigned(n int) []vegeta.Target {
	out := make([]vegeta.Target, n)
	for i := range out {
		out[i] = s.target(s.counter.Add(1))
	}
	return out
}

func sliceTargeter(ts []vegeta.Target) vegeta.Targeter {
	var next atomic.Int64
	return func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= int64(len(ts)) {
			return vegeta.ErrNoTargets
		}
		*t = ts[i]
		return nil
	}
}

func liveTargeter(s *signer) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		*t = s.target(s.counter.Add(1))
		return nil
	}
}

type phase struct {
	name      string
	m         vegeta.Metrics
	cpuPerReq time.Duration
	allocsReq float64
	peakRSS   int64
	exhausted bool
}

func attack(c *child, name string, tr vegeta.Targeter, rate vegeta.Rate, d time.Duration, workers int) (*phase, error) {
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second), vegeta.Redirects(vegeta.NoFollow)}
	if rate.Freq == 0 {
		opts = append(opts, vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)), vegeta.Connections(workers), vegeta.MaxConnections(workers))
	} else {
		opts = append(opts, vegeta.Workers(8), vegeta.Connections(8))
	}
	atk := vegeta.NewAttacker(opts...)
	before, err := c.stats(false)
	if err != nil {
		return nil, err
	}
	ph := &phase{name: name}
	for res := range atk.Attack(tr, rate, d, name) {
		if res.Error == vegeta.ErrNoTargets.Error() {
			ph.exhausted = true
			continue
		}
		ph.m.Add(res)
	}
	ph.m.Close()
	after, err := c.stats(false)
	if err != nil {
		return nil, err
	}
	if n := ph.m.Requests; n > 0 {
		cpu := (after.UserMicros + after.SysMicros) - (before.UserMicros + before.SysMicros)
		ph.cpuPerReq = time.Duration(cpu) * time.Microsecond / time.Duration(n)
		ph.allocsReq = float64(after.Mallocs-before.Mallocs) / float64(n)
	}
	_, ph.peakRSS, _ = c.rss()
	if ph.m.Success < 1 {
		return ph, fmt.Errorf("%s: success ratio %.4f, status codes %v, errors %v", name, ph.m.Success, ph.m.StatusCodes, firstN(ph.m.Errors, 3))
	}
	return ph, nil
}

// medianRound returns the round with the median CPU per request (the upper
// median of an even count): one noisy round on a shared machine does not decide.
func medianRound(rounds []*phase) *phase {
	sorted := slices.SortedFunc(slices.Values(rounds), func(a, b *phase) int { return cmp.Compare(a.cpuPerReq, b.cpuPerReq) })
	return sorted[len(sorted)/2]
}

func cpuList(rounds []*phase) string {
	parts := make([]string, len(rounds))
	for i, p := range rounds {
		parts[i] = p.cpuPerReq.Round(100 * time.Nanosecond).String()
	}
	return strings.Join(parts, " ")
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func responseSizes(base string, s *signer) (int, error) {
	total, n := 0, 0
	for i := uint64(0); i < 150; i++ {
		t := s.target(s.counter.Add(1))
		req, _ := t.Request()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("warm-up request: %d %s", resp.StatusCode, b)
		}
		total += len(b)
		n++
	}
	return total / n, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func run(c config) (bool, error) {
	fmt.Printf("ensmock load benchmark: %d CPUs, GOMAXPROCS %d, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	prefix := strconv.FormatInt(time.Now().UnixNano(), 36)

	m, err := startChild("mock", 0)
	if err != nil {
		return false, err
	}
	defer m.stop()
	if _, err := m.stats(true); err != nil {
		return false, err
	}
	idleRSS, _, err := m.rss()
	if err != nil {
		return false, err
	}
	ms := &signer{base: "http://" + m.api + "/", now: time.Now().UTC(), prefix: prefix}
	size, err := responseSizes(ms.base, ms)
	if err != nil {
		return false, err
	}
	b, err := startChild("bare", size)
	if err != nil {
		return false, err
	}
	defer b.stop()
	bs := &signer{base: "http://" + b.api + "/", now: ms.now, prefix: prefix + "b"}
	d, err := startChild("mock-dir", 0)
	if err != nil {
		return false, err
	}
	defer d.stop()
	ds := &signer{base: "http://" + d.api + "/", now: ms.now, prefix: prefix + "d"}

	n := int(c.duration.Seconds() * float64(c.maxRPS))
	rounds := max(c.rounds, 1)
	fmt.Printf("typical mock response %d bytes; pre-signing %d requests per max-throughput round...\n", size, n)
	fmt.Printf("phase 1: max throughput, %d rounds of %s each, bare and mock alternating, %d workers\n", rounds, c.duration, c.workers)
	var bareRounds, mockRounds, dirRounds []*phase
	for r := range rounds {
		for _, k := range []struct {
			ch     *child
			s      *signer
			name   string
			rounds *[]*phase
		}{{b, bs, "bare max", &bareRounds}, {m, ms, "mock max", &mockRounds}, {d, ds, "mock+dir max", &dirRounds}} {
			targets := k.s.presigned(n)
			runtime.GC()
			profDone := make(chan error, 1)
			if c.cpuProfile != "" && k.ch == m && r == 0 {
				go func() { profDone <- m.profile(c.cpuProfile, c.duration-time.Second/2) }()
			} else {
				profDone <- nil
			}
			ph, err := attack(k.ch, k.name, sliceTargeter(targets), vegeta.Rate{}, c.duration, c.workers)
			if err != nil {
				return false, err
			}
			if err := <-profDone; err != nil {
				return false, err
			}
			*k.rounds = append(*k.rounds, ph)
		}
	}
	bareMax, mockMax, dirMax := medianRound(bareRounds), medianRound(mockRounds), medianRound(dirRounds)
	fmt.Printf("  CPU/req per round: bare %s; mock %s; mock+dir %s (the median round of each is reported)\n", cpuList(bareRounds), cpuList(mockRounds), cpuList(dirRounds))
	runtime.GC()

	nr := int(c.rateDuration.Seconds()*float64(c.rate)) + c.rate
	fmt.Printf("phase 2: %d req/s, %s each\n", c.rate, c.rateDuration)
	bareRate, err := attack(b, fmt.Sprintf("bare %d/s", c.rate), sliceTargeter(bs.presigned(nr)), vegeta.Rate{Freq: c.rate, Per: time.Second}, c.rateDuration, c.workers)
	if err != nil {
		return false, err
	}
	mockRate, err := attack(m, fmt.Sprintf("mock %d/s", c.rate), sliceTargeter(ms.presigned(nr)), vegeta.Rate{Freq: c.rate, Per: time.Second}, c.rateDuration, c.workers)
	if err != nil {
		return false, err
	}
	phases := []*phase{bareMax, mockMax, dirMax, bareRate, mockRate}

	var soakRSS, soakPeak int64
	if c.soak > 0 {
		fmt.Printf("phase 3: soak, a fresh mock under full load for %s (%d distinct new files)\n", c.soak, c.soakFiles)
		sm, err := startChild("mock", 0)
		if err != nil {
			return false, err
		}
		defer sm.stop()
		ss := &signer{base: "http://" + sm.api + "/", now: time.Now().UTC(), prefix: prefix + "s", newMod: c.soakFiles}
		soak, err := attack(sm, "mock soak", liveTargeter(ss), vegeta.Rate{}, c.soak, c.workers)
		if err != nil {
			return false, err
		}
		phases = append(phases, soak)
		soakRSS, soakPeak, _ = sm.rss()
	}

	fmt.Println()
	fmt.Printf("%-14s %10s %9s %9s %9s %9s %11s %9s %10s\n", "phase", "req/s", "ok", "p50", "p99", "p999", "CPU/req", "allocs", "peak RSS")
	for _, p := range phases {
		fmt.Printf("%-14s %10.0f %8.2f%% %9s %9s %9s %11s %9.1f %10s\n", p.name, p.m.Rate, 100*p.m.Success,
			p.m.Latencies.P50.Round(time.Microsecond), p.m.Latencies.P99.Round(time.Microsecond),
			p.m.Latencies.Quantile(0.999).Round(time.Microsecond), p.cpuPerReq.Round(100*time.Nanosecond), p.allocsReq, mib(p.peakRSS))
		if p.exhausted {
			fmt.Printf("  (%s ran out of pre-signed requests: raise -max-rps)\n", p.name)
		}
	}
	ratio := mockMax.m.Rate / bareMax.m.Rate
	fmt.Printf("\nmock/bare throughput ratio: %.2f\n", ratio)
	fmt.Printf("mock idle RSS: %s\n", mib(idleRSS))
	if c.soak > 0 {
		fmt.Printf("mock RSS after %s of full load: %s (peak %s)\n", c.soak, mib(soakRSS), mib(soakPeak))
	}

	fmt.Println("\ntargets:")
	ok := true
	check := func(pass bool, format string, args ...any) {
		verdict := "PASS"
		if !pass {
			verdict, ok = "FAIL", false
		}
		fmt.Printf("  %s  %s\n", verdict, fmt.Sprintf(format, args...))
	}
	check(ratio >= 0.5, "throughput >= 0.5x bare: %.2fx (%.0f vs %.0f req/s)", ratio, mockMax.m.Rate, bareMax.m.Rate)
	dirRatio := dirMax.m.Rate / mockMax.m.Rate
	check(dirRatio >= 0.5, "throughput with --data-dir >= 0.5x in-memory: %.2fx (%.0f vs %.0f req/s)", dirRatio, dirMax.m.Rate, mockMax.m.Rate)
	check(mockMax.cpuPerReq <= 45*time.Microsecond, "server CPU <= 45us/request: %s", mockMax.cpuPerReq.Round(100*time.Nanosecond))
	// The 45 µs target is three times the floor the issue measured (~15 µs); on a
	// shared machine the floor itself moves, so the same-run ratio goes with it.
	fmt.Printf("  info  server CPU, mock / bare in the same run: %.2fx (%s / %s; the target is 3x a ~15us floor)\n",
		float64(mockMax.cpuPerReq)/float64(bareMax.cpuPerReq), mockMax.cpuPerReq.Round(100*time.Nanosecond), bareMax.cpuPerReq.Round(100*time.Nanosecond))
	check(mockRate.m.Latencies.P99 < 2*time.Millisecond, "p99 < 2ms at %d req/s: %s", c.rate, mockRate.m.Latencies.P99.Round(time.Microsecond))
	check(idleRSS < 20<<20, "idle RSS < 20 MiB: %s", mib(idleRSS))
	if c.soak > 0 {
		check(soakRSS < 50<<20, "RSS after %s of full load < 50 MiB: %s", c.soak, mib(soakRSS))
	}
	if c.wrk != "" {
		if err := crossCheck(c, prefix+"w", size); err != nil {
			return false, err
		}
	}
	return ok, nil
}

// wrkScript replays pre-signed request URIs, one per line of the file given
// after "--", each once in order (a replayed nonce would be refused).
const wrkScript = `local uris, i = {}, 0
function init(args) for line in io.lines(args[1]) do uris[#uris + 1] = line end end
function request() i = i % #uris + 1; return wrk.format("POST", uris[i]) end
`

// crossCheck repeats the max-throughput phase with wrk, a load generator in C
// that needs far less CPU than vegeta, against a fresh bare child and a fresh
// mock: it shows how much of the servers' CPU per request the Go load generator
// sharing the machine adds. It reports only; no target depends on it.
func crossCheck(c config, prefix string, bodySize int) error {
	dir, err := os.MkdirTemp("", "ensmock-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(dir+"/replay.lua", []byte(wrkScript), 0o644); err != nil {
		return err
	}
	fmt.Printf("\ncross-check: %s -t1 -c%d for %s against a fresh bare child and a fresh mock\n", c.wrk, c.workers, c.duration)
	for _, kind := range []string{"bare", "mock"} {
		rate, cpu, err := wrkPhase(c, kind, prefix+kind, bodySize, dir)
		if err != nil {
			return fmt.Errorf("wrk against %s: %w", kind, err)
		}
		fmt.Printf("  %-5s %8.0f req/s   CPU/req %s\n", kind, rate, cpu.Round(100*time.Nanosecond))
	}
	return nil
}

// wrkPhase drives a fresh child of kind with wrk for c.duration, replaying
// requests pre-signed into dir/uris.txt, and returns requests/s and server CPU
// per request.
func wrkPhase(c config, kind, prefix string, bodySize int, dir string) (float64, time.Duration, error) {
	ch, err := startChild(kind, bodySize)
	if err != nil {
		return 0, 0, err
	}
	defer ch.stop()
	uris := dir + "/uris.txt"
	f, err := os.Create(uris)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriter(f)
	s := &signer{base: "/", now: time.Now().UTC(), prefix: prefix}
	for range int(c.duration.Seconds() * float64(c.maxRPS)) {
		fmt.Fprintln(w, s.target(s.counter.Add(1)).URL)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return 0, 0, err
	}
	before, err := ch.stats(false)
	if err != nil {
		return 0, 0, err
	}
	out, err := exec.Command(c.wrk, "-t1", "-c"+strconv.Itoa(c.workers), "-d"+c.duration.String(), "-s", dir+"/replay.lua",
		"http://"+ch.api+"/", "--", uris).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, out)
	}
	after, err := ch.stats(false)
	if err != nil {
		return 0, 0, err
	}
	var n int64
	var secs float64
	if _, err := fmt.Sscanf(string(wrkLine(out, " requests in ")), "%d requests in %fs", &n, &secs); err != nil || n == 0 || secs == 0 {
		return 0, 0, fmt.Errorf("no request count in %q", out)
	}
	if bad := wrkLine(out, "Non-2xx"); bad != nil {
		return 0, 0, fmt.Errorf("%s", bad)
	}
	cpu := time.Duration((after.UserMicros+after.SysMicros)-(before.UserMicros+before.SysMicros)) * time.Microsecond / time.Duration(n)
	return float64(n) / secs, cpu, nil
}

// wrkLine returns the first line of wrk's output that contains s, trimmed.
func wrkLine(out []byte, s string) []byte {
	for line := range bytes.Lines(out) {
		if bytes.Contains(line, []byte(s)) {
			return bytes.TrimSpace(line)
		}
	}
	return nil
}
