// Command hostile measures the mock under the hostile-input floods of issue 18
// (make bench-hostile): for each flood, the peak RSS of the mock and the latency
// of its health endpoint while the flood runs.
//
// It builds the ensmock binary once into a temporary directory, then, for each
// flood, starts a fresh child `ensmock serve --addr 127.0.0.1:PORT --log-level
// error` with the flags that flood needs and runs the flood from this process.
// While it runs, a separate client with its own connection sends GET
// /_ensmock/health every 50 ms (p99 and max are reported; a probe that fails
// counts as a failure), and the child's VmRSS is sampled from
// /proc/PID/status; the peak is the child's VmHWM at the end (a fresh child
// per flood, so its high-water mark is the flood's).
//
// Every flood is bounded in count and time, and all traffic goes to
// 127.0.0.1. The targets are those of issue 18's "Done when": RSS under 256 MiB
// and health answering within 100 ms (p99) under each flood. It prints a table
// with PASS/FAIL and exits 1 on a FAIL (unless -strict=false). The scale is
// set by flags and printed; the defaults finish in about three minutes on two
// cores.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ensmock/ensmock/bench/internal/proc"
	"github.com/ensmock/ensmock/signature"
)

// The targets of issue 18.
const (
	rssTarget    = 256 << 20
	healthTarget = 100 * time.Millisecond
	probeEvery   = 50 * time.Millisecond
	probeTimeout = 2 * time.Second
)

type config struct {
	pkg, bin                string
	journal, journalBytes   int
	v3Requests, v3Headers   int
	files, describes        int
	conns                   int
	connHold                time.Duration
	nonces                  int
	faultRules, faultPushes int
	downloads, dlWorkers    int
	declared                int64
	workers                 int
	floodTimeout            time.Duration
	only                    string
	strict                  bool
}

func main() {
	var c config
	flag.StringVar(&c.pkg, "pkg", "./cmd/ensmock", "package of the ensmock binary, built once (run from the repository root)")
	flag.StringVar(&c.bin, "bin", "", "use this ensmock binary instead of building -pkg")
	flag.IntVar(&c.journal, "journal", 1000, "flood 1: unsigned requests of -journal-bytes each (half query, half body)")
	flag.IntVar(&c.journalBytes, "journal-bytes", 1_000_000, "flood 1: bytes of each request's query or body (the mock refuses more than 1 MiB)")
	flag.IntVar(&c.v3Requests, "v3-requests", 10, "flood 2: V3-signed requests with -v3-headers signed headers each")
	flag.IntVar(&c.v3Headers, "v3-headers", 30_000, "flood 2: signed x-acs-* headers per request")
	flag.IntVar(&c.files, "files", 100_000, "floods 3 and 4: data files pushed first (batches of 100)")
	flag.IntVar(&c.describes, "describes", 3, "floods 3 and 4: unpaged describes / state dumps read after the pushes")
	flag.IntVar(&c.conns, "conns", 20_000, "flood 5: idle connections (bounded by the descriptor limit)")
	flag.DurationVar(&c.connHold, "conn-hold", 5*time.Second, "flood 5: how long the idle connections are held open")
	flag.IntVar(&c.nonces, "nonces", 90_000, "flood 6: V1-signed requests of one key, each with a new nonce")
	flag.IntVar(&c.faultRules, "fault-rules", 1000, "flood 7: fault rules added (the mock's cap is 1000)")
	flag.IntVar(&c.faultPushes, "fault-pushes", 5000, "flood 7: pushes after the rules")
	flag.IntVar(&c.downloads, "downloads", 32, "flood 8: downloads of the large declared file")
	flag.IntVar(&c.dlWorkers, "download-workers", 4, "flood 8: concurrent downloads")
	flag.Int64Var(&c.declared, "declared", 50_000_000_000, "flood 8: declared size of the file, bytes")
	flag.IntVar(&c.workers, "workers", 8, "concurrent clients of the request floods")
	flag.DurationVar(&c.floodTimeout, "flood-timeout", 90*time.Second, "upper bound of one flood's time")
	flag.StringVar(&c.only, "only", "", "run only the floods whose number is in this comma-separated list (e.g. 3,5)")
	flag.BoolVar(&c.strict, "strict", true, "exit 1 when a target fails")
	flag.Parse()
	// Ctrl-C or SIGTERM stops the running child before this program exits.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		if m := running.Load(); m != nil {
			_ = m.cmd.Process.Kill()
			_, _ = m.cmd.Process.Wait()
		}
		if d := tmpDir.Load(); d != nil {
			_ = os.RemoveAll(*d)
		}
		os.Exit(130)
	}()
	ok, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
	if !ok && c.strict {
		os.Exit(1)
	}
}

