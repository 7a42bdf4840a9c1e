package conformance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// suite is the state of one Run shared by its scenarios: the target, the
// control plane, and what was learnt about the target (its regions).
type suite struct {
	cfg          Config
	out          io.Writer // cfg.Output, one write at a time (godog and the waits share it)
	target       *target
	control      *control // nil without a control URL
	main, denied credential
	files        *fileServer // serves the data files the scenarios push

	pollFirst time.Duration                     // first interval of a poll (default 200 ms)
	ticker    func() (<-chan time.Time, func()) // paces the progress lines of a wait

	regionsMu sync.Mutex
	regions   []string
	probe     *world // the pre-flight's probe push, which region discovery reuses
}

// progressEvery is how often a wait says what it waits for.
const progressEvery = 5 * time.Second

func realTicker() (<-chan time.Time, func()) {
	t := time.NewTicker(progressEvery)
	return t.C, t.Stop
}

// lockedWriter serializes writes to w, and knows whether the output is at
// the start of a line (godog's progress formatter leaves it mid-line).
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.write(p)
}

func (l *lockedWriter) write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.midLine = p[n-1] != '\n'
	}
	return n, err
}

// line writes s on a line of its own.
func (l *lockedWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.midLine {
		s = "\n" + s
	}
	_, _ = l.write([]byte(s + "\n"))
}

// printLine writes s on a line of its own to w.
func printLine(w io.Writer, s string) {
	if l, ok := w.(*lockedWriter); ok {
		l.line(s)
		return
	}
	fmt.Fprintln(w, s)
}

// world is the state of one scenario. Every scenario has its own random names,
// so runs and concurrent scenarios never collide and need no clean-up.
type world struct {
	s        *suite
	ctx      context.Context
	app      string
	fixedApp bool
	names    map[string]string // alias in the feature → random name on the wire
	format   string            // JSON or XML
	cred     credential
	skew     time.Duration

	last      *exchange
	lastFiles []dataFile      // the data files of the last push, in order
	pushes    map[string]call // name → the last push call that carried it
	describes []*exchange     // DescribeDataPushResult answers of this scenario
	faults    []string        // fault ids to remove after the scenario
	apps      appWorld        // the application and dist state (steps_apps.go); read through aw
}

// dataFile is one item of PushApplicationData's Data.
type dataFile struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Size        int64  `json:"size"`
	ArchiveType string `json:"archiveType"`
	MD5         string `json:"md5"`
	URL         string `json:"url"`
	Timeout     int64  `json:"timeout,omitempty"`
}

func (s *suite) newWorld(ctx context.Context) *world {
	w := &world{s: s, ctx: ctx, names: map[string]string{}, format: "JSON", cred: s.main, pushes: map[string]call{}}
	w.freshApp()
	return w
}

func (w *world) freshApp() {
	if w.s.cfg.AppID != "" {
		w.app, w.fixedApp = w.s.cfg.AppID, true
		return
	}
	w.app = "conform-" + token()
}

const tokenAlphabet = "0123456789abcdefghijklmnopqrstuv"

// token is a random suffix: "r" and 10 base-32 characters (50 bits).
func token() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	out := []byte{'r'}
	for _, c := range b {
		out = append(out, tokenAlphabet[c%32])
	}
	return string(out)
}

// name maps a data-file alias of the feature ("app01") to this scenario's
// random name ("app01-r0123456789").
func (w *world) name(alias string) string {
	if n, ok := w.names[alias]; ok {
		return n
	}
	n := alias + "-" + token()
	w.names[alias] = n
	return n
}

