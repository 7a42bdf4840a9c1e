// Package uitest drives the mock's live view (/_ensmock/ui/) and the HTML
// conformance report in a real browser: Debian's headless Chromium, through
// chromedp. It holds only tests; `make screenshots` also runs them to write
// docs/img/*.png.
//
// The tests skip when no Chromium is installed, unless ENSMOCK_REQUIRE_BROWSER=1
// (set by .ci/run), which turns the skip into a failure.
package uitest
