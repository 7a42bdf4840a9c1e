package uitest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock"
)

// TestScreenshots writes docs/img/live-view.png and docs/img/conformance-report.png
// when ENSMOCK_SCREENSHOTS names the directory (`make screenshots`); otherwise it
// is skipped: it checks nothing the other tests do not.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("ENSMOCK_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ENSMOCK_SCREENSHOTS=DIR (make screenshots) to write the README's screenshots")
	}
	ctx := browser(t)

	// a mock with data files in every status, partial failures, faults and a journal
	srv, clk := newMock(t, mock.Options{})
	const app = "e76f8985-7965-41fc-925b-9648bb6bf650"
	if _, err := srv.AddFaults(faults.Rule{ID: "wuxi-down", Effect: faults.RegionDown, Match: faults.Match{Region: "cn-wuxi-5", Name: "model-*"}, Params: faults.Params{Mode: faults.ModeFail}}); err != nil {
		t.Fatal(err)
	}
	push(t, srv, app, "web-frontend", "api-gateway", "model-weights", "model-tokenizer", "config-bundle")
	push(t, srv, "video-edge-app", "transcoder", "player-assets")
	push(t, srv, "video-edge-app", "bad-thumbnails") // fails below: corrupt
	if _, err := srv.AddFaults(faults.Rule{ID: "corrupt-bad", Effect: faults.Corrupt, Match: faults.Match{Name: "bad-*"}}); err != nil {
		t.Fatal(err)
	}
	push(t, srv, app, "bad-checksum-pkg")
	if err := clk.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	push(t, srv, app, "web-frontend", "release-2025-03", "hotfix-1742")
	if _, err := srv.AddFaults(faults.Rule{ID: "slow-chengdu", Effect: faults.Slow, Match: faults.Match{Region: "cn-chengdu-*"}, Params: faults.Params{Factor: 5}}); err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Get(srv.URL() + "/?Action=PushApplicationData&Version=2017-11-10&Format=JSON&AppId=" + app + "&Data=%5B%5D")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	do(t, ctx, "loading the live view",
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(srv.URL()+"/_ensmock/ui/?account=default&app="+app),
		chromedp.WaitVisible(css(`#live.up`)),
	)
	// open the first journal entry (the refused push) to show its detail
	eval[chromedp.Void](t, ctx, `document.querySelector('#journal details').open = true`)
	eval[chromedp.Void](t, ctx, `[...document.querySelectorAll('#grid tbody tr')].find(tr => tr.cells[0].textContent === 'model-weights').querySelector('td.cell.failed').click()`)
	shot(t, ctx, filepath.Join(dir, "live-view.png"))

	// the report of a real run of the suite against a broken implementation
	file := filepath.Join(t.TempDir(), "report.html")
	runReport(t, "", "@core", "", file, "app02")
	do(t, ctx, "opening the report", chromedp.EmulateViewport(1400, 1500), chromedp.Navigate("file://"+file), chromedp.WaitVisible(css(`#verdict`)))
	// the top of the report, with the passed scenarios filtered out
	do(t, ctx, "hide passed", chromedp.Click(css(`#filters input[value="passed"]`)))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conformance-report.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func shot(t *testing.T, ctx context.Context, file string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", file, len(png))
}
