package uitest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// brokenResultCode wraps the mock's API: a push answer that names a data file
// whose name starts with one of prefixes claims ResultCode 7 instead of 0.
func brokenResultCode(h http.Handler, prefixes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_ensmock/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for _, p := range prefixes {
			if bytes.Contains(body, []byte(`"Name":"`+p)) {
				body = bytes.ReplaceAll(body, []byte(`"ResultCode":0`), []byte(`"ResultCode":7`))
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// runReport runs the conformance suite (features from fsys, tags) against a
// broken wrapper of an in-process mock and writes an HTML report to file.
func runReport(t testing.TB, features string, tags string, known string, file string, broken ...string) (conformance.Result, string) {
	t.Helper()
	// the manual clock starts at the machine's time: the runner may sign with either
	clk := clock.New(clock.Manual, 1, time.Now().UTC().Truncate(time.Second))
	srv, err := mock.NewServer(mock.Options{NoListener: true, Clock: clk, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	cfg := conformance.Config{
		Endpoint: "http://127.0.0.1", ControlURL: "http://127.0.0.1",
		AccessKeyID: "testid", AccessKeySecret: "testsecret", DeniedKeyID: "denied-id", DeniedKeySecret: "denied-secret",
		Formats: []string{"progress", "html:" + file}, KnownFailing: known, Tags: tags,
		Seed: -1, Concurrency: 1, Output: &out,
		HTTPClient: mock.HandlerClient(brokenResultCode(srv.HTTPHandler(), broken...)),
	}
	if features != "" {
		cfg.Features = os.DirFS(features)
	}
	res, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("conformance.Run: %v\n%s", err, out.String())
	}
	return res, out.String()
}

const scriptScenario = `<script>document.title='pwned'</script> stays text`

func smallReport(t testing.TB) (string, conformance.Result) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.html")
	res, out := runReport(t, "testdata/report", "", "testdata/report/known-failing.txt", file, "app02", "app03")
	if res.Passed || res.Count(conformance.Failed) != 1 || res.Count(conformance.KnownFailing) != 1 || res.Count(conformance.Passed) != 4 {
		t.Fatalf("want 4 passed, 1 failed, 1 known failing; got %d, %d, %d:\n%s", res.Count(conformance.Passed),
			res.Count(conformance.Failed), res.Count(conformance.KnownFailing), out)
	}
	return file, res
}

// TestReportFile checks the report as a file (no browser needed): self-contained,
// hostile names escaped, every scenario and the failing exchange in it.
func TestReportFile(t *testing.T) {
	file, _ := smallReport(t)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, re := range []string{`<script[^>]+src=`, `<link[^>]+href=`, `<img[^>]+src=`, `@import`, `url\(`} {
		if regexp.MustCompile(re).MatchString(page) {
			t.Errorf("the report loads something (%s): it must be self-contained", re)
		}
	}
	if strings.Contains(page, scriptScenario) {
		t.Error("a scenario name is in the page unescaped")
	}
	for _, want := range []string{`&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; stays text`, `a broken answer fails with its exchange`,
		`--- response ---`, `&#34;ResultCode&#34;:7`, `data-status="known-failing"`, `<span class="verdict FAIL" id="verdict">FAIL</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
	if n := strings.Count(page, `<details class="scenario"`); n != 6 {
		t.Errorf("%d scenarios in the report, want 6", n)
	}
}

func TestReportInBrowser(t *testing.T) {
	ctx := browser(t)
	file, _ := smallReport(t)
	do(t, ctx, "opening the report", chromedp.Navigate("file://"+file), chromedp.WaitVisible(css(`#verdict`)))
	totals := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#totals li')].map(li => [li.dataset.count, li.textContent]))`)
	for k, want := range map[string]string{"total": "6 scenarios", "passed": "✓ 4 passed", "failed": "✗ 1 failed", "known-failing": "⚑ 1 known failing", "fixed": "! 0 fixed (listed as failing, passed)"} {
		if totals[k] != want {
			t.Errorf("count %s: %q, want %q", k, totals[k], want)
		}
	}
	if v := eval[string](t, ctx, `document.getElementById('verdict').textContent`); v != "FAIL" {
		t.Errorf("verdict %q", v)
	}
	byTag := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#by-tag tbody tr')].map(tr => [tr.dataset.tag, [...tr.cells].slice(1, 7).map(c => c.textContent).join(' ')]))`)
	if byTag["@push"] != "3 1 1 0 1 0" || byTag["@params"] != "3 3 0 0 0 0" {
		t.Errorf("by tag (scenarios passed failed skipped known fixed): %v", byTag)
	}
	// the failing scenario is open, with the request and the response that broke it
	failing := eval[string](t, ctx, `(() => { const d = document.querySelector('details.scenario[data-status="failed"]');
  return d && d.open && d.querySelector('.sname').textContent + '\n' + [...d.querySelectorAll('pre.error')].map(p => p.textContent).join('\n'); })()`)
	for _, want := range []string{"a broken answer fails with its exchange", "--- request ---", "Action=PushApplicationData", "--- response ---", `"ResultCode":7`} {
		if !strings.Contains(failing, want) {
			t.Errorf("the failing scenario does not show %q:\n%s", want, failing)
		}
	}
	if !strings.Contains(eval[string](t, ctx, `document.querySelector('details.scenario[data-status="known-failing"] .badge').textContent`), "known-failing") {
		t.Error("the known-failing scenario is not marked")
	}
	// filters: by status, then by tag
	do(t, ctx, "hide passed", chromedp.Click(css(`#filters input[value="passed"]`)), poll(`document.getElementById('shown').textContent === '2 of 6 shown'`))
	if vis := eval[int](t, ctx, `[...document.querySelectorAll('details.scenario')].filter(d => d.offsetParent !== null).length`); vis != 2 {
		t.Errorf("%d scenarios visible with passed hidden, want 2", vis)
	}
	eval[chromedp.Void](t, ctx, `(() => { const s = document.getElementById('tag-filter'); s.value = '@params'; s.dispatchEvent(new Event('change')); })()`)
	do(t, ctx, "tag filter", poll(`document.getElementById('shown').textContent === '0 of 6 shown'`))
	// a hostile scenario name is text
	if n := eval[int](t, ctx, `[...document.querySelectorAll('.sname')].filter(s => s.textContent === `+strconv.Quote(scriptScenario)+`).length`); n != 1 {
		t.Errorf("the scenario named with a script tag shows %d times as text, want 1", n)
	}
	if title := eval[string](t, ctx, `document.title`); title != "ensmock conformance report: FAIL" {
		t.Errorf("title %q: a scenario name ran as script", title)
	}
}

// TestReportNotJudged: a run the pre-flight stops still writes its report,
// which says why nothing was judged.
func TestReportNotJudged(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.html")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port that answers nothing: closed at once
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	_, err = conformance.Run(context.Background(), conformance.Config{
		Endpoint: "http://" + dead, AccessKeyID: "testid", AccessKeySecret: "testsecret",
		Formats: []string{"html:" + file}, Features: os.DirFS("testdata/report"), Output: io.Discard,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
	})
	var nj *conformance.NotJudgedError
	if !errors.As(err, &nj) {
		t.Fatalf("Run against a dead target: %v, want a NotJudgedError", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	page := string(data)
	for _, want := range []string{`id="verdict">NOT JUDGED</span>`, "not judged (" + nj.Check + ")", "No scenario ran."} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
