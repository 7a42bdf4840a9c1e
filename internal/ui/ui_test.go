package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const hostile = `<script>window.x=1</script>"'&<img src=x onerror=alert(1)>`

// fake is a Source whose every string is hostile.
type fake struct{}

func (fake) Apps() []App       { return []App{{Account: hostile, AppID: hostile, Files: 1}} }
func (fake) Regions() []string { return []string{hostile} }
func (fake) Files(_, _ string, page, size int) ([]File, int, error) {
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return []File{{Name: hostile, Version: hostile, Regions: map[string]Cell{hostile: {Status: StatusFailed, Start: t, Update: t, Reason: hostile}}}}, 1, nil
}
func (fake) LastResultCodes(_, _ string, keys []FileKey) map[FileKey]int {
	return map[FileKey]int{keys[0]: 300}
}
func (fake) Clock() Clock { return Clock{Mode: hostile, Speed: 1} }
func (fake) Faults() []Fault {
	return []Fault{{ID: hostile, Effect: hostile, Match: hostile, Params: hostile, Extra: hostile}}
}
func (fake) Requests(RequestFilter) []Request {
	return []Request{{Action: hostile, Account: hostile, ErrorCode: hostile, Detail: hostile, Warnings: []string{hostile},
		Params: map[string]string{hostile: hostile}, HTTPStatus: 400, ResultCodes: []int{300}}}
}

// TestEscaped: no user-supplied string reaches the page as markup.
func TestEscaped(t *testing.T) {
	h := New(Config{Source: fake{}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/_ensmock/ui/?jaction="+url.QueryEscape(hostile), nil))
	page := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, page)
	}
	for _, bad := range []string{"<script>window", "<img src=x"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	// every place a value is shown: name, region, reason (title), fault, journal, clock, filter value
	if n := strings.Count(page, "&lt;script&gt;window.x=1&lt;/script&gt;"); n < 12 {
		t.Errorf("the hostile string shows escaped %d times, want it in every field", n)
	}
	if !strings.Contains(page, `class="cell failed"`) || !strings.Contains(page, "✗ failed") || !strings.Contains(page, `<td class="code">300</td>`) {
		t.Error("the failed cell lacks its class, text or ResultCode")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}
