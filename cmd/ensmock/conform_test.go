package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// conformMock starts a mock on a loopback port with a manual clock.
func conformMock(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	opts.Clock = clock.New(clock.Manual, 1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	opts.CheckResponses = true
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func runConform(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"conform"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestConformPassesAgainstTheMock(t *testing.T) {
	srv := conformMock(t, mock.Options{})
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, out, errOut := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@resultcode or @auth",
		"--format", "progress", "--format", "junit:"+junit, "--concurrency", "4", "--seed", "42")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"seed 42", "conformance: PASS", "@resultcode"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &report); err != nil || report.Tests < 10 || report.Failures != 0 {
		t.Errorf("junit report: %+v, %v\n%s", report, err, data)
	}
}

func TestConformFailsAgainstABrokenTarget(t *testing.T) {
	srv := conformMock(t, mock.Options{AuthOff: true})
	code, out, _ := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@auth and @core", "--format", "pretty")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"a request signed with the wrong secret is refused", "--- request ---", "--- response ---", "conformance: FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

func TestConformKnownFailing(t *testing.T) {
	srv := conformMock(t, mock.Options{AuthOff: true})
	list := filepath.Join(t.TempDir(), "known-failing.txt")
	names := "# signatures are not checked\nerrors.feature: a request signed with the wrong secret is refused\n*: a request older than * is refused\n" +
		"errors.feature: a signature nonce cannot be used twice\nan unknown AccessKeyId is refused\n" +
		"errors.feature: a request without any signature parameter is refused\n"
	if err := os.WriteFile(list, []byte(names), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@auth and @core and ~@xml", "--known-failing", list)
	if code != 0 {
		t.Fatalf("exit %d with every failure listed:\n%s", code, out)
	}
	if !strings.Contains(out, "5 known failing") {
		t.Errorf("the summary does not count 5 known failures:\n%s", out)
	}
}

func TestConformReadsTheEnvironment(t *testing.T) {
	srv := conformMock(t, mock.Options{})
	t.Setenv("ENS_ENDPOINT", srv.URL())
	t.Setenv("ENSMOCK_CONTROL_URL", srv.URL())
	t.Setenv("ENS_SIGNING", "v3")
	t.Setenv("ENSMOCK_CONFORM_TAGS", "@strategy and @core")
	t.Setenv("ENSMOCK_CONFORM_FORMAT", "progress")
	code, out, errOut := runConform()
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "@strategy") {
		t.Errorf("no @strategy scenario ran:\n%s", out)
	}
	// The environment's credentials are used: a wrong secret stops the run.
	t.Setenv("ENS_ACCESS_KEY_SECRET", "wrong")
	if code, out, errOut := runConform(); code != 2 || !strings.Contains(errOut, "wrong AccessKeySecret") {
		t.Errorf("exit %d with a wrong secret from the environment:\n%s\n%s", code, out, errOut)
	}
}

func TestConformUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no target":       {},
		"bad flag":        {"--target", "http://127.0.0.1:1", "--no-such-flag"},
		"bad signing":     {"--target", "http://127.0.0.1:1", "--signing", "v2"},
		"bad format":      {"--target", "http://127.0.0.1:1", "--format", "html"},
		"extra argument":  {"--target", "http://127.0.0.1:1", "extra"},
		"no scenario":     {"--target", "http://127.0.0.1:1", "--tags", "@no-such-tag"},
		"bad tags":        {"--target", "http://127.0.0.1:1", "--tags", "(@core)"},
		"no control here": {"--target", "http://127.0.0.1:1", "--control", "http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("ENS_ENDPOINT", "")
			os.Unsetenv("ENS_ENDPOINT")
			if code, out, errOut := runConform(args...); code != 2 {
				t.Errorf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
		})
	}
	t.Setenv("ENSMOCK_CONFORM_SEED", "not-a-number")
	if code, _, errOut := runConform("--target", "http://127.0.0.1:1"); code != 2 || !strings.Contains(errOut, "ENSMOCK_CONFORM_SEED") {
		t.Errorf("a bad seed in the environment: exit %d: %s", code, errOut)
	}
}

