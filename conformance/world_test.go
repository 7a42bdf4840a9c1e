package conformance

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWaitStopsAtAnAnswerThatCannotChange: a 4xx ends the wait at once, with
// that answer in the error.
func TestWaitStopsAtAnAnswerThatCannotChange(t *testing.T) {
	ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		ensError(w, 400, "InvalidParameter.AppId")
	})
	s, _ := testSuite(t, Config{Endpoint: ft.URL})
	w := s.newWorld(context.Background())
	err := w.waitFor("app01", "1.0", "SUCCESS", func(map[string]string) (bool, error) { return true, nil })
	if err == nil {
		t.Fatal("the wait succeeded")
	}
	for _, want := range []string{"HTTP 400 InvalidParameter.AppId", "waiting does not change", "--- response ---"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if n := ft.n.Load(); n != 1 {
		t.Errorf("the target got %d requests, want 1", n)
	}
}

// TestWaitStopsAtARefusedConnection: a target that went away does not come back by waiting.
func TestWaitStopsAtARefusedConnection(t *testing.T) {
	s, _ := testSuite(t, Config{Endpoint: closedPort(t), PollTimeout: time.Hour})
	w := s.newWorld(context.Background())
	err := w.waitFor("app01", "1.0", "SUCCESS", func(map[string]string) (bool, error) { return true, nil })
	if err == nil || !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "waiting does not change") {
		t.Fatalf("%v", err)
	}
}

// TestWaitTimeoutSaysWhatItSaw: the timeout names the last answer, never "<nil>".
func TestWaitTimeoutSaysWhatItSaw(t *testing.T) {
	var w *world
	ft := newFakeTarget(t, func(rw http.ResponseWriter, r *http.Request, _ string) {
		describeAnswer(rw, w.name("app01"), "1.0", map[string]string{"cn-a": "PUSHING", "cn-b": "SUCCESS"})
	})
	s, _ := testSuite(t, Config{Endpoint: ft.URL, PollTimeout: time.Nanosecond})
	w = s.newWorld(context.Background())
	err := w.waitFor("app01", "1.0", "SUCCESS on every file server", func(r map[string]string) (bool, error) {
		return r["cn-a"] == "SUCCESS", nil
	})
	if err == nil {
		t.Fatal("the wait succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"still not SUCCESS on every file server", "the last answer: 1 PUSHING (cn-a), 1 SUCCESS (cn-b)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "<nil>") {
		t.Errorf("the error says <nil>:\n%s", msg)
	}

	// A file described nowhere says so.
	ft = newFakeTarget(t, func(rw http.ResponseWriter, r *http.Request, _ string) { describeAnswer(rw, "", "", nil) })
	s, _ = testSuite(t, Config{Endpoint: ft.URL, PollTimeout: time.Nanosecond})
	w = s.newWorld(context.Background())
	err = w.waitFor("app01", "1.0", "SUCCESS", func(map[string]string) (bool, error) { return true, nil })
	if err == nil || !strings.Contains(err.Error(), "described in no region") {
		t.Errorf("%v", err)
	}
}

// TestWaitPrintsProgress: on each tick of the progress ticker the wait says
// what it waits for and the last answer. The ticks come from the test.
func TestWaitPrintsProgress(t *testing.T) {
	var (
		mu    sync.Mutex
		ready bool
		w     *world
	)
	ft := newFakeTarget(t, func(rw http.ResponseWriter, r *http.Request, _ string) {
		mu.Lock()
		st := "PUSHING"
		if ready {
			st = "SUCCESS"
		}
		mu.Unlock()
		describeAnswer(rw, w.name("app01"), "1.0", map[string]string{"cn-a": st})
	})
	s, _ := testSuite(t, Config{Endpoint: ft.URL, PollTimeout: time.Hour})
	lines := make(chan string, 10)
	s.out = writerFunc(func(p []byte) (int, error) {
		lines <- string(p)
		return len(p), nil
	})
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	s.ticker = func() (<-chan time.Time, func()) { return ticks, func() { close(stopped) } }
	w = s.newWorld(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.waitFor("app01", "1.0", "SUCCESS on every file server", func(r map[string]string) (bool, error) {
			return r["cn-a"] == "SUCCESS", nil
		})
	}()
	// Wait until the target has answered PUSHING at least once, then tick.
	for ft.n.Load() < 2 {
		ticks <- time.Now() // a tick before the first answer prints "none yet" or the answer
		line := <-lines
		if !strings.Contains(line, "conformance: waiting") || !strings.Contains(line, w.name("app01")+" version 1.0 to be SUCCESS on every file server") {
			t.Fatalf("progress line: %q", line)
		}
	}
	ticks <- time.Now()
	if line := <-lines; !strings.Contains(line, "last answer: 1 PUSHING") {
		t.Errorf("progress line: %q", line)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-stopped // the ticker is stopped when the wait ends
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRegionsGiven: with Config.Regions the suite asks the target nothing.
func TestRegionsGiven(t *testing.T) {
	ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, _ string) { ensError(w, 500, "x") })
	s, _ := testSuite(t, Config{Endpoint: ft.URL, Regions: []string{"cn-b, cn-a", "cn-b"}})
	got, err := s.knownRegions(context.Background())
	if err != nil || strings.Join(got, " ") != "cn-b cn-a" {
		t.Errorf("%q, %v", got, err)
	}
	if n := ft.n.Load(); n != 0 {
		t.Errorf("the target got %d requests", n)
	}
}

// TestRegionsDiscoveredFromTheProbe: region discovery reuses the pre-flight's
// probe push rather than pushing again.
func TestRegionsDiscoveredFromTheProbe(t *testing.T) {
	var pushes int
	var mu sync.Mutex
	var s *suite
	ft := newFakeTarget(t, func(w http.ResponseWriter, r *http.Request, action string) {
		switch action {
		case "PushApplicationData":
			mu.Lock()
			pushes++
			mu.Unlock()
			pushAnswer(w, r, 0, "success")
		case "DescribeDataPushResult":
			if names := r.Form.Get("DataNames"); names != "" {
				describeAnswer(w, names, "1.0", map[string]string{"cn-x": "PUSHING", "cn-y": "SUCCESS"})
				return
			}
			describeAnswer(w, "", "", nil)
		default:
			http.NotFound(w, r)
		}
	})
	s, _ = testSuite(t, Config{Endpoint: ft.URL})
	if _, err := s.preflight(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := s.knownRegions(context.Background())
	if err != nil || strings.Join(got, " ") != "cn-x cn-y" {
		t.Errorf("%q, %v", got, err)
	}
	if pushes != 1 {
		t.Errorf("%d pushes, want 1 (the probe)", pushes)
	}
}

// TestProgressLinesStartOnANewLine: a progress line after godog's progress
// dots starts on a line of its own.
func TestProgressLinesStartOnANewLine(t *testing.T) {
	var b strings.Builder
	l := &lockedWriter{w: &b}
	l.line("a")
	_, _ = l.Write([]byte("..."))
	l.line("b")
	_, _ = l.Write([]byte("x\n"))
	l.line("c")
	if got := b.String(); got != "a\n...\nb\nx\nc\n" {
		t.Errorf("%q", got)
	}
}
