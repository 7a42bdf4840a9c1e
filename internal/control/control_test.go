package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
)

func newHandler(t *testing.T, cfg engine.Config) (*Handler, *engine.Engine) {
	t.Helper()
	clk := clock.New(clock.Manual, 0, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	eng, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Engine: eng, Clock: clk, Faults: faults.NewSet(1, clk.Now), Journal: NewJournal(0),
		ResolveKey:   func(k string) (string, bool) { return k, k != "" },
		KnownAccount: func(a string) bool { return a == "a" || a == "b" }})
	return h, eng
}

// firstWrite records how many pages of data files the dump had read from the
// engine when the first byte went to the client.
type firstWrite struct {
	*httptest.ResponseRecorder
	pages, atFirst int
	writes         int
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.writes == 0 {
		w.atFirst = w.pages
	}
	w.writes++
	return w.ResponseRecorder.Write(p)
}

// GET /_ensmock/state is streamed: the first bytes reach the client before
// the data files have all been read, and the answer is the engine's Snapshot.
func TestStateIsStreamed(t *testing.T) {
	h, eng := newHandler(t, engine.Config{Topology: engine.Topology{Regions: []engine.Region{{ID: "r1", Servers: []string{"s1", "s2"}}}}})
	const files = 1000
	for acct := range 2 {
		for i := 0; i < files/2; i += 100 {
			var batch []engine.DataFile
			for k := range 100 {
				batch = append(batch, engine.DataFile{Name: fmt.Sprintf("f%d", i+k), Version: "1", Size: 1})
			}
			if _, err := eng.Push(context.Background(), fmt.Sprint("acct", acct), "app", batch, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func(p int) { statePage, statePageRead = p, nil }(statePage)
	statePage = 50
	w := &firstWrite{ResponseRecorder: httptest.NewRecorder()}
	statePageRead = func() { w.pages++ }
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1/_ensmock/state", nil))
	if w.Code != 200 || w.writes < 2 || w.atFirst >= w.pages {
		t.Fatalf("status %d, %d writes; first write after %d of %d pages", w.Code, w.writes, w.atFirst, w.pages)
	}
	var got engine.State
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("the streamed dump is not JSON: %v", err)
	}
	if want := eng.Snapshot(""); !reflect.DeepEqual(got, want) {
		t.Fatalf("the streamed dump differs from Snapshot (%d accounts vs %d)", len(got.Accounts), len(want.Accounts))
	}
	// One account, and an account with nothing.
	for q, n := range map[string]int{"?account=acct1": 1, "?account=nobody": 0} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/_ensmock/state"+q, nil))
		var st engine.State
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || len(st.Accounts) != n || st.Accounts == nil {
			t.Fatalf("%s: %v, %d accounts", q, err, len(st.Accounts))
		}
	}
}

// Registering apps stops at the engine's cap with a clear 400, and only for
// known accounts.
func TestAppCaps(t *testing.T) {
	h, _ := newHandler(t, engine.Config{MaxAppsPerAccount: 2})
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://127.0.0.1/_ensmock/apps", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for i, want := range []int{201, 201, 201, 400} {
		app := fmt.Sprint("app", min(i, 2))
		if i == 2 {
			app = "app1" // registering again is fine
		}
		if rec := post(`{"account":"a","appId":"` + app + `"}`); rec.Code != want {
			t.Fatalf("app %d: %d %s", i, rec.Code, rec.Body)
		} else if want == 400 && !strings.Contains(rec.Body.String(), "maximum") {
			t.Fatalf("cap message: %s", rec.Body)
		}
	}
	if rec := post(`{"account":"b","appId":"x"}`); rec.Code != 201 {
		t.Fatalf("another account has its own cap: %d %s", rec.Code, rec.Body)
	}
	if rec := post(`{"account":"c","appId":"x"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "unknown account") {
		t.Fatalf("unknown account: %d %s", rec.Code, rec.Body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/_ensmock/apps", nil))
	if !strings.Contains(rec.Body.String(), `{"account":"a","appId":"app0"},{"account":"a","appId":"app1"},{"account":"b","appId":"x"}`) {
		t.Fatalf("apps: %s", rec.Body)
	}
}

// The Content-Type guard answers 415 only on routes that exist with that
// method: a wrong method is still 405, an unknown path 404.
func TestGuardOrder(t *testing.T) {
	h, _ := newHandler(t, engine.Config{})
	for _, c := range []struct {
		method, path string
		want         int
	}{{"PUT", "/_ensmock/clock", 405}, {"POST", "/_ensmock/nope", 404}, {"POST", "/_ensmock/clock/reset", 415}, {"GET", "/_ensmock/topology", 200}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, "http://127.0.0.1"+c.path, nil))
		if rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.want)
		}
	}
}

// POST /_ensmock/clock/reset tells the ClockRewound hook where the clock was
// and where it went, so the engine can keep finished replicas finished.
func TestClockResetCallsHook(t *testing.T) {
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewWithWall(clock.Manual, 0, wall, func() time.Time { return wall })
	if err := clk.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var from, to time.Time
	h := New(Config{Engine: eng, Clock: clk, Faults: faults.NewSet(1, nil), Journal: NewJournal(0),
		ClockRewound: func(f, t time.Time) { from, to = f, t }})
	r := httptest.NewRequest("POST", "http://127.0.0.1/_ensmock/clock/reset", strings.NewReader(`{"mode":"real"}`))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || !from.Equal(wall.Add(2*time.Hour)) || !to.Equal(wall) {
		t.Fatalf("%d %s: hook saw %s → %s", rec.Code, rec.Body, from, to)
	}
	var st clock.State
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Mode != clock.Real || st.Speed != 1 || !st.Now.Equal(wall) {
		t.Fatalf("answer %s (%v)", rec.Body, err)
	}
}