// countingMock serves a mock (no listener of its own) on a loopback port
// through a handler that counts the requests it gets.
func countingMock(t *testing.T, opts mock.Options) (*mock.Server, string, *atomic.Int64) {
	t.Helper()
	opts.NoListener = true
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		srv.HTTPHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return srv, ts.URL, &n
}

// TestConformNotJudged: a target the suite cannot judge stops the run before
// any scenario, with exit 2 and one line saying what to do, after a handful
// of requests (no polling).
func TestConformNotJudged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	realClock := func(offset time.Duration) *clock.Clock { return clock.New(clock.Real, 1, time.Now().Add(offset)) }
	for _, tc := range []struct {
		name     string
		opts     *mock.Options // nil: the dead target
		args     []string
		want     []string
		requests int64
	}{
		{"dead target", nil, nil, []string{"does not answer", "connection refused", "--target"}, 0},
		{"wrong credentials", &mock.Options{Clock: realClock(0)}, []string{"--access-key-secret", "wrong"},
			[]string{"SignatureDoesNotMatch", "wrong AccessKeySecret"}, 1},
		{"unknown key", &mock.Options{Clock: realClock(0)}, []string{"--access-key-id", "nobody"},
			[]string{"InvalidAccessKeyId", `"nobody"`}, 1},
		{"skewed clock", &mock.Options{Clock: realClock(-3 * time.Hour), TimestampClock: mock.TimestampMock}, nil,
			[]string{"InvalidTimeStamp.Expired", "15 minutes", "--timestamp-clock wall"}, 1},
		{"manual clock without --control", &mock.Options{Clock: clock.New(clock.Manual, 1, time.Now())}, nil,
			[]string{"manual clock", "--control http://127.0.0.1:"}, 2},
		{"control plane that is not one", &mock.Options{Clock: realClock(0)}, []string{"--control", dead},
			[]string{"control plane", "does not answer", "--control"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, count := dead, &atomic.Int64{}
			if tc.opts != nil {
				_, target, count = countingMock(t, *tc.opts)
			}
			code, out, errOut := runConform(append([]string{"--target", target, "--tags", "@core"}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "ensmock conform: not judged: ") {
				t.Errorf("stderr is not one line saying why:\n%s", errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, errOut)
				}
			}
			if strings.Contains(out, "scenarios") {
				t.Errorf("scenarios ran:\n%s", out)
			}
			if n := count.Load(); n != tc.requests {
				t.Errorf("the target got %d requests, want %d", n, tc.requests)
			}
		})
	}
}

// TestConformFilesURL: --files-url is the address the target downloads the
// data files from; one it cannot reach stops the run (a target in fetch mode).
func TestConformFilesURL(t *testing.T) {
	_, target, count := countingMock(t, mock.Options{Clock: clock.New(clock.Real, 1, time.Now()), Source: mock.SourceFetch})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("ENSMOCK_CONFORM_FILES_URL", dead)
	code, out, errOut := runConform("--target", target, "--tags", "@core", "--files-addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "could not download "+dead) || !strings.Contains(errOut, "--files-url") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if n := count.Load(); n != 3 {
		t.Errorf("the target got %d requests, want 3 (describe, clock, probe push)", n)
	}
}