// own reports whether a data-file name belongs to this scenario.
func (w *world) own(name string) bool {
	for _, n := range w.names {
		if n == name {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\{([a-z][a-zA-Z0-9_-]*)\}`)

// expand replaces the placeholders of a feature's text: {app} is the AppId,
// {region1}, {region2}, … the target's regions, {unknown-region} an edge node
// that exists nowhere, and any other {alias} the random name of a data file.
func (w *world) expand(s string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		key := m[1 : len(m)-1]
		switch {
		case key == "app":
			return w.app
		case key == "unknown-region":
			return w.name("cn-nowhere")
		case strings.HasPrefix(key, "region"):
			if n, e := strconv.Atoi(strings.TrimPrefix(key, "region")); e == nil {
				regions, e := w.s.knownRegions(w.ctx)
				if e != nil {
					err = e
					return m
				}
				if n < 1 || n > len(regions) {
					err = fmt.Errorf("%s: the target has %d regions (%s)", m, len(regions), strings.Join(regions, ", "))
					return m
				}
				return regions[n-1]
			}
		}
		return w.name(key)
	})
	return out, err
}

// expandList splits "a, b" and expands each item.
func (w *world) expandList(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		v, err := w.expand(part)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// failf is a step failure that shows the exchange that broke the expectation.
func (w *world) failf(ex *exchange, format string, args ...any) error {
	return fmt.Errorf("%s\n\n%s", fmt.Sprintf(format, args...), ex.Dump())
}

// send performs c for the scenario (its credentials, format and time skew)
// and makes the answer the one the next Then steps look at.
func (w *world) send(c call) *exchange {
	if c.Format == "" {
		c.Format = w.format
	}
	if c.Cred == (credential{}) {
		c.Cred = w.cred
	}
	if c.Skew == 0 {
		c.Skew = w.skew
	}
	ex := w.s.target.do(w.ctx, c)
	w.observe(c.Action, ex)
	w.last = ex
	if c.Action == "DescribeDataPushResult" {
		w.describes = append(w.describes, ex)
	}
	return ex
}

// check performs c with the main credentials in JSON, to look at the target's
// state; it does not become the scenario's last answer.
func (w *world) check(c call) *exchange {
	c.Format, c.Cred = "JSON", w.s.main
	ex := w.s.target.do(w.ctx, c)
	w.observe(c.Action, ex)
	return ex
}

// describe reads the push status of one data file (or of every file when name is "").
func (w *world) describe(name, version string) (*exchange, []fileStatus, error) {
	p := url.Values{"AppId": {w.app}}
	if name != "" {
		p.Set("DataNames", name)
	}
	if version != "" {
		p.Set("DataVersions", version)
	}
	ex := w.check(call{Action: "DescribeDataPushResult", Params: p})
	if ex.Err != nil || ex.Status != http.StatusOK {
		return ex, nil, w.failf(ex, "DescribeDataPushResult did not succeed")
	}
	files, err := ex.Body().fileStatuses()
	if err != nil {
		return ex, nil, w.failf(ex, "DescribeDataPushResult: %v", err)
	}
	return ex, files, nil
}

// regionsOf returns the regions of name/version and their statuses.
func (w *world) regionsOf(alias, version string) (*exchange, map[string]string, error) {
	name := w.name(alias)
	ex, files, err := w.describe(name, version)
	if err != nil {
		return ex, nil, err
	}
	for _, f := range files {
		if f.Name == name && f.Version == version {
			return ex, f.Regions, nil
		}
	}
	return ex, nil, w.failf(ex, "DescribeDataPushResult does not describe %s version %s", name, version)
}

// waitFor reads the status of a data file until done says so. It stops at
// the first answer that waiting cannot change (an HTTP 4xx, a refused
// connection).
func (w *world) waitFor(alias, version, what string, done func(regions map[string]string) (bool, error)) error {
	name := w.name(alias)
	return w.waitUntil(fmt.Sprintf("%s version %s", name, version), what, func() (*exchange, bool, string, error) {
		ex, regions, seen, final := w.poll(name, version)
		if final {
			return ex, false, seen, w.failf(ex, "waiting for %s version %s to be %s: %s; waiting does not change that answer", name, version, what, seen)
		}
		if regions != nil {
			ok, err := done(regions)
			if err != nil {
				return ex, false, seen, w.failf(ex, "waiting for %s version %s to be %s: %v", name, version, what, err)
			}
			if ok {
				return ex, true, seen, nil
			}
		}
		return ex, false, seen, nil
	})
}

// waitUntil calls probe until it says done or fails, waiting for subject to
// be state. With a control plane it advances the target's clock between
// calls; without one it polls with a growing interval until
// Config.PollTimeout. It says every few seconds (on Config.Output) what it
// waits for. probe returns the exchange it read (nil: none), which the error
// shows when the wait gives up, and in a few words what it saw.
func (w *world) waitUntil(subject, state string, probe func() (ex *exchange, done bool, seen string, err error)) error {
	p := w.s.startProgress(subject + " to be " + state)
	defer p.stop()
	giveUp := func(ex *exchange, format string, args ...any) error {
		if ex == nil {
			return fmt.Errorf(format, args...)
		}
		return w.failf(ex, format, args...)
	}
	deadline := time.Now().Add(w.s.cfg.PollTimeout)
	interval := w.s.pollFirst
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	var advanced time.Duration
	for {
		ex, done, seen, err := probe()
		if err != nil || done {
			return err
		}
		p.update(seen)
		if w.s.control != nil {
			if advanced >= maxWaitAdvance {
				return giveUp(ex, "%s is still not %s after advancing the target's clock by %s; the last answer: %s", subject, state, advanced, seen)
			}
			if err := w.s.control.advance(w.ctx, maxAdvance); err != nil {
				return fmt.Errorf("advancing the target's clock: %w", err)
			}
			advanced += maxAdvance
			continue
		}
		if time.Now().After(deadline) {
			return giveUp(ex, "%s is still not %s after %s (--poll-timeout); the last answer: %s", subject, state, w.s.cfg.PollTimeout, seen)
		}
		t := time.NewTimer(interval)
		select {
		case <-w.ctx.Done():
			t.Stop()
			return w.ctx.Err()
		case <-t.C:
		}
		interval = min(interval*2, 5*time.Second)
	}
}

// poll reads the regions of name/version once. seen says in a few words what
// the answer was; final is true when waiting cannot change it (an HTTP 4xx,
// a refused connection, a cancelled run). regions is nil when the answer
// does not describe the file.
func (w *world) poll(name, version string) (ex *exchange, regions map[string]string, seen string, final bool) {
	p := url.Values{"AppId": {w.app}, "DataNames": {name}, "DataVersions": {version}}
	ex = w.check(call{Action: "DescribeDataPushResult", Params: p})
	switch {
	case ex.Err != nil:
		final = errors.Is(ex.Err, syscall.ECONNREFUSED) || w.ctx.Err() != nil
		return ex, nil, "no answer (" + ex.Err.Error() + ")", final
	case ex.Status >= 400 && ex.Status < 500:
		return ex, nil, fmt.Sprintf("HTTP %d %s", ex.Status, ex.Body().Code()), true
	case ex.Status != http.StatusOK:
		return ex, nil, fmt.Sprintf("HTTP %d %s", ex.Status, ex.Body().Code()), false
	}
	files, err := ex.Body().fileStatuses()
	if err != nil {
		return ex, nil, "an answer that does not parse: " + err.Error(), false
	}
	for _, f := range files {
		if f.Name == name && f.Version == version && len(f.Regions) > 0 {
			return ex, f.Regions, summarize(f.Regions), false
		}
	}
	return ex, nil, "the file is described in no region yet", false
}

// summarize renders regions as "3 SUCCESS, 1 PUSHING (cn-a)": the count of
// each status and, for statuses held by at most three regions, which.
func summarize(regions map[string]string) string {
	by := map[string][]string{}
	for r, st := range regions {
		by[st] = append(by[st], r)
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(by)) {
		rs := slices.Sorted(slices.Values(by[st]))
		part := fmt.Sprintf("%d %s", len(rs), st)
		if len(rs) <= 3 && len(by) > 1 {
			part += " (" + strings.Join(rs, ", ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// progress prints, on each tick of the suite's ticker, what a wait waits for
// and the last answer it saw.
type progress struct {
	mu    sync.Mutex
	seen  string
	stopc chan struct{}
	done  chan struct{}
}

func (s *suite) startProgress(what string) *progress {
	tick := s.ticker
	if tick == nil {
		tick = realTicker
	}
	c, stop := tick()
	p := &progress{stopc: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(p.done)
		defer stop()
		for {
			select {
			case <-p.stopc:
				return
			case <-c:
				p.mu.Lock()
				seen := p.seen
				p.mu.Unlock()
				if seen == "" {
					seen = "none yet"
				}
				printLine(s.out, fmt.Sprintf("conformance: waiting %s for %s (last answer: %s)", time.Since(start).Round(time.Second), what, seen))
			}
		}
	}()
	return p
}

func (p *progress) update(seen string) {
	p.mu.Lock()
	p.seen = seen
	p.mu.Unlock()
}

func (p *progress) stop() {
	close(p.stopc)
	<-p.done
}

// maxWaitAdvance bounds how far one wait moves the target's clock.
const maxWaitAdvance = 12 * time.Hour

// knownRegions returns the edge nodes a push without a strategy reaches:
// Config.Regions when given, else discovered once per run from the regions
// that describe the pre-flight's probe file (or a new probe push).
func (s *suite) knownRegions(ctx context.Context) ([]string, error) {
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	if s.regions != nil {
		return s.regions, nil
	}
	if len(s.cfg.Regions) > 0 {
		s.regions = s.cfg.Regions
		return s.regions, nil
	}
	w := s.probe
	if w == nil {
		var err error
		if w, err = s.pushProbe(ctx); err != nil {
			return nil, err
		}
		if ex := w.last; ex.Err != nil || ex.Status != http.StatusOK {
			return nil, w.failf(ex, "discovering the target's regions: the probe push failed")
		}
	}
	w.ctx = ctx
	var regions map[string]string
	err := w.waitFor("probe", "1.0", "described in any region", func(r map[string]string) (bool, error) {
		regions = r
		return len(r) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("discovering the target's regions (or give them with --regions): %w", err)
	}
	s.regions = slices.Sorted(maps.Keys(regions))
	return s.regions, nil
}

// pushProbe pushes a small data file, served by the runner, to an application
// of its own (or Config.AppID); the answer is w.last.
func (s *suite) pushProbe(ctx context.Context) (*world, error) {
	w := s.newWorld(ctx)
	if !w.fixedApp {
		w.app = "conform-regions-" + token()
	}
	probe, err := s.files.Add(w.name("probe"), "1.0", "tar.gz", 1024)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal([]dataFile{probe})
	if err != nil {
		return nil, err
	}
	w.lastFiles = []dataFile{probe}
	w.send(call{Action: "PushApplicationData", Params: url.Values{"AppId": {w.app}, "Data": {string(data)}}})
	return w, nil
}
