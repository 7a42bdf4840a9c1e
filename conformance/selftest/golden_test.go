package selftest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
)

var update = flag.Bool("update", false, "rewrite the golden files in conformance/testdata")

// normalise removes what changes from run to run (durations, random names)
// or with unrelated edits (the line of a step definition).
var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`time="[0-9.e-]+"`), `time="0"`},
	{regexp.MustCompile(`"duration": \d+`), `"duration": 0`},
	{regexp.MustCompile(`-r[0-9a-v]{10}\b`), `-rXXXXXXXXXX`},
	{regexp.MustCompile(`"location": "([a-z_]+\.go):\d+"`), `"location": "$1:N"`},
}

func normalise(b []byte) []byte {
	for _, n := range normalisers {
		b = n.re.ReplaceAll(b, []byte(n.with))
	}
	return b
}

// TestFormatterGolden checks the junit and cucumber reports of a small fixed
// feature (conformance/testdata/golden) against golden files; -update rewrites them.
func TestFormatterGolden(t *testing.T) {
	dir := t.TempDir()
	junit, cucumber := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "cucumber.json")
	srv := newMock(t, mock.Options{})
	var out bytes.Buffer
	cfg := config(srv.HTTPHandler(), &out)
	cfg.Features = os.DirFS("../testdata/golden")
	cfg.Formats = []string{"junit:" + junit, "cucumber:" + cucumber}
	cfg.Seed, cfg.Concurrency = -1, 1
	res := run(t, cfg)
	if res.Passed || res.Count(conformance.Failed) != 1 || res.Count(conformance.Passed) != 3 {
		t.Fatalf("want 3 passed and 1 failed, got %d and %d:\n%s", res.Count(conformance.Passed), res.Count(conformance.Failed), out.String())
	}
	for _, f := range []struct{ got, golden string }{
		{junit, "../testdata/golden.junit.xml"},
		{cucumber, "../testdata/golden.cucumber.json"},
	} {
		got, err := os.ReadFile(f.got)
		if err != nil {
			t.Fatal(err)
		}
		got = normalise(got)
		if *update {
			if err := os.WriteFile(f.golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(f.golden)
		if err != nil {
			t.Fatalf("%v (run go test ./conformance/selftest -run TestFormatterGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (-update rewrites it):\n%s", f.got, f.golden, got)
		}
	}
}