// TestConformKnownFailingEntries: an entry that names no selected scenario
// stops the run before it starts (a typo, or a scenario that was renamed).
func TestConformKnownFailingEntries(t *testing.T) {
	_, target, count := countingMock(t, mock.Options{Clock: clock.New(clock.Real, 1, time.Now())})
	list := filepath.Join(t.TempDir(), "known-failing.txt")
	for _, entry := range []string{
		"errors.feature: a request signed with the wrong secret is refusd", // typo
		"xml.feature: a request signed with the wrong secret is refused",   // wrong feature
		"errors.feature: an unknown AccessKeyId is refused\nnope*",         // the second matches nothing
	} {
		if err := os.WriteFile(list, []byte("# comment\n"+entry+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runConform("--target", target, "--tags", "@auth and @core", "--known-failing", list)
		if code != 2 || !strings.Contains(errOut, "matches no selected scenario") || !strings.Contains(errOut, "known-failing.txt:") {
			t.Errorf("%q: exit %d\n%s\n%s", entry, code, out, errOut)
		}
	}
	if n := count.Load(); n != 0 {
		t.Errorf("the target got %d requests: the list is checked before any", n)
	}
}

// TestConformRegions: --regions (or ENS_REGIONS) replaces region discovery.
func TestConformRegions(t *testing.T) {
	srv := conformMock(t, mock.Options{})
	var all []string
	for _, r := range engine.DefaultTopology().Regions {
		all = append(all, r.ID)
	}
	t.Setenv("ENS_REGIONS", strings.Join(all, ","))
	if code, out, errOut := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@strategy and @core"); code != 0 {
		t.Fatalf("the mock's own regions: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@strategy and @core", "--regions", "cn-nowhere-1,cn-nowhere-2")
	if code != 1 || !strings.Contains(out, "cn-nowhere-1") {
		t.Fatalf("regions the target does not have: exit %d\n%s", code, out)
	}
}

// TestConformFlagsHaveEnvironment: every flag has an environment variable,
// and -h shows it.
func TestConformFlagsHaveEnvironment(t *testing.T) {
	var (
		cfg     conformance.Config
		formats listFlag
		help    bytes.Buffer
	)
	fs := conformCommand(&cfg, &formats, &help, &help).fs
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		env := conformEnv[f.Name]
		if env == "" {
			t.Errorf("--%s has no environment variable", f.Name)
		}
	})
	if n != len(conformEnv) {
		t.Errorf("%d flags, %d environment variables", n, len(conformEnv))
	}
	code, out, errOut := runConform("-h")
	errOut = out + errOut // -h prints to stdout
	for name, env := range conformEnv {
		if !strings.Contains(errOut, "--"+name+" ["+env+"]") {
			t.Errorf("-h does not show --%s [%s]", name, env)
		}
	}
	if code != 0 || !strings.Contains(errOut, "exit status") {
		t.Errorf("-h: exit %d\n%s", code, errOut)
	}
}

// TestConformLeavesTheClockAsFound: after a --control run, the target's clock
// is back on the wall time in its mode, so a client checked against the
// mock's clock (an SDK call to a mock on --timestamp-clock mock) still works.
func TestConformLeavesTheClockAsFound(t *testing.T) {
	clk := clock.New(clock.Manual, 1, time.Now())
	srv, err := mock.NewServer(mock.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(srv.URL()+"/_ensmock/clock/reset", "application/json", strings.NewReader(`{"mode":"manual"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_ensmock/clock/reset: HTTP %d", resp.StatusCode)
	}
	code, out, errOut := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@resultcode and @core", "--concurrency", "4")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "back on this machine's time (mode manual)") {
		t.Errorf("the output does not say the clock was put back:\n%s", out)
	}
	st := clk.State()
	if st.Mode != clock.Manual || st.Speed != 1 || time.Until(st.Now).Abs() > time.Minute {
		t.Errorf("the clock after the run: %+v (wall %s)", st, time.Now().UTC())
	}
	// The official Go SDK, against a mock that checks timestamps on this clock.
	strict, err := mock.NewServer(mock.Options{Clock: clk, TimestampClock: mock.TimestampMock})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	c, err := ens.NewClientWithAccessKey("cn-hangzhou", "testid", "testsecret")
	if err != nil {
		t.Fatal(err)
	}
	c.SetNoProxy("127.0.0.1")
	defer c.Shutdown()
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = strict.Endpoint(), "http"
	req.AppId = "e76f8985-7965-41fc-925b-9648bb6bf650"
	req.Data = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz","timeout":1000}]`
	if _, err := c.PushApplicationData(req); err != nil {
		t.Errorf("the official SDK after a --control run: %v", err)
	}
}
