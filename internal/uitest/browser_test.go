package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// chromium finds the system's Chromium (ENSMOCK_CHROMIUM overrides the search).
// No browser is ever downloaded. Without one the test skips, or fails when
// ENSMOCK_REQUIRE_BROWSER=1.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ENSMOCK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install Debian's chromium package: apt-get install -y chromium, or set ENSMOCK_CHROMIUM)"
	if os.Getenv("ENSMOCK_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; ENSMOCK_REQUIRE_BROWSER=1 makes this a failure")
	}
	t.Skip(msg + "; browser tests skipped (ENSMOCK_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// browser starts a headless Chromium for one test and returns its context,
// bounded so that a stuck page fails the test instead of hanging it.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	// the first action starts the browser, for the life of bctx (no timeout on it)
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting %s: %v", chromium(t), err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// poll waits until the JavaScript expression is truthy (no sleep: the browser
// re-evaluates it on each animation frame).
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))
}

// do runs steps that return nothing; what failed is in the message.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

var httpClient = &http.Client{Timeout: 10 * time.Second}

// newMock starts a mock on 127.0.0.1 with a manual clock and auth off (so the
// test can push with plain GETs).
func newMock(t testing.TB, opts mock.Options) (*mock.Server, *clock.Clock) {
	t.Helper()
	clk := clock.New(clock.Manual, 1, time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
	opts.Clock, opts.AuthOff, opts.Host = clk, true, "127.0.0.1"
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, clk
}

// push sends PushApplicationData for the named files (version 1.0).
func push(t testing.TB, srv *mock.Server, app string, names ...string) {
	t.Helper()
	var data []map[string]any
	for _, n := range names {
		data = append(data, map[string]any{"name": n, "version": "1.0", "size": 1024, "archiveType": "tar.gz", "md5": "",
			"url": "http://127.0.0.1/files/" + url.PathEscape(n), "timeout": 600})
	}
	d, _ := json.Marshal(data)
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {app}, "Data": {string(d)}}
	resp, err := httpClient.Get(srv.URL() + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("push %v: %d %s", names, resp.StatusCode, body)
	}
}

// gridJS reads the grid as the browser shows it: file name → "class|text" per region.
const gridJS = `Object.fromEntries([...document.querySelectorAll('#grid tbody tr')].map(tr =>
  [tr.cells[0].textContent, [...tr.querySelectorAll('td.cell')].map(td => td.className.replace('cell ', '') + '|' + td.textContent)]))`

// allCells is a JS condition: every cell of the row named name has class cls.
func allCells(name, cls string) string {
	n, _ := json.Marshal(name)
	return fmt.Sprintf(`(() => { const tr = [...document.querySelectorAll('#grid tbody tr')].find(tr => tr.cells[0].textContent === %s);
  return !!tr && [...tr.querySelectorAll('td.cell')].every(td => td.classList.contains(%q)); })()`, n, cls)
}

const (
	scriptName = `<script>document.title='pwned'</script>`
	imgName    = `<img src=x onerror="document.title='pwned'">`
)

// setUpStates leaves files in every status: done.bin SUCCESS, bad-file FAILED
// (a corrupt fault), fresh.bin and two hostile names PUSHING.
func setUpStates(t testing.TB, srv *mock.Server, clk *clock.Clock, app string) {
	t.Helper()
	if _, err := srv.AddFaults(faults.Rule{ID: "corrupt-bad", Effect: faults.Corrupt, Match: faults.Match{Name: "bad-*"}}); err != nil {
		t.Fatal(err)
	}
	push(t, srv, app, "done.bin", "bad-file")
	if err := clk.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	if !srv.RemoveFault("corrupt-bad") {
		t.Fatal("the corrupt rule is gone")
	}
	push(t, srv, app, "fresh.bin", scriptName, imgName)
}