// flood is one row of the table.
type flood struct {
	n     int
	name  string
	scale string
	flags []string
	run   func(ctx context.Context, m *mockChild) (sent int, note string, err error)
}

type result struct {
	f           flood
	sent        int
	note        string
	idleRSS     int64
	peakRSS     int64
	p99, maxLat time.Duration
	probes      int
	cpu         time.Duration // the mock's CPU time (user + system) during the flood
	loadAvg     string        // the machine's load average when the flood started
	probeFails  int
	firstFail   string
	elapsed     time.Duration
	err         error
}

func (r result) pass() bool {
	return r.err == nil && r.peakRSS < rssTarget && r.p99 < healthTarget && r.probeFails == 0
}

func run(c config) (bool, error) {
	limit := raiseFileLimit()
	fmt.Printf("ensmock hostile-input benchmark: %d CPUs, GOMAXPROCS %d, %s, descriptor limit %d\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), limit)
	bin := c.bin
	if bin == "" {
		dir, err := os.MkdirTemp("", "ensmock-hostile-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(dir)
		tmpDir.Store(&dir)
		bin = filepath.Join(dir, "ensmock")
		fmt.Printf("building %s ...\n", c.pkg)
		cmd := exec.Command("go", "build", "-o", bin, c.pkg)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return false, fmt.Errorf("go build %s: %w", c.pkg, err)
		}
	}
	conns := c.conns
	if room := int(limit) - 512; conns > room {
		conns = max(room, 0)
	}
	floods := []flood{
		{1, "journal: 1 MB unsigned requests", fmt.Sprintf("%d × %s (query/body)", c.journal, sizeStr(int64(c.journalBytes))), nil,
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodJournal(ctx, m, c) }},
		{2, "V3: huge SignedHeaders", fmt.Sprintf("%d × %d signed headers", c.v3Requests, c.v3Headers), nil,
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodV3(ctx, m, c) }},
		{3, "unpaged DescribeDataPushResult", fmt.Sprintf("%d files, %d describes", c.files, c.describes), []string{"--auth", "off"},
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodDescribe(ctx, m, c, false) }},
		{4, "GET /_ensmock/state", fmt.Sprintf("%d files, %d dumps", c.files, c.describes), []string{"--auth", "off"},
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodDescribe(ctx, m, c, true) }},
		{5, "idle connections", fmt.Sprintf("%d conns for %s", conns, c.connHold), nil,
			func(ctx context.Context, m *mockChild) (int, string, error) {
				return floodConns(ctx, m, conns, c.connHold)
			}},
		{6, "nonces of one key", fmt.Sprintf("%d signed requests", c.nonces), nil,
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodNonces(ctx, m, c) }},
		{7, "fault rules, then pushes", fmt.Sprintf("%d rules, %d pushes", c.faultRules, c.faultPushes), []string{"--auth", "off"},
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodFaults(ctx, m, c) }},
		{8, "downloads of a 50 GB file", fmt.Sprintf("%d × %s declared, %d at once", c.downloads, sizeStr(c.declared), c.dlWorkers),
			// Transfers end at once, so the file is downloadable right after the push.
			[]string{"--auth", "off", "--bandwidth", "1099511627776", "--base-latency", "0s"},
			func(ctx context.Context, m *mockChild) (int, string, error) { return floodDownloads(ctx, m, c) }},
	}
	var only []string
	if c.only != "" {
		only = strings.Split(c.only, ",")
	}
	var results []result
	start := time.Now()
	for _, f := range floods {
		if only != nil && !slices.Contains(only, strconv.Itoa(f.n)) {
			continue
		}
		fmt.Printf("flood %d: %s (%s) ...\n", f.n, f.name, f.scale)
		r := measure(bin, f, c.floodTimeout)
		if r.err != nil {
			fmt.Printf("  error: %v\n", r.err)
		}
		fmt.Printf("  %s; sent %d in %s (mock CPU %s; load average at start %s); idle RSS %s, peak %s; health p99 %s, max %s over %d probes (%d failed)\n",
			r.note, r.sent, r.elapsed.Round(100*time.Millisecond), r.cpu.Round(10*time.Millisecond), r.loadAvg,
			mib(r.idleRSS), mib(r.peakRSS), ms(r.p99), ms(r.maxLat), r.probes, r.probeFails)
		if r.firstFail != "" {
			fmt.Printf("  first failed probe: %s\n", r.firstFail)
		}
		results = append(results, r)
	}
	fmt.Printf("\nall floods: %s\n\n", time.Since(start).Round(time.Second))
	fmt.Printf("targets: peak RSS < %s, health p99 < %s and every probe answered (GET /_ensmock/health every %s)\n\n",
		mib(rssTarget), ms(healthTarget), probeEvery)
	fmt.Printf("| # | flood | scale | requests sent | time | mock CPU | peak RSS | health p99 | health max | verdict |\n")
	fmt.Printf("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	ok := true
	for _, r := range results {
		verdict := "PASS"
		if !r.pass() {
			verdict, ok = "FAIL", false
		}
		fmt.Printf("| %d | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", r.f.n, r.f.name, r.f.scale, r.sent,
			r.elapsed.Round(100*time.Millisecond), r.cpu.Round(10*time.Millisecond), mib(r.peakRSS), ms(r.p99), ms(r.maxLat), verdict)
	}
	return ok, nil
}

