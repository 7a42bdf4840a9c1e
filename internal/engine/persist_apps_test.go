package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// latest keeps the last record of each key, as a store would.
func (p *fakePersister) appRecords() *AppRecords {
	p.mu.Lock()
	defer p.mu.Unlock()
	x := &AppRecords{Seqs: map[string]uint64{}}
	exts := map[AppKey]int{}
	for _, r := range p.exts {
		k := AppKey{r.Account, r.App}
		if i, ok := exts[k]; ok {
			x.Exts[i] = r
		} else {
			exts[k] = len(x.Exts)
			x.Exts = append(x.Exts, r)
		}
		x.Seqs[r.Account] = max(x.Seqs[r.Account], r.Seq)
	}
	dists := map[[4]string]int{}
	for _, r := range p.dists {
		k := [4]string{r.Account, r.App, r.Name, r.Version}
		if i, ok := dists[k]; ok {
			x.Dists[i] = r
		} else {
			dists[k] = len(x.Dists)
			x.Dists = append(x.Dists, r)
		}
	}
	return x
}

// CreateApp, Dist and DeleteApp hand their records to the persister and wait
// for them; the records restore the same applications, instances and dists.
func TestPersistApps(t *testing.T) {
	e, c := newEngine(t, nil)
	p := &fakePersister{t: t, e: e}
	e.SetPersister(p)
	id, err := e.CreateApp("acct", []byte(`{"appMetaData":{"appName":"w","clusterName":"poc"},"resourceSelector":[{"count":3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.exts) != 1 || p.exts[0].App != id || len(p.exts[0].Instances) != 3 || p.exts[0].Seq != 1 || len(p.waited) != 1 {
		t.Fatalf("CreateApp: exts %+v, waited %v", p.exts, p.waited)
	}
	other, err := e.CreateApp("acct", []byte(`{"appMetaData":{"appName":"o"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{id, other} {
		if _, err := e.Push(context.Background(), "acct", app, []DataFile{dataFile("a", 0), dataFile("b", 0)}, Strategy{}); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(time.Hour)
	if _, err := e.Dist("acct", id, []DistFile{{Name: "b", Version: "1.0"}, {Name: "a", Version: "1.0"}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.dists) != 2 || p.dists[0].Name != "b" || p.dists[0].Pos != 0 || p.dists[1].Pos != 1 || len(p.dists[0].Reps) != 3 {
		t.Fatalf("Dist: %+v", p.dists)
	}
	if p.waited[len(p.waited)-1] != p.ticket {
		t.Fatalf("Dist waited for %v, the last ticket is %d", p.waited, p.ticket)
	}
	c.Advance(time.Hour) // every instance holds b: distributing it again starts nothing, saves nothing
	if _, err := e.Dist("acct", id, []DistFile{{Name: "b", Version: "1.0"}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.dists) != 2 {
		t.Fatalf("a Dist that changed nothing was saved: %d records", len(p.dists))
	}
	if err := e.DeleteApp("acct", other); err != nil {
		t.Fatal(err)
	}
	if x := p.exts[len(p.exts)-1]; x.App != other || x.DeleteAt == 0 || p.waited[len(p.waited)-1] != p.ticket {
		t.Fatalf("DeleteApp: %+v, waited %v", x, p.waited)
	}

	apps, files := e.Records()
	f, _ := New(Config{Clock: c, Jitter: -1})
	if err := f.RestoreAll(apps, files, p.appRecords()); err != nil {
		t.Fatal(err)
	}
	snap := func(e *Engine) string {
		b, _ := json.Marshal(e.Snapshot(""))
		return string(b)
	}
	if a, b := snap(e), snap(f); a != b || !strings.Contains(a, `"phase":"DELETING"`) || !strings.Contains(a, `"dists":[{"name":"b"`) {
		t.Fatalf("restored state differs or lacks the app details:\n%s\n%s", a, b)
	}

	// The release is handed over once its time has come; restored, the AppId
	// stays deleted, its files gone, and a new app gets a fresh AppId.
	c.Advance(time.Hour)
	if _, err := e.DescribeApp("acct", other, nil); err != ErrAppDeleted {
		t.Fatalf("after the release: %v", err)
	}
	if len(p.released) != 1 || p.released[0].App != other {
		t.Fatalf("released: %+v", p.released)
	}
	x := p.appRecords()
	x.Gone = p.released
	var kept []*AppExtRecord
	for _, r := range x.Exts {
		if r.App != other {
			kept = append(kept, r)
		}
	}
	x.Exts = kept
	apps, files = e.Records()
	g, _ := New(Config{Clock: c, Jitter: -1})
	if err := g.RestoreAll(apps, files, x); err != nil {
		t.Fatal(err)
	}
	if _, err := g.DescribeApp("acct", other, nil); err != ErrAppDeleted {
		t.Fatalf("restored tombstone: %v", err)
	}
	if n, err := g.CreateApp("acct", []byte(`{}`)); err != nil || n == id || n == other {
		t.Fatalf("CreateApp after a restore: %q %v", n, err)
	}

	// Records that do not fit are refused, and nothing changes.
	before := snap(f)
	for name, bad := range map[string]func(x *AppRecords){
		"unknown region":  func(x *AppRecords) { x.Exts[0].Instances[0].Region = "nowhere" },
		"instance range":  func(x *AppRecords) { x.Dists[0].Reps[0].Inst = 99 },
		"unstored app":    func(x *AppRecords) { x.Dists[0].App = "nope" },
		"failure range":   func(x *AppRecords) { x.Dists[0].Reps[0].Fail = 5 },
		"deleted present": func(x *AppRecords) { x.Gone = []GoneRecord{{"acct", id, 1}} },
	} {
		x := p.appRecords()
		// deep enough copies of what bad changes
		x.Exts[0] = &AppExtRecord{Account: x.Exts[0].Account, App: x.Exts[0].App, Template: x.Exts[0].Template, RawBytes: x.Exts[0].RawBytes,
			Created: x.Exts[0].Created, Seq: x.Exts[0].Seq, Instances: append([]InstanceRecord(nil), x.Exts[0].Instances...)}
		d := *x.Dists[0]
		d.Reps = append([]DistRepRecord(nil), d.Reps...)
		x.Dists[0] = &d
		bad(x)
		apps, files := e.Records()
		if err := f.RestoreAll(apps, files, x); err == nil {
			t.Errorf("%s: restored", name)
		}
		if snap(f) != before {
			t.Fatalf("%s: a refused restore changed the state", name)
		}
	}
}
