package conformance

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// suite is the state of one Run shared by its scenarios: the target, the
// control plane, and what was learnt about the target (its regions).
type suite struct {
	cfg          Config
	target       *target
	control      *control     // nil without a control URL
	clock        *targetClock // nil without a control URL
	main, denied credential
	files        *fileServer // serves the data files the scenarios push

	regionsMu sync.Mutex
	regions   []string
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

// waitFor reads the status of a data file until done says so. With a control
// plane it advances the target's clock between reads; without one it polls
// with a growing interval until Config.PollTimeout.
func (w *world) waitFor(alias, version, what string, done func(regions map[string]string) (bool, error)) error {
	deadline := time.Now().Add(w.s.cfg.PollTimeout)
	interval := 200 * time.Millisecond
	var advanced time.Duration
	for {
		ex, regions, err := w.regionsOf(alias, version)
		if err == nil && len(regions) > 0 {
			ok, ferr := done(regions)
			if ferr != nil {
				return w.failf(ex, "waiting until %s %s: %v", w.name(alias), what, ferr)
			}
			if ok {
				return nil
			}
		}
		if w.s.clock != nil {
			if advanced >= maxWaitAdvance {
				return w.failf(ex, "%s version %s is still not %s after advancing the target's clock by %s (last error: %v)", w.name(alias), version, what, advanced, err)
			}
			if e := w.s.clock.advance(w.ctx, maxAdvance); e != nil {
				return fmt.Errorf("advancing the target's clock: %w", e)
			}
			advanced += maxAdvance
			continue
		}
		if time.Now().After(deadline) {
			return w.failf(ex, "%s version %s is still not %s after %s (last error: %v)", w.name(alias), version, what, w.s.cfg.PollTimeout, err)
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

// maxWaitAdvance bounds how far one wait moves the target's clock.
const maxWaitAdvance = 12 * time.Hour

// knownRegions discovers, once per run, the edge nodes a push without a
// strategy reaches: it pushes a small probe file to its own application.
func (s *suite) knownRegions(ctx context.Context) ([]string, error) {
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	if s.regions != nil {
		return s.regions, nil
	}
	w := s.newWorld(ctx)
	if !w.fixedApp {
		w.app = "conform-regions-" + token()
	}
	probe, err := s.files.Add(w.name("probe"), "1.0", "tar.gz", 1024)
	if err != nil {
		return nil, err
	}
	ex := w.pushFiles([]dataFile{probe}, nil)
	if ex.Err != nil || ex.Status != http.StatusOK {
		return nil, w.failf(ex, "discovering the target's regions: the probe push failed")
	}
	var regions map[string]string
	err = w.waitFor("probe", "1.0", "described in any region", func(r map[string]string) (bool, error) {
		regions = r
		return len(r) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("discovering the target's regions: %w", err)
	}
	s.regions = slices.Sorted(maps.Keys(regions))
	return s.regions, nil
}
