package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// fakeTarget is an ENS stand-in on a loopback port: each request is counted
// and answered by fn (action, request).
type fakeTarget struct {
	*httptest.Server
	n atomic.Int64
}

func newFakeTarget(t *testing.T, fn func(w http.ResponseWriter, r *http.Request, action string)) *fakeTarget {
	t.Helper()
	ft := &fakeTarget{}
	ft.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ft.n.Add(1)
		_ = r.ParseForm()
		fn(w, r, r.Form.Get("Action"))
	}))
	t.Cleanup(ft.Close)
	return ft
}

func ensError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"RequestId":"R","HostId":"ens.aliyuncs.com","Code":%q,"Message":"m"}`, code)
}

func describeAnswer(w http.ResponseWriter, name, version string, regions map[string]string) {
	type stat struct {
		Status        string
		RegionIdCount int
		RegionIds     struct{ RegionId []map[string]string }
	}
	by := map[string]*stat{}
	for r, st := range regions {
		if by[st] == nil {
			by[st] = &stat{Status: st}
		}
		by[st].RegionIdCount++
		by[st].RegionIds.RegionId = append(by[st].RegionIds.RegionId, map[string]string{"RegionId": r})
	}
	var stats []*stat
	for _, s := range by {
		stats = append(stats, s)
	}
	results := []any{}
	if name != "" {
		results = append(results, map[string]any{"Name": name, "Version": version, "StatusStatS": map[string]any{"StatusStat": stats}})
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"RequestId": "R", "PushResults": map[string]any{"PushResult": results}})
}

func pushAnswer(w http.ResponseWriter, r *http.Request, code int, descrip string) {
	var files []dataFile
	_ = json.Unmarshal([]byte(r.Form.Get("Data")), &files)
	var out []map[string]any
	for _, f := range files {
		out = append(out, map[string]any{"Name": f.Name, "Version": f.Version, "ResultCode": code, "ResultDescrip": descrip})
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"RequestId": "R", "PushResults": map[string]any{"PushResult": out}})
}

// testSuite is a suite aimed at endpoint, as Run builds it.
func testSuite(t *testing.T, cfg Config) (*suite, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	cfg.AccessKeyID, cfg.AccessKeySecret = "testid", "testsecret"
	cfg.Output = &out
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	s := &suite{cfg: cfg, out: &lockedWriter{w: &out}, main: credential{cfg.AccessKeyID, cfg.AccessKeySecret},
		target: &target{endpoint: cfg.Endpoint, http: cfg.HTTPClient}, pollFirst: time.Millisecond}
	if cfg.ControlURL != "" {
		s.control = &control{base: cfg.ControlURL, http: cfg.HTTPClient}
	}
	files, err := newFileServer("", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = files.Close() })
	s.files = files
	return s, &out
}

func wantNotJudged(t *testing.T, err error, check string, words ...string) {
	t.Helper()
	var nj *NotJudgedError
	if !errors.As(err, &nj) {
		t.Fatalf("error %v (%T), want a *NotJudgedError", err, err)
	}
	if nj.Check != check {
		t.Errorf("check %q, want %q: %s", nj.Check, check, nj.Reason)
	}
	if strings.Contains(nj.Reason, "\n") {
		t.Errorf("the reason is more than one line: %q", nj.Reason)
	}
	for _, w := range words {
		if !strings.Contains(nj.Reason, w) {
			t.Errorf("the reason lacks %q: %s", w, nj.Reason)
		}
	}
}

// closedPort is a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestPreflightDeadTarget(t *testing.T) {
	s, _ := testSuite(t, Config{Endpoint: closedPort(t)})
	_, err := s.preflight(context.Background())
	wantNotJudged(t, err, "target", "does not answer", "refused", "--target")
}

func TestPreflightRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		code   string
		check  string
		words  []string
	}{
		{"unknown key", 404, "InvalidAccessKeyId.NotFound", "credentials", []string{`"testid"`, "--access-key-id"}},
		{"wrong secret", 400, "SignatureDoesNotMatch", "credentials", []string{"wrong AccessKeySecret"}},
		{"RAM denial", 403, "Forbidden.RAM", "credentials", []string{"may not call"}},
		{"expired", 400, "InvalidTimeStamp.Expired", "clock", []string{"15 minutes", "3h0m0s ahead", "NTP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, _ string) {
				w.Header().Set("Date", time.Now().Add(3*time.Hour).UTC().Format(http.TimeFormat))
				ensError(w, tc.status, tc.code)
			})
			s, _ := testSuite(t, Config{Endpoint: ft.URL})
			_, err := s.preflight(context.Background())
			wantNotJudged(t, err, tc.check, tc.words...)
			if n := ft.n.Load(); n != 1 {
				t.Errorf("the target got %d requests, want 1", n)
			}
		})
	}
}

func TestPreflightNotAnENSEndpoint(t *testing.T) {
	ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, _ string) { http.NotFound(w, r) })
	s, _ := testSuite(t, Config{Endpoint: ft.URL})
	_, err := s.preflight(context.Background())
	wantNotJudged(t, err, "target", "HTTP 404", "--target")
}

// ensmockLike answers the API as a healthy target would (pushes succeed,
// fetching each url first when fetch is set) and GET /_ensmock/clock in mode.
func ensmockLike(t *testing.T, mode string, fetch bool) *fakeTarget {
	return newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, action string) {
		switch {
		case r.URL.Path == "/_ensmock/clock":
			if mode == "" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `{"mode":%q,"speed":1,"now":"2025-01-01T00:00:00Z"}`, mode)
		case action == "DescribeDataPushResult":
			describeAnswer(w, "", "", nil)
		case action == "PushApplicationData":
			if fetch {
				var files []dataFile
				_ = json.Unmarshal([]byte(r.Form.Get("Data")), &files)
				c := &http.Client{Timeout: 5 * time.Second}
				for _, f := range files {
					resp, err := c.Get(f.URL)
					if err != nil || resp.StatusCode != 200 {
						pushAnswer(w, r, 300, "data source unreachable")
						return
					}
					resp.Body.Close()
				}
			}
			pushAnswer(w, r, 0, "success")
		default:
			ensError(w, 404, "InvalidAction.NotFound")
		}
	})
}

func TestPreflightManualClockWithoutControl(t *testing.T) {
	ft := ensmockLike(t, "manual", false)
	s, _ := testSuite(t, Config{Endpoint: ft.URL})
	_, err := s.preflight(context.Background())
	wantNotJudged(t, err, "clock", "manual clock", "--control "+ft.URL)
	if n := ft.n.Load(); n != 2 {
		t.Errorf("the target got %d requests, want 2 (a describe, the clock)", n)
	}
	for _, mode := range []string{"real", ""} {
		ft := ensmockLike(t, mode, false)
		s, _ := testSuite(t, Config{Endpoint: ft.URL})
		if _, err := s.preflight(context.Background()); err != nil {
			t.Errorf("clock %q: %v", mode, err)
		}
		if s.probe == nil {
			t.Errorf("clock %q: the probe push is not kept for region discovery", mode)
		}
	}
}

func TestPreflightFilesUnreachable(t *testing.T) {
	// The target downloads each url; the runner tells it one nobody serves.
	ft := ensmockLike(t, "", true)
	var out bytes.Buffer
	cfg := Config{Endpoint: ft.URL, AccessKeyID: "testid", AccessKeySecret: "testsecret", Output: &out,
		FilesURL: closedPort(t), HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	_, err := Run(context.Background(), cfg)
	wantNotJudged(t, err, "files", "could not download", "ResultCode 300", "--files-url")
	if n := ft.n.Load(); n != 3 {
		t.Errorf("the target got %d requests, want 3 (describe, clock, push)", n)
	}
	// The same target with the runner's own URL downloads the probe and passes.
	s, _ := testSuite(t, Config{Endpoint: ft.URL})
	if _, err := s.preflight(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !s.files.Fetched(s.probe.lastFiles[0].URL) {
		t.Error("the probe was not fetched")
	}
}

// fakeControl is a control plane that records the calls it gets.
type fakeControl struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []string // "METHOD path body"
	getClock int      // status of GET /_ensmock/clock (0: 200)
	noReset  bool     // POST /_ensmock/clock/reset answers 404
	speed    float64
}

func newFakeControl(t *testing.T) *fakeControl {
	fc := &fakeControl{speed: 1}
	fc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fc.mu.Lock()
		fc.calls = append(fc.calls, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(b)))
		status, noReset, speed := fc.getClock, fc.noReset, fc.speed
		fc.mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "GET /_ensmock/clock":
			if status != 0 {
				w.WriteHeader(status)
				fmt.Fprint(w, `{"error":"no"}`)
				return
			}
			fmt.Fprintf(w, `{"mode":"manual","speed":%v,"now":"2025-01-01T00:00:00Z"}`, speed)
		case "POST /_ensmock/clock/reset":
			if noReset {
				w.WriteHeader(404)
				fmt.Fprint(w, `{"error":"no control endpoint POST /_ensmock/clock/reset"}`)
				return
			}
			var in struct{ Mode string }
			_ = json.Unmarshal(b, &in)
			fmt.Fprintf(w, `{"mode":%q,"speed":1,"now":%q}`, in.Mode, time.Now().UTC().Format(time.RFC3339))
		case "POST /_ensmock/clock", "POST /_ensmock/clock/advance":
			fmt.Fprint(w, `{"mode":"manual","speed":1,"now":"2025-01-01T00:00:00Z"}`)
		case "POST /_ensmock/faults":
			w.WriteHeader(201)
			fmt.Fprint(w, `{"id":"f1"}`)
		default:
			fmt.Fprint(w, `{}`)
		}
	}))
	t.Cleanup(fc.Close)
	return fc
}

func (fc *fakeControl) called(prefix string) []string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out []string
	for _, c := range fc.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func TestPreflightControlPlane(t *testing.T) {
	ft := ensmockLike(t, "manual", false)
	for status, words := range map[int][]string{
		401: {"HTTP 401", "--control-token"},
		404: {"no ensmock control plane", "--control"},
		500: {"HTTP 500"},
	} {
		fc := newFakeControl(t)
		fc.getClock = status
		s, _ := testSuite(t, Config{Endpoint: ft.URL, ControlURL: fc.URL})
		_, err := s.preflight(context.Background())
		wantNotJudged(t, err, "control", words...)
	}
	s, _ := testSuite(t, Config{Endpoint: ft.URL, ControlURL: closedPort(t)})
	_, err := s.preflight(context.Background())
	wantNotJudged(t, err, "control", "does not answer")

	fc := newFakeControl(t)
	s, _ = testSuite(t, Config{Endpoint: ft.URL, ControlURL: fc.URL})
	found, err := s.preflight(context.Background())
	if err != nil || found == nil || found.Mode != "manual" {
		t.Fatalf("a manual target with a control plane: %+v, %v", found, err)
	}
}

func TestRestoreClock(t *testing.T) {
	fc := newFakeControl(t)
	s, out := testSuite(t, Config{Endpoint: "http://127.0.0.1:1", ControlURL: fc.URL})
	s.restoreClock(clockState{Mode: "manual", Speed: 1})
	if got := fc.called("POST /_ensmock/clock/reset"); len(got) != 1 || got[0] != `POST /_ensmock/clock/reset {"mode":"manual"}` {
		t.Errorf("reset calls: %q", got)
	}
	if got := fc.called("POST /_ensmock/clock "); len(got) != 0 {
		t.Errorf("speed 1 was set again: %q", got)
	}
	if !strings.Contains(out.String(), "back on this machine's time (mode manual)") {
		t.Errorf("output: %s", out.String())
	}

	// A clock found at speed 60 gets its speed back.
	fc = newFakeControl(t)
	s, _ = testSuite(t, Config{Endpoint: "http://127.0.0.1:1", ControlURL: fc.URL})
	s.restoreClock(clockState{Mode: "real", Speed: 60})
	if got := fc.called("POST /_ensmock/clock"); len(got) != 2 || got[0] != `POST /_ensmock/clock/reset {"mode":"real"}` || got[1] != `POST /_ensmock/clock {"mode":"real","speed":60}` {
		t.Errorf("calls: %q", got)
	}

	// An older ensmock: one warning line.
	fc = newFakeControl(t)
	fc.noReset = true
	s, out = testSuite(t, Config{Endpoint: "http://127.0.0.1:1", ControlURL: fc.URL})
	s.restoreClock(clockState{Mode: "manual", Speed: 1})
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "warning") || !strings.Contains(lines[0], "/_ensmock/clock/reset") {
		t.Errorf("the warning: %q", out.String())
	}
}

// TestRunRestoresTheClock: a run with a control plane puts the target's clock
// back when it ends: after a run, and when the run is interrupted.
func TestRunRestoresTheClock(t *testing.T) {
	// interruptAt: the request to the target on which Ctrl-C comes (0: never).
	// The pre-flight makes two (a describe, the probe push).
	for _, interruptAt := range []int64{0, 2, 8} {
		fc := newFakeControl(t)
		ctx, cancel := context.WithCancel(context.Background())
		healthy := ensmockLike(t, "manual", false)
		var n atomic.Int64
		ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, action string) {
			if n.Add(1) == interruptAt {
				cancel()
			}
			healthy.Config.Handler.ServeHTTP(w, r)
		})
		var out bytes.Buffer
		cfg := Config{Endpoint: ft.URL, ControlURL: fc.URL, AccessKeyID: "testid", AccessKeySecret: "testsecret",
			Output: &out, HTTPClient: &http.Client{Timeout: 10 * time.Second}, Features: tinyFeatures, Seed: -1}
		if interruptAt > 2 {
			cfg.Features, cfg.Tags = nil, "@core" // the real scenarios, which the fake target fails
		}
		res, err := Run(ctx, cfg)
		cancel()
		interrupt := interruptAt > 0
		switch {
		case interruptAt == 2:
			wantNotJudged(t, err, "interrupted", "before the first scenario")
		case interrupt:
			wantNotJudged(t, err, "interrupted", "scenarios had finished")
			if len(res.Scenarios) >= 30 {
				t.Errorf("%d scenarios recorded after the interrupt", len(res.Scenarios))
			}
		case err != nil:
			t.Fatalf("%v\n%s", err, out.String())
		}
		if interrupt && n.Load() > interruptAt+5 {
			t.Errorf("interrupt at request %d: the target got %d requests", interruptAt, n.Load())
		}
		if got := fc.called("POST /_ensmock/clock/reset"); len(got) != 1 || got[0] != `POST /_ensmock/clock/reset {"mode":"manual"}` {
			t.Errorf("interrupt %v: reset calls %q\n%s", interrupt, got, out.String())
		}
	}
}

// tinyFeatures is one scenario with a step no suite defines (it fails).
var tinyFeatures = fstest.MapFS{"tiny.feature": {Data: []byte("Feature: tiny\n  Scenario: one\n    Given a step nobody defines\n")}}