func TestLiveView(t *testing.T) {
	ctx := browser(t)
	srv, clk := newMock(t, mock.Options{})
	const app = "app-live"
	setUpStates(t, srv, clk, app)

	do(t, ctx, "loading the live view",
		chromedp.Navigate(srv.URL()+"/_ensmock/ui/"),
		chromedp.WaitVisible(css(`#live.up`)), // the script polled every endpoint
	)
	grid := eval[map[string][]string](t, ctx, gridJS)
	want := map[string]string{"done.bin": "success|✓ success", "bad-file": "failed|✗ failed", "fresh.bin": "pushing|⟳ pushing",
		scriptName: "pushing|⟳ pushing", imgName: "pushing|⟳ pushing"}
	for name, cell := range want {
		cells, ok := grid[name]
		if !ok || len(cells) != 8 {
			t.Fatalf("row %q: got %v (grid %v)", name, cells, grid)
		}
		for _, c := range cells {
			if c != cell {
				t.Errorf("row %q: cell %q, want %q", name, c, cell)
			}
		}
	}
	if title := eval[string](t, ctx, `document.title`); title != "ensmock live view" {
		t.Errorf("title %q: a file name ran as script", title)
	}

	// the reason of a failed cell, on hover (title) and on click
	const badCell = `[...document.querySelectorAll('#grid tbody tr')].find(tr => tr.cells[0].textContent === 'bad-file').querySelector('td.cell')`
	hover := eval[string](t, ctx, badCell+`.title`)
	eval[chromedp.Void](t, ctx, badCell+`.click()`)
	do(t, ctx, "the cell's detail", chromedp.WaitVisible(css(`#cell-detail`)))
	reason := eval[string](t, ctx, `document.getElementById('detail-reason').textContent`)
	if !strings.Contains(strings.ToLower(hover), "md5") || !strings.Contains(strings.ToLower(reason), "md5") {
		t.Errorf("failed cell: title %q, detail %q: want the md5 reason", hover, reason)
	}

	// the ResultCode each push answered, from the journal
	codes := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#grid tbody tr')].map(tr => [tr.cells[0].textContent, tr.cells[2].textContent]))`)
	if codes["fresh.bin"] != "0" || codes["done.bin"] != "0" {
		t.Errorf("last ResultCode column: %v", codes)
	}

	// advance 1 min from the page: the pushing cells turn to success by themselves
	do(t, ctx, "advance 1 min",
		chromedp.Click(css(`#advance-1m`)),
		poll(allCells("fresh.bin", "success")),
		poll(allCells(scriptName, "success")),
		poll(`document.getElementById('clock-now').textContent === '2025-03-01T08:02:00Z'`),
	)
	if got := clk.Now(); !got.Equal(time.Date(2025, 3, 1, 8, 2, 0, 0, time.UTC)) {
		t.Errorf("the mock's clock is %v after one click", got)
	}

	// a push made elsewhere shows up without a reload
	push(t, srv, app, "later.bin")
	do(t, ctx, "a new push shows", poll(allCells("later.bin", "pushing")))

	// add a fault from the form (a hostile glob stays text), then delete it
	const glob = `<b>x</b>*`
	do(t, ctx, "adding a fault from the form",
		chromedp.SetValue(css(`#fault-effect`), "slow"),
		chromedp.SendKeys(css(`#fault-name`), glob),
		chromedp.SendKeys(css(`#fault-params`), `{"factor":5}`),
		chromedp.Click(css(`#fault-add`)),
		poll(`[...document.querySelectorAll('#faults tbody tr')].some(tr => tr.cells[1] && tr.cells[1].textContent === 'slow' && tr.cells[2].textContent.includes('<b>x</b>*'))`),
	)
	list := srv.FaultRules()
	if len(list) != 1 || list[0].Effect != faults.Slow || list[0].Match.Name != glob || list[0].Params.Factor != 5 {
		t.Fatalf("the mock's faults after the form: %+v", list)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#faults b').length`); n != 0 {
		t.Fatalf("the glob became markup (%d <b> elements)", n)
	}
	do(t, ctx, "deleting the fault",
		chromedp.Click(css(fmt.Sprintf(`#faults button[data-delete=%q]`, list[0].ID))),
		poll(`document.querySelector('#faults tbody tr.empty') !== null`),
	)
	if n := len(srv.FaultRules()); n != 0 {
		t.Fatalf("%d faults left after delete", n)
	}

	// the journal filter applies at once
	if n := eval[int](t, ctx, `document.querySelectorAll('#journal li.ok').length`); n == 0 {
		t.Fatal("the journal shows no request")
	}
	do(t, ctx, "journal filter",
		chromedp.SendKeys(css(`#filter-code`), "NoSuchCode"),
		poll(`document.querySelector('#journal li.empty') !== null`),
	)

	if title := eval[string](t, ctx, `document.title`); title != "ensmock live view" {
		t.Errorf("title %q: a hostile string ran as script", title)
	}
}

// TestLiveViewToken: with a control token the page wants it, and its script
// passes it on to the JSON endpoints.
func TestLiveViewToken(t *testing.T) {
	ctx := browser(t)
	srv, clk := newMock(t, mock.Options{ControlToken: "s3cret"})
	setUpStates(t, srv, clk, "app-token")
	resp, err := httpClient.Get(srv.URL() + "/_ensmock/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", resp.StatusCode)
	}
	do(t, ctx, "the live view with a token",
		chromedp.Navigate(srv.URL()+"/_ensmock/ui/?token=s3cret"),
		chromedp.WaitVisible(css(`#live.up`)),
		chromedp.Click(css(`#advance-1m`)),
		poll(allCells("fresh.bin", "success")),
	)
}

// TestLiveViewManyFiles: an app with 10,000 data files is paged, the page
// loads and keeps updating, and the pager moves through it.
func TestLiveViewManyFiles(t *testing.T) {
	ctx := browser(t)
	srv, clk := newMock(t, mock.Options{})
	files := make([]engine.DataFile, 0, 1000)
	for i := range 10_000 {
		files = append(files, engine.DataFile{Name: fmt.Sprintf("file-%05d", i), Version: "1.0", Size: 1 << 20, ArchiveType: "tar.gz"})
		if len(files) == cap(files) {
			if _, err := srv.Engine().Push(context.Background(), mock.DefaultAccount, "big-app", files, nil); err != nil {
				t.Fatal(err)
			}
			files = files[:0]
		}
	}
	do(t, ctx, "loading 10,000 files",
		chromedp.Navigate(srv.URL()+"/_ensmock/ui/?account=default&app=big-app"),
		chromedp.WaitVisible(css(`#live.up`)),
		poll(`document.getElementById('grid-caption').textContent === 'default / big-app: files 1–100 of 10000'`),
		poll(`document.querySelectorAll('#grid tbody tr').length === 100`),
	)
	// the pager is a plain link: click it and wait for the next page to load
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(css(`#pager a[rel=next]`)))); err != nil {
		t.Fatalf("next page: %v", err)
	}
	do(t, ctx, "page 2",
		chromedp.WaitVisible(css(`#live.up`)),
		poll(`location.search.includes('page=2')`),
		poll(`document.getElementById('grid-caption').textContent === 'default / big-app: files 101–200 of 10000'`),
		poll(allCells("file-00100", "pushing")),
	)
	if err := clk.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "the page follows the clock", poll(allCells("file-00100", "success")), poll(allCells("file-00199", "success")))
}