// raiseFileLimit raises the soft descriptor limit to the hard one (children
// inherit it) and returns the soft limit in force.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		}
	}
	return rl.Cur
}

// ---- the child and the measurement ----

// running is the child of the flood in progress, for the signal handler.
var running atomic.Pointer[mockChild]

// tmpDir holds the built binary, removed at the end (and on a signal).
var tmpDir atomic.Pointer[string]

type mockChild struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	stderr bytes.Buffer
}

func startMock(bin string, flags []string) (*mockChild, error) {
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{"serve", "--addr", addr, "--log-level", "error"}, flags...)
	m := &mockChild{base: "http://" + addr}
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout = io.Discard
	m.cmd.Stderr = &limitedBuffer{b: &m.stderr, max: 64 << 10}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	running.Store(m)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(m.base + "/_ensmock/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return m, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.stop()
	return nil, fmt.Errorf("ensmock %s: not healthy within 15s: %s", strings.Join(args, " "), m.stderr.String())
}

func (m *mockChild) stop() {
	defer running.CompareAndSwap(m, nil)
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	proc.WaitOrKill(m.cmd, 15*time.Second)
}

// rss returns VmRSS and VmHWM of the child in bytes.
func (m *mockChild) rss() (cur, peak int64, err error) {
	return proc.RSS(m.cmd.Process.Pid)
}

// cpu returns the child's CPU time so far (utime + stime of /proc/PID/stat,
// in USER_HZ ticks, which are 1/100 s on Linux).
func (m *mockChild) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after "(comm)": state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc/PID/stat: %q", b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

