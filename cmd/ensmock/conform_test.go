package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// conformMock starts a mock on a loopback port with a manual clock.
func conformMock(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	opts.Clock = clock.New(clock.Manual, 1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
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
		"errors.feature: a signature nonce cannot be used twice\nan unknown AccessKeyId is refused\n"
	if err := os.WriteFile(list, []byte(names), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runConform("--target", srv.URL(), "--control", srv.URL(), "--tags", "@auth and @core and ~@xml", "--known-failing", list)
	if code != 0 {
		t.Fatalf("exit %d with every failure listed:\n%s", code, out)
	}
	if !strings.Contains(out, "4 known failing") {
		t.Errorf("the summary does not count 4 known failures:\n%s", out)
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
