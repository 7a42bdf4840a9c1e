package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePersister records what the engine hands it and checks that Wait is
// called with no account lock held.
type fakePersister struct {
	t        *testing.T
	e        *Engine
	mu       sync.Mutex
	files    []*FileRecord
	apps     []AppKey
	resets   []string
	exts     []*AppExtRecord
	dists    []*DistRecord
	released []GoneRecord
	ticket   uint64
	waited   []uint64
	fail     error
}

func (p *fakePersister) next() uint64 { p.ticket++; return p.ticket }
func (p *fakePersister) SaveFile(r *FileRecord) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files = append(p.files, r)
	return p.next()
}
func (p *fakePersister) SaveApp(a, app string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apps = append(p.apps, AppKey{a, app})
	return p.next()
}
func (p *fakePersister) Reset(a string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resets = append(p.resets, a)
	return p.next()
}
func (p *fakePersister) SaveAppExt(r *AppExtRecord) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exts = append(p.exts, r)
	return p.next()
}
func (p *fakePersister) SaveDist(r *DistRecord) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dists = append(p.dists, r)
	return p.next()
}
func (p *fakePersister) ReleaseApp(acct, app string, at int64, evicted []string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = append(p.released, GoneRecord{acct, app, at})
	return p.next()
}
func (p *fakePersister) Replace([]AppKey, []*FileRecord) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next()
}
func (p *fakePersister) Wait(t uint64) error {
	if !p.e.mu.TryLock() {
		p.t.Error("Wait called with the engine lock held")
	} else {
		p.e.mu.Unlock()
	}
	for n, a := range p.e.accounts {
		if !a.mu.TryLock() {
			p.t.Errorf("Wait called with account %q locked", n)
			continue
		}
		a.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waited = append(p.waited, t)
	return p.fail
}

func TestPersisterHooks(t *testing.T) {
	e, c := newEngine(t, nil)
	p := &fakePersister{t: t, e: e}
	e.SetPersister(p)
	push(t, e, Strategy{}, dataFile("a", 0), dataFile("b", 0))
	if len(p.files) != 2 || len(p.waited) != 1 || p.waited[0] != 2 {
		t.Fatalf("one push of two files: saved %d, waited %v", len(p.files), p.waited)
	}
	r := p.files[0]
	if r.Account != "acct" || r.App != "app" || r.Name != "a" || r.Attempts != 1 || len(r.Replicas) != len(e.Servers()) || r.Replicas[0].Start != t0.UnixNano() {
		t.Fatalf("record: %+v", r)
	}
	push(t, e, Strategy{}, dataFile("a", 0)) // PUSHING: nothing changes, nothing saved
	if len(p.files) != 2 || len(p.waited) != 1 {
		t.Fatalf("a push that changed nothing was saved: %d files, waits %v", len(p.files), p.waited)
	}
	c.Advance(time.Hour)
	if err := e.RegisterApp("acct", "new"); err != nil {
		t.Fatal(err)
	}
	e.RegisterApp("acct", "new") // already there: nothing to save
	e.Reset("acct")
	if len(p.apps) != 1 || len(p.resets) != 1 || len(p.waited) != 3 {
		t.Fatalf("apps %v resets %v waits %v", p.apps, p.resets, p.waited)
	}
	// A store that cannot commit: the answer is not given.
	p.fail = errors.New("disk full")
	defer func() {
		if v := recover(); v == nil || !strings.Contains(v.(error).Error(), "disk full") {
			t.Fatalf("a failed commit did not stop the answer: %v", v)
		}
	}()
	e.Push(context.Background(), "acct", "app", []DataFile{dataFile("c", 0)}, Strategy{})
}

// The defaults of a hand-written seed, and Records/Restore round trip.
func TestSeedDefaults(t *testing.T) {
	e, c := newEngine(t, nil)
	st, err := ParseState([]byte(`
accounts:
  - account: acct
    apps:
      - appId: app
        files:
          - {name: ok, version: "1", replicas: [{region: cn-wuxi-5, status: SUCCESS}]}
          - {name: bad, version: "1", replicas: [{server: cn-wuxi-5-fs-2, status: failed, descrip: "it broke"}]}
          - {name: slow, version: "1", size: 10485760, replicas: [{server: cn-jiaozuo-2-fs-1, status: PUSHING}]}
      - appId: empty
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(st); err != nil {
		t.Fatal(err)
	}
	got := e.Snapshot("")
	files := got.Accounts[0].Apps[0].Files
	if len(got.Accounts[0].Apps) != 2 || len(files) != 3 {
		t.Fatalf("snapshot: %+v", got)
	}
	if rs := files[0].Replicas; len(rs) != 2 || rs[0].Status != StatusSuccess || rs[1].Server != "cn-wuxi-5-fs-2" || !rs[0].Start.Equal(t0) {
		t.Fatalf("region replica: %+v", rs)
	}
	if r := files[1].Replicas[0]; r.Status != StatusFailed || r.Descrip != "it broke" || files[1].Attempts != 1 {
		t.Fatalf("failed replica: %+v", files[1])
	}
	r := files[2].Replicas[0]
	if want := t0.Add(3 * time.Second); r.Status != StatusPushing || !r.Done.Equal(want) {
		t.Fatalf("pushing replica: %+v, want done %s (2s base + 1s for 10 MiB)", r, want)
	}
	c.Advance(3 * time.Second)
	if s := e.Snapshot("").Accounts[0].Apps[0].Files[2].Replicas[0].Status; s != StatusSuccess {
		t.Fatalf("after its transfer: %s", s)
	}
	// Records → Restore gives the same state.
	apps, recs := e.Records()
	f, _ := New(Config{Clock: c, Jitter: -1})
	if err := f.Restore(apps, recs); err != nil {
		t.Fatal(err)
	}
	a, b := e.Snapshot(""), f.Snapshot("")
	if len(a.Accounts) != len(b.Accounts) || len(b.Accounts[0].Apps) != 2 || len(b.Accounts[0].Apps[0].Files) != 3 {
		t.Fatalf("restore: %+v", b)
	}
	// A record of a server the topology lacks is refused, and nothing changes.
	recs[0].Replicas[0].Server = "gone"
	if err := f.Restore(apps, recs); err == nil || !strings.Contains(err.Error(), `"gone" is not in the topology`) {
		t.Fatalf("restore with an unknown server: %v", err)
	}
	if len(f.Snapshot("").Accounts) != 1 {
		t.Fatal("a refused restore changed the state")
	}
}
