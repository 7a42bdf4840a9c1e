package selftest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
)

// TestSuiteAgainstMock runs the whole suite, in random order with four
// scenarios at a time, against the mock, signing with V1 and with V3: every
// scenario but @strict against the default mock, @strict against a strict one.
func TestSuiteAgainstMock(t *testing.T) {
	for _, signing := range []string{"v1", "v3"} {
		t.Run(signing, func(t *testing.T) {
			t.Parallel()
			srv := newMock(t, mock.Options{})
			var out bytes.Buffer
			cfg := config(srv.HTTPHandler(), &out)
			cfg.Signing = signing
			cfg.Tags = "~@strict"
			res := run(t, cfg)
			if !res.Passed {
				t.Fatalf("the suite fails against the mock:\n%s", out.String())
			}
			if n := res.Count(conformance.Passed); n < 80 {
				t.Errorf("only %d scenarios passed; the suite has more", n)
			}
			for _, tag := range []string{"@core", "@extended", "@control", "@auth", "@xml", "@download", "@validation", "@resultcode", "@strategy", "@parameters"} {
				if res.ByTag[tag].Passed == 0 {
					t.Errorf("no %s scenario ran", tag)
				}
			}
			if !strings.Contains(out.String(), fmt.Sprintf("seed %d", res.Seed)) {
				t.Errorf("the seed %d is not printed:\n%s", res.Seed, out.String())
			}
			t.Logf("%d scenarios passed (seed %d)", res.Count(conformance.Passed), res.Seed)
		})
		t.Run(signing+"/strict", func(t *testing.T) {
			t.Parallel()
			srv := newMock(t, mock.Options{Strict: true})
			var out bytes.Buffer
			cfg := config(srv.HTTPHandler(), &out)
			cfg.Signing = signing
			cfg.Tags = "@strict"
			res := run(t, cfg)
			if !res.Passed {
				t.Fatalf("the @strict scenarios fail against a strict mock:\n%s", out.String())
			}
			if n := res.Count(conformance.Passed); n < 8 {
				t.Errorf("only %d @strict scenarios passed", n)
			}
		})
	}
}

// TestSuiteIsStable runs the suite 20 times with different random orders
// (each against a fresh mock): a scenario that depends on another's state or
// on timing would fail in one of them.
func TestSuiteIsStable(t *testing.T) {
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			srv := newMock(t, mock.Options{Seed: uint64(i)})
			var out bytes.Buffer
			cfg := config(srv.HTTPHandler(), &out)
			cfg.Seed = int64(1000 + i*7919)
			cfg.Tags = "~@strict"
			if i%2 == 1 {
				cfg.Signing = "v3"
			}
			if res := run(t, cfg); !res.Passed {
				t.Fatalf("run %d (seed %d) failed:\n%s", i, cfg.Seed, out.String())
			}
		})
	}
}

// TestSuiteOverTheNetwork runs a slice of the suite over a loopback listener,
// with the mock's own HTTP server (the default client, not an in-process one).
func TestSuiteOverTheNetwork(t *testing.T) {
	srv, err := mock.NewServer(mock.Options{Clock: newMock(t, mock.Options{}).Clock()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var out bytes.Buffer
	cfg := config(srv.HTTPHandler(), &out)
	cfg.Endpoint, cfg.ControlURL, cfg.HTTPClient = srv.URL(), srv.URL(), nil
	cfg.Tags = "@resultcode or @auth"
	if res := run(t, cfg); !res.Passed {
		t.Fatalf("failed over the network:\n%s", out.String())
	}
}

// TestKnownFailing: a listed scenario that fails is tolerated; one that
// passes fails the run.
func TestKnownFailing(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "known-failing.txt")
	caught := "Timeout is accepted and has no effect"
	passing := "a fresh push answers ResultCode 0"
	for _, tc := range []struct {
		name    string
		content string
		passed  bool
		outcome map[string]conformance.Outcome
	}{
		{"failure tolerated", "# Timeout is honoured\n\n" + caught + "\n", true,
			map[string]conformance.Outcome{caught: conformance.KnownFailing, passing: conformance.Passed}},
		{"fixed entry fails the run", caught + "\n" + passing + "\n", false,
			map[string]conformance.Outcome{caught: conformance.KnownFailing, passing: conformance.Fixed}},
		{"unlisted failure fails the run", "", false,
			map[string]conformance.Outcome{caught: conformance.Failed, passing: conformance.Passed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(list, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			cfg := config(brokenHandler(t, "Timeout honoured"), &out)
			cfg.KnownFailing = list
			cfg.Tags = "@validation && @core or @resultcode and @core"
			res := run(t, cfg)
			if res.Passed != tc.passed {
				t.Errorf("Passed = %v, want %v:\n%s", res.Passed, tc.passed, out.String())
			}
			got := map[string]conformance.Outcome{}
			for _, s := range res.Scenarios {
				got[s.Name] = s.Outcome
			}
			for name, want := range tc.outcome {
				if got[name] != want {
					t.Errorf("%q: outcome %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

// brokenHandler is the mock broken as the named broken implementation.
func brokenHandler(t *testing.T, name string) http.Handler {
	for _, bc := range brokenImplementations() {
		if bc.name != name {
			continue
		}
		var opts mock.Options
		if bc.opts != nil {
			bc.opts(t, &opts)
		}
		h := newMock(t, opts).HTTPHandler()
		if bc.wrap != nil {
			h = bc.wrap(h)
		}
		return h
	}
	t.Fatalf("no broken implementation %q", name)
	return nil
}
