package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/store"
	"github.com/ensmock/ensmock/mock/clock"
)

// newDirFx is newFx on a data dir, with a manual clock starting at start.
func newDirFx(t *testing.T, dir string, start time.Time, mod func(*Options)) *fx {
	t.Helper()
	clk := clock.New(clock.Manual, 0, start)
	opts := Options{NoListener: true, AuthOff: true, Clock: clk, Jitter: -1, Seed: 7, TimestampClock: TimestampMock, DataDir: dir}
	if mod != nil {
		mod(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fx{t: t, srv: srv, clk: clk}
}

// stateJSON is GET /_ensmock/state, indented for readable diffs.
func (f *fx) stateJSON() string {
	f.t.Helper()
	r := f.ctl("GET", "/_ensmock/state", "")
	if r.status != 200 {
		f.t.Fatalf("state: %d %s", r.status, r.body)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, r.body, "", " "); err != nil {
		f.t.Fatal(err)
	}
	return buf.String()
}

func rulesOf(t *testing.T, f *fx) string {
	t.Helper()
	var out []string
	for _, s := range f.srv.faults.List() {
		b, _ := json.Marshal(s.Rule)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

// Everything acknowledged before a clean stop is there after a restart: data
// files and replicas (including one that is still PUSHING and will fail),
// registered apps, fault rules and the clock.
func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	f := newDirFx(t, dir, fxStart, nil)
	f.mustCtl(201, "POST", "/_ensmock/apps", `{"account":"testid","appId":"registered-only"}`)
	if code, _ := f.pushCode(file("a", ""), ""); code != 0 {
		t.Fatalf("push a: %d", code)
	}
	f.advance("90s")
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"id":"half","match":{"name":"b"},"effect":"fail_after","params":{"fraction":0.5}}`)
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"match":{"region":"cn-wuxi-5"},"effect":"slow","params":{"factor":3}}`)
	if code, _ := f.pushCode(file("b", ""), ""); code != 0 {
		t.Fatalf("push b: %d", code)
	}
	f.advance("100ms") // b is still PUSHING everywhere, and will fail
	before, rules, clk := f.stateJSON(), rulesOf(t, f), f.srv.Clock().Now()
	if !strings.Contains(before, `"fail": "transfer to`) || !strings.Contains(before, `"status": "PUSHING"`) {
		t.Fatalf("the state lacks a pending failure:\n%s", before)
	}
	f.srv.Close()

	// Another start time and no fault flags: the data dir wins.
	g := newDirFx(t, dir, fxStart.Add(1000*time.Hour), nil)
	defer g.srv.Close()
	if got := g.srv.Clock().Now(); !got.Equal(clk) {
		t.Fatalf("clock after restart %s, want %s", got, clk)
	}
	if after := g.stateJSON(); after != before {
		t.Fatalf("state after restart differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if got := rulesOf(t, g); got != rules {
		t.Fatalf("fault rules after restart:\n%s\nwant\n%s", got, rules)
	}
	// The restored state behaves: b fails when its transfers end, a is pushed.
	g.advance("10m")
	for region, st := range g.regions("b") {
		if st[0] != "FAILED" || !strings.Contains(st[1], "fault half") {
			t.Fatalf("b in %s: %v", region, st)
		}
	}
	if code, _ := g.pushCode(file("a", ""), ""); code != 100 {
		t.Fatalf("a after restart: %d, want 100", code)
	}
	// A reset is durable too.
	g.mustCtl(200, "POST", "/_ensmock/reset?account=testid", "")
	g.srv.Close()
	h := newDirFx(t, dir, fxStart, nil)
	defer h.srv.Close()
	if s := h.stateJSON(); strings.Contains(s, `"account": "testid"`) {
		t.Fatalf("the reset account came back:\n%s", s)
	}
}

// A dump loads back to the same state, through PUT /_ensmock/state, into a
// mock with or without a data dir.
func TestStateRoundTrip(t *testing.T) {
	f := newFx(t, nil)
	f.mustCtl(201, "POST", "/_ensmock/faults", `{"match":{"name":"c"},"effect":"corrupt"}`)
	for _, n := range []string{"a", "b", "c"} {
		if code, _ := f.pushCode(file(n, ""), ""); code != 0 {
			t.Fatalf("push %s: %d", n, code)
		}
		f.advance("1s")
	}
	f.mustCtl(201, "POST", "/_ensmock/apps", `{"account":"default","appId":"empty-app"}`)
	dump := f.stateJSON()

	for _, dir := range []string{"", t.TempDir()} {
		g := newDirFx(t, dir, fxStart.Add(3*time.Second), nil)
		g.mustCtl(200, "PUT", "/_ensmock/state", dump)
		if got := g.stateJSON(); got != dump {
			t.Fatalf("data dir %q: loaded state differs:\n--- dump\n%s\n--- loaded\n%s", dir, dump, got)
		}
		g.srv.Close()
		if dir != "" { // and it is durable
			h := newDirFx(t, dir, fxStart, nil)
			if got := h.stateJSON(); got != dump {
				t.Fatalf("after restart: state differs:\n%s", got)
			}
			h.srv.Close()
		}
	}
}

// A bad state is refused with a clear error and changes nothing.
func TestPutStateBadChangesNothing(t *testing.T) {
	f := newFx(t, nil)
	if code, _ := f.pushCode(file("a", ""), ""); code != 0 {
		t.Fatal(code)
	}
	before := f.stateJSON()
	for body, want := range map[string]string{
		`{"accounts":[{"account":"x","apps":[{"appId":"p","files":[{"name":"f","version":"1","replicas":[{"server":"nope"}]}]}]}]}`: `file server \"nope\" is not in the topology`,
		`{"accounts":[{"account":"x","apps":[{"appId":"p","files":[{"name":"f","version":"1"},{"name":"f","version":"1"}]}]}]}`:     "listed twice",
		`{"accounts":[{"account":"x","bogus":1}]}`: "unknown field",
		`{"accounts":[{"account":"x","apps":[{"appId":"p","files":[{"name":"f","version":"1","replicas":[{"server":"cn-wuxi-5-fs-1","status":"DONE"}]}]}]}]}`: "want SUCCESS, FAILED or PUSHING",
		`[1,2`: "bad state",
	} {
		r := f.ctl("PUT", "/_ensmock/state", body)
		if r.status != 400 || !strings.Contains(string(r.body), want) {
			t.Errorf("PUT %s: %d %s, want 400 with %q", body, r.status, r.body, want)
		}
	}
	if after := f.stateJSON(); after != before {
		t.Fatalf("a refused state changed the mock:\n%s", after)
	}
}

// The example seed loads; on a data dir it applies only when the dir is new.
func TestSeedIntoNewDataDirOnly(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := engine.ParseState(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := newDirFx(t, dir, fxStart, func(o *Options) { o.State = &seed })
	seeded := f.stateJSON()
	if !strings.Contains(seeded, `"status": "SUCCESS"`) || !strings.Contains(seeded, `"status": "FAILED"`) || !strings.Contains(seeded, `"status": "PUSHING"`) {
		t.Fatalf("the example seed should show every status:\n%s", seeded)
	}
	if code, _ := f.pushCode(file("later", ""), ""); code != 0 {
		t.Fatal(code)
	}
	after := f.stateJSON()
	f.srv.Close()
	g := newDirFx(t, dir, fxStart, func(o *Options) { o.State = &seed })
	defer g.srv.Close()
	if got := g.stateJSON(); got != after {
		t.Fatalf("the seed was applied again over a data dir that had a state:\n%s", got)
	}
}

// A data dir another ensmock holds, or of another schema, is refused with ErrState.
func TestDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	f := newDirFx(t, dir, fxStart, nil)
	_, err := NewServer(Options{NoListener: true, DataDir: dir})
	if !errors.Is(err, ErrState) || !errors.Is(err, store.ErrRefused) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second server on a held data dir: %v", err)
	}
	f.srv.Close()
	bad := t.TempDir()
	junk := bytes.Repeat([]byte("not a database "), 2000)
	if err := os.WriteFile(filepath.Join(bad, store.FileName), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(Options{NoListener: true, DataDir: bad})
	if !errors.Is(err, ErrState) {
		t.Fatalf("junk data dir: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(bad, store.FileName)); !bytes.Equal(got, junk) {
		t.Fatal("the refused file was changed")
	}
}