type limitedBuffer struct {
	mu  sync.Mutex
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// measure runs one flood against a fresh child and probes health and RSS
// while it runs.
func measure(bin string, f flood, timeout time.Duration) result {
	r := result{f: f}
	m, err := startMock(bin, f.flags)
	if err != nil {
		r.err = err
		return r
	}
	defer m.stop()
	r.idleRSS, _, _ = m.rss()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.loadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	cpu0, _ := m.cpu()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lats []time.Duration
	var fails int
	var firstFail string
	// The prober: its own client and transport, one connection kept alive.
	wg.Go(func() {
		client := &http.Client{Timeout: probeTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
		defer client.CloseIdleConnections()
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			t0 := time.Now()
			resp, err := client.Get(m.base + "/_ensmock/health")
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			lat := time.Since(t0)
			lats = append(lats, lat)
			if err != nil {
				fails++
				if firstFail == "" {
					firstFail = fmt.Sprintf("after %s: %v", lat.Round(time.Millisecond), err)
				}
			}
		}
	})
	// RSS samples (VmHWM is the peak; the samples catch a child that dies).
	var lastRSS atomic.Int64
	wg.Go(func() {
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, peak, err := m.rss(); err == nil {
				lastRSS.Store(peak)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t0 := time.Now()
	r.sent, r.note, r.err = f.run(ctx, m)
	r.elapsed = time.Since(t0)
	if cpu1, err := m.cpu(); err == nil {
		r.cpu = cpu1 - cpu0
	}
	cancel()
	time.Sleep(2 * probeEvery) // one more probe after the flood's last request
	close(stop)
	wg.Wait()
	if _, peak, err := m.rss(); err == nil {
		r.peakRSS = peak
	} else {
		r.peakRSS = lastRSS.Load()
		if r.err == nil {
			r.err = fmt.Errorf("the mock is gone: %v; its stderr: %s", err, m.stderr.String())
		}
	}
	r.probes, r.probeFails, r.firstFail = len(lats), fails, firstFail
	if len(lats) > 0 {
		slices.Sort(lats)
		r.p99 = lats[max(0, (len(lats)*99+99)/100-1)]
		r.maxLat = lats[len(lats)-1]
	}
	if r.probes == 0 && r.err == nil {
		r.err = errors.New("no health probe ran")
	}
	return r
}

// ---- helpers of the floods ----

// newClient is a flood's HTTP client: its own connections (workers of them),
// a timeout on every request.
func newClient(workers int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
}

// statuses counts answers by status code (or error) for a flood's note.
type statuses struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *statuses) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[k]++
}

func (s *statuses) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range s.n {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, s.n[k])
	}
	return "answers: " + strings.Join(parts, ", ")
}

// do sends req, reads and discards the answer, records its status and
// returns the bytes read.
func do(client *http.Client, req *http.Request, st *statuses) (int64, error) {
	resp, err := client.Do(req)
	if err != nil {
		st.add("error")
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		st.add(strconv.Itoa(resp.StatusCode) + " cut short")
		return n, err
	}
	st.add(strconv.Itoa(resp.StatusCode))
	return n, nil
}

// parallel runs job(i) for i in [0, n) on workers goroutines until ctx ends,
// and returns how many ran.
func parallel(ctx context.Context, n, workers int, job func(i int)) int {
	var next, ran atomic.Int64
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				job(int(i))
				ran.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ran.Load())
}

func apiParams(action string) url.Values {
	return url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
}

func postForm(ctx context.Context, base string, p url.Values) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

const app = "hostile-app"

// pushFiles pushes n data files named prefix-i in batches of 100 (auth off).
func pushFiles(ctx context.Context, client *http.Client, base, prefix string, n, workers int, size int64, st *statuses) int {
	batches := (n + 99) / 100
	return parallel(ctx, batches, workers, func(b int) {
		items := make([]string, 0, 100)
		for i := b * 100; i < min(n, (b+1)*100); i++ {
			items = append(items, fmt.Sprintf(`{"name":"%s-%d","version":"1.0","size":%d,"archiveType":"tar.gz","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://127.0.0.1/files/%d.tar.gz"}`, prefix, i, size, i))
		}
		p := apiParams("PushApplicationData")
		p.Set("AppId", app)
		p.Set("Data", "["+strings.Join(items, ",")+"]")
		_, _ = do(client, postForm(ctx, base, p), st)
	})
}

// ---- the floods ----

// floodJournal: unsigned requests of about 1 MB each (auth on: all refused),
// half with the bytes in the query string, half in a form body. The journal
// must keep bounded copies, not the requests.
func floodJournal(ctx context.Context, m *mockChild, c config) (int, string, error) {
	client := newClient(c.workers, 30*time.Second)
	pad := strings.Repeat("x", c.journalBytes)
	st := &statuses{}
	sent := parallel(ctx, c.journal, c.workers, func(i int) {
		p := apiParams("DescribeDataPushResult")
		p.Set("AppId", app)
		var req *http.Request
		if i%2 == 0 {
			u := m.base + "/?" + p.Encode() + "&Pad=" + pad[:c.journalBytes-len(p.Encode())-5]
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		} else {
			p.Set("Pad", pad[:c.journalBytes-len(p.Encode())-5])
			req = postForm(ctx, m.base, p)
		}
		_, _ = do(client, req, st)
	})
	return sent, st.String(), ctx.Err()
}

