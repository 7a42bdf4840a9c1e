package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run `ensmock serve` itself (both listeners, its signal
// handling) and signal the test process, which serve has subscribed to.
// An injected latency holds a request in flight; the waits that matter are
// on events (the fault applied, the listener closed), and the only real
// durations are the latency that must outlast the shutdown and --grace.

// served is a running `ensmock serve`.
type served struct {
	t            *testing.T
	api, control string
	done         chan int
	mu           sync.Mutex
	log          strings.Builder
}

func startServe(t *testing.T, latency string, args ...string) *served {
	t.Helper()
	scenario := writeFile(t, "scenario.yaml", "faults:\n  - id: hold\n    match: {action: DescribeDataPushResult}\n    effect: latency\n    latency: "+latency+"\n")
	pr, pw := io.Pipe()
	s := &served{t: t, done: make(chan int, 1)}
	listening := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "ensmock listening" {
				listening <- m
			}
		}
	}()
	go func() {
		code := run(append([]string{"serve", "--addr", "127.0.0.1:0", "--control-addr", "127.0.0.1:0", "--auth", "off", "--scenario", scenario}, args...), io.Discard, pw)
		pw.Close()
		s.done <- code
	}()
	select {
	case m := <-listening:
		s.api, s.control = m["url"].(string), strings.TrimSuffix(m["control"].(string), "/_ensmock/")
	case code := <-s.done:
		t.Fatalf("serve exited %d before listening", code)
	}
	return s
}

func (s *served) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var client = &http.Client{Timeout: 30 * time.Second}

// inFlight starts a request the latency fault holds, and returns once the
// fault has been applied (the request is inside the handler).
func (s *served) inFlight() chan error {
	s.t.Helper()
	res := make(chan error, 1)
	go func() {
		q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AccessKeyId": {"testid"}, "AppId": {"a"}}
		resp, err := client.Get(s.api + "/?" + q.Encode())
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = &statusError{resp.StatusCode}
			}
		}
		res <- err
	}()
	for i := 0; ; i++ {
		resp, err := client.Get(s.control + "/_ensmock/faults")
		if err != nil {
			s.t.Fatal(err)
		}
		var list struct{ Faults []struct{ Applied int } }
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if len(list.Faults) == 1 && list.Faults[0].Applied == 1 {
			return res
		}
		select {
		case err := <-res:
			s.t.Fatalf("the request ended (%v) before its latency fault held it", err)
		default:
		}
		if i > 100_000 {
			s.t.Fatal("the latency fault never applied to the request")
		}
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// closed waits until base refuses connections (shutdown has begun).
func closed(t *testing.T, base string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if i > 1_000_000 {
			t.Fatalf("%s still accepts connections", base)
		}
	}
}

func signalSelf(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func (s *served) exit() int {
	s.t.Helper()
	select {
	case code := <-s.done:
		return code
	case <-time.After(20 * time.Second):
		s.t.Fatalf("serve did not exit\n%s", s.logText())
		return -1
	}
}

// TestGracefulShutdownOfBothListeners: on SIGTERM both listeners stop
// accepting, the request in flight is answered, and serve exits 0.
func TestGracefulShutdownOfBothListeners(t *testing.T) {
	s := startServe(t, "300ms")
	res := s.inFlight()
	signalSelf(t)
	closed(t, s.api)
	closed(t, s.control)
	if err := <-res; err != nil {
		t.Fatalf("the request in flight was not answered: %v", err)
	}
	if code := s.exit(); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logText())
	}
	if !strings.Contains(s.logText(), `"msg":"ensmock stopped"`) {
		t.Errorf("no stop line:\n%s", s.logText())
	}
}

// TestSecondSignalStopsAtOnce: a second SIGTERM during the grace period cuts
// the request in flight and exits at once.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	s := startServe(t, "10m", "--grace", "10m")
	res := s.inFlight()
	signalSelf(t)
	closed(t, s.api)
	signalSelf(t)
	if code := s.exit(); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logText())
	}
	if err := <-res; err == nil {
		t.Error("the request held 10 minutes was answered")
	}
	if !strings.Contains(s.logText(), "second signal") {
		t.Errorf("no line about the second signal:\n%s", s.logText())
	}
}

// TestGraceTimeoutExitsZero: when the grace period ends with a request in
// flight, serve cuts it, says so, and exits 0.
func TestGraceTimeoutExitsZero(t *testing.T) {
	s := startServe(t, "10m", "--grace", "50ms")
	res := s.inFlight()
	signalSelf(t)
	if code := s.exit(); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logText())
	}
	if err := <-res; err == nil {
		t.Error("the request held 10 minutes was answered")
	}
	if log := s.logText(); !strings.Contains(log, "the grace period ended with requests in flight") || strings.Contains(log, "context deadline exceeded") {
		t.Errorf("log:\n%s", log)
	}
}

// TestConfigErrorsExit2BeforeListening: a configuration the mock refuses and
// an address in use exit 2.
func TestConfigErrorsExit2BeforeListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--topology", writeFile(t, "t.yaml", "regions: []\n")}, "topology"},
		{[]string{"--addr", ln.Addr().String()}, "--addr"},
		{[]string{"--addr", "127.0.0.1:0", "--control-addr", ln.Addr().String()}, "--control-addr"},
	} {
		code, _, errOut := runCLI(append([]string{"serve"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q", c.args, code, errOut)
		}
	}
}

// TestStartLineSaysWhereAndWho: the start line names the API URL, the
// control plane URL and the credentials.
func TestStartLineSaysWhereAndWho(t *testing.T) {
	s := startServe(t, "1ms")
	signalSelf(t)
	s.exit()
	log := s.logText()
	for _, want := range []string{`"url":"http://127.0.0.1:`, `"control":"http://127.0.0.1:`, "testid/testsecret"} {
		if !strings.Contains(log, want) {
			t.Errorf("the start line lacks %s:\n%s", want, log)
		}
	}
}