// floodV3: V3-signed requests (testid/testsecret) whose SignedHeaders names
// c.v3Headers x-acs-* headers, all present: verification must stay linear
// (and the mock caps the signed names).
func floodV3(ctx context.Context, m *mockChild, c config) (int, string, error) {
	client := newClient(3, 60*time.Second)
	st := &statuses{}
	now := time.Now().UTC()
	sent := parallel(ctx, c.v3Requests, 3, func(i int) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.base+"/", nil)
		for h := range c.v3Headers {
			req.Header["X-Acs-F"+strconv.Itoa(h)] = []string{"v"}
		}
		signature.SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", "testid", "testsecret", fmt.Sprintf("v3-%d-%d", now.UnixNano(), i), now)
		_, _ = do(client, req, st)
	})
	return sent, st.String(), ctx.Err()
}

// floodDescribe pushes c.files data files, then reads c.describes unpaged
// DescribeDataPushResult answers (or, state, GET /_ensmock/state dumps) in full.
func floodDescribe(ctx context.Context, m *mockChild, c config, state bool) (int, string, error) {
	client := newClient(2, 5*time.Minute)
	st := &statuses{}
	sent := pushFiles(ctx, client, m.base, "f", c.files, 2, 1<<20, st)
	// What the state alone costs: the peak before the first answer.
	_, statePeak, _ := m.rss()
	var answered int64
	for range c.describes {
		if ctx.Err() != nil {
			break
		}
		var req *http.Request
		if state {
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/_ensmock/state", nil)
		} else {
			p := apiParams("DescribeDataPushResult")
			p.Set("AppId", app)
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/?"+p.Encode(), nil)
		}
		n, _ := do(client, req, st)
		answered += n
		sent++
	}
	what := "describe"
	if state {
		what = "state"
	}
	return sent, fmt.Sprintf("%s; peak RSS after the pushes %s; %s answers of %s each", st, mib(statePeak), what, mib(answered/int64(max(1, c.describes)))), ctx.Err()
}

// floodConns opens n idle connections (every other one sends half a request
// header and stops: slowloris), holds them for hold, then closes them.
func floodConns(ctx context.Context, m *mockChild, n int, hold time.Duration) (int, string, error) {
	addr := strings.TrimPrefix(m.base, "http://")
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{Timeout: 2 * time.Second}
	var dialErr error
	dialFails := 0
	for i := 0; i < n && ctx.Err() == nil; i++ {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			dialFails++
			if dialErr == nil {
				dialErr = err
			}
			continue
		}
		conns = append(conns, c)
		if i%2 == 1 {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, "GET /_ensmock/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(hold):
	}
	// How many did the mock close (beyond its connection cap)? A read on a
	// closed connection ends at once; an open one times out.
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Microsecond))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				closed++
			}
		} else {
			closed++ // an answer (e.g. 431/408) and then a close
		}
	}
	note := fmt.Sprintf("%d connections opened, %d closed by the mock while held", len(conns), closed)
	if dialFails > 0 {
		note += fmt.Sprintf(", %d dials failed (first: %v)", dialFails, dialErr)
	}
	return len(conns), note, ctx.Err()
}

// floodNonces sends c.nonces V1-signed requests of one key (testid), each
// with a new nonce: the key's nonce cache must stay bounded.
func floodNonces(ctx context.Context, m *mockChild, c config) (int, string, error) {
	client := newClient(c.workers, 30*time.Second)
	st := &statuses{}
	now := time.Now().UTC()
	prefix := strconv.FormatInt(now.UnixNano(), 36)
	sent := parallel(ctx, c.nonces, c.workers, func(i int) {
		p := apiParams("DescribeDataPushResult")
		p.Set("AppId", app)
		p.Set("PageSize", "1")
		p.Set("PageNumber", "1")
		signature.SignV1(http.MethodGet, p, "testid", "testsecret", prefix+"-"+strconv.Itoa(i), now)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/?"+p.Encode(), nil)
		_, _ = do(client, req, st)
	})
	return sent, st.String(), ctx.Err()
}

// floodFaults adds c.faultRules fault rules that match nothing the pushes
// send (half replica-level, half API-level), in posts of 100, then sends
// c.faultPushes one-file pushes: each push is matched against every rule.
func floodFaults(ctx context.Context, m *mockChild, c config) (int, string, error) {
	client := newClient(c.workers, 30*time.Second)
	st := &statuses{}
	sent := 0
	for b := 0; b*100 < c.faultRules && ctx.Err() == nil; b++ {
		var rules []map[string]any
		for i := b * 100; i < min(c.faultRules, (b+1)*100); i++ {
			if i%2 == 0 {
				rules = append(rules, map[string]any{"effect": "corrupt", "match": map[string]string{"name": fmt.Sprintf("nomatch-%d/*", i)}})
			} else {
				rules = append(rules, map[string]any{"effect": "error", "params": map[string]string{"code": "Throttling"},
					"match": map[string]string{"action": "PushApplicationData", "account": fmt.Sprintf("nobody-%d", i)}})
			}
		}
		body, _ := json.Marshal(map[string]any{"faults": rules})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.base+"/_ensmock/faults", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return sent, "", fmt.Errorf("POST /_ensmock/faults: %w", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		sent++
		if resp.StatusCode != http.StatusCreated {
			return sent, "", fmt.Errorf("POST /_ensmock/faults: %d %s", resp.StatusCode, msg)
		}
	}
	sent += parallel(ctx, c.faultPushes, c.workers, func(i int) {
		p := apiParams("PushApplicationData")
		p.Set("AppId", app)
		p.Set("Data", fmt.Sprintf(`[{"name":"p-%d","version":"1.0","size":1048576,"archiveType":"tar.gz","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://127.0.0.1/files/p.tar.gz"}]`, i))
		_, _ = do(client, postForm(ctx, m.base, p), st)
	})
	return sent, fmt.Sprintf("%d rules; pushes' %s", c.faultRules, st), ctx.Err()
}

// floodDownloads pushes one data file declared c.declared bytes (simulate
// mode; the child's bandwidth makes its transfers end at once), then downloads it c.downloads times, c.dlWorkers at once: each a
// DescribeDataDownloadURL and a GET of the link, read and discarded. The
// mock serves at most 64 MiB of synthetic bytes per download and then closes
// the connection, so every body is short by design.
func floodDownloads(ctx context.Context, m *mockChild, c config) (int, string, error) {
	client := newClient(c.dlWorkers, 60*time.Second)
	st := &statuses{}
	p := apiParams("PushApplicationData")
	p.Set("AppId", app)
	p.Set("Data", fmt.Sprintf(`[{"name":"big","version":"1.0","size":%d,"archiveType":"tar.gz","md5":"0cc175b9c0f1b6a831c399e269772661","url":"http://127.0.0.1/files/big.tar.gz"}]`, c.declared))
	if _, err := do(client, postForm(ctx, m.base, p), st); err != nil {
		return 1, "", err
	}
	link := func() (string, error) {
		q := apiParams("DescribeDataDownloadURL")
		q.Set("AppId", app)
		q.Set("DataName", "big")
		q.Set("DataVersion", "1.0")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/?"+q.Encode(), nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		var answer struct {
			Data struct{ URL string }
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(answer.Data.URL, "/") {
			return "", fmt.Errorf("DescribeDataDownloadURL: %d %q %v", resp.StatusCode, answer.Data.URL, err)
		}
		// The link is a path on the mock (no host): it is fetched from 127.0.0.1.
		return m.base + answer.Data.URL, nil
	}
	// Wait until a file server holds the file (its transfers end within a
	// second or so): a HEAD of the link answers 200.
	sent := 1
	for {
		u, err := link()
		if err != nil {
			return sent, "", err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		resp, err := client.Do(req)
		sent += 2
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return sent, "", fmt.Errorf("the file never became downloadable: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	var bytesRead, linkErrs atomic.Int64
	dl := &statuses{}
	sent += 2 * parallel(ctx, c.downloads, c.dlWorkers, func(i int) {
		u, err := link()
		if err != nil {
			linkErrs.Add(1)
			return
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		n, _ := do(client, req, dl)
		bytesRead.Add(n)
	})
	note := fmt.Sprintf("downloads' %s; %s read in all (%s each)", dl, mib(bytesRead.Load()), mib(bytesRead.Load()/int64(max(1, c.downloads))))
	if n := linkErrs.Load(); n > 0 {
		note += fmt.Sprintf("; %d DescribeDataDownloadURL failed", n)
	}
	return sent, note, ctx.Err()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func sizeStr(b int64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%g GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%g MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%d B", b)
}
