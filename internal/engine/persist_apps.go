package engine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// Persistence of the workflow actions' state (applications.go, dist.go): what
// an application has beyond its pushed files, its distributions, and the
// tombstones of deleted AppIds. Like the files, only inputs are kept: every
// status is computed from the clock. See docs/decisions.md, "Persistence".

// AppExtRecord is what an application has beyond its pushed files: its
// template (nil: a bare app), its instances, and when its deletion completes
// (0: not being deleted). Seq is the account's AppId counter when saved.
type AppExtRecord struct {
	Account, App string
	Template     []byte // the template as the engine reads it, JSON; nil for a bare app
	RawBytes     int    // the size of the template as given
	Created      int64
	DeleteAt     int64
	Seq          uint64
	Instances    []InstanceRecord
}

// InstanceRecord is one edge instance of an application.
type InstanceRecord struct {
	ID, Region string
	Created    int64
}

// DistRecord is one distributed data file of an application and all its
// instance replicas. Pos is its place among the app's distributed files.
type DistRecord struct {
	Account, App, Name, Version string
	Pos                         int
	Created                     int64
	Fails                       []string
	Reps                        []DistRepRecord
}

// DistRepRecord is one data file on one instance: Inst is the instance's
// index in AppExtRecord.Instances, Fail 0 for none or an index into Fails + 1.
type DistRepRecord struct {
	Inst    uint32
	Attempt int
	Fail    int
	Start   int64
	Done    int64
}

// GoneRecord is the tombstone of a deleted AppId: when its release completed.
type GoneRecord struct {
	Account, App string
	At           int64
}

// AppRecords is everything of the workflow actions a store loaded.
type AppRecords struct {
	Exts  []*AppExtRecord
	Dists []*DistRecord
	Gone  []GoneRecord
	Seqs  map[string]uint64 // account → AppId counter
}

// live reports whether a is still its account's record (a.mu held): a change
// to an account a Reset forgot is not saved.
func (e *Engine) live(a *account) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.accounts[a.name] == a
}

// persistExt queues app id's extension (a.mu held); 0 without a persister.
func (e *Engine) persistExt(a *account, id string, x *appExt) uint64 {
	if e.persist == nil || x == nil || !e.live(a) {
		return 0
	}
	r := &AppExtRecord{Account: a.name, App: id, RawBytes: x.rawBytes, Created: x.created, DeleteAt: x.deleteAt,
		Seq: a.ext.seq, Instances: make([]InstanceRecord, len(x.instances))}
	if x.template != nil {
		// A template decoded from JSON encodes again; should it not, the app
		// is restored bare rather than not at all.
		r.Template, _ = json.Marshal(x.template)
	}
	for i, in := range x.instances {
		r.Instances[i] = InstanceRecord{ID: in.id, Region: e.ix.regions[in.region], Created: in.created}
	}
	return e.persist.SaveAppExt(r)
}

// persistDist queues dist d of app id, the pos-th of x.distOrder (a.mu held).
func (e *Engine) persistDist(a *account, id string, pos int, d *dist) uint64 {
	if e.persist == nil || !e.live(a) {
		return 0
	}
	r := &DistRecord{Account: a.name, App: id, Name: d.name, Version: d.version, Pos: pos, Created: d.created,
		Fails: slices.Clone(d.fails), Reps: make([]DistRepRecord, len(d.reps))}
	for i, rp := range d.reps {
		r.Reps[i] = DistRepRecord{Inst: rp.inst, Attempt: int(rp.attempt), Fail: int(rp.fail), Start: rp.start, Done: rp.done}
	}
	return e.persist.SaveDist(r)
}

// persistRelease queues the end of app id's deletion (a.mu held).
func (e *Engine) persistRelease(a *account, id string, at int64, evicted []string) uint64 {
	if e.persist == nil || !e.live(a) {
		return 0
	}
	return e.persist.ReleaseApp(a.name, id, at, evicted)
}

// buildExt adds x to accts (made by build); it changes nothing else. A record
// that does not fit (an unknown app or ENS node, a duplicate, a bound
// exceeded) is an error.
func (e *Engine) buildExt(accts map[string]*account, x *AppRecords) error {
	if x == nil {
		return nil
	}
	acctOf := func(name string) *account {
		a := accts[name]
		if a == nil {
			a = &account{name: name, apps: map[string]*app{}}
			accts[name] = a
		}
		return a
	}
	for name, seq := range x.Seqs {
		if name == "" {
			return fmt.Errorf("an AppId counter without an account")
		}
		acctOf(name).ext.seq = seq
	}
	for _, r := range x.Exts {
		where := fmt.Sprintf("account %q app %q", r.Account, r.App)
		a := accts[r.Account]
		if a == nil || a.apps[r.App] == nil {
			return fmt.Errorf("%s: the application of stored instances is not stored", where)
		}
		p := a.apps[r.App]
		if p.x != nil {
			return fmt.Errorf("%s: its instances are listed twice", where)
		}
		if r.RawBytes < 0 || r.RawBytes > MaxTemplateBytes || a.ext.tmplBytes+r.RawBytes > MaxTemplateBytesPerAccount {
			return fmt.Errorf("%s: template of %d bytes out of bounds", where, r.RawBytes)
		}
		if a.ext.instances+len(r.Instances) > e.cfg.MaxInstancesPerAccount {
			return fmt.Errorf("account %q: more than %d instances", r.Account, e.cfg.MaxInstancesPerAccount)
		}
		if r.DeleteAt < 0 {
			return fmt.Errorf("%s: negative deletion time", where)
		}
		ax := &appExt{rawBytes: r.RawBytes, created: r.Created, deleteAt: r.DeleteAt, byID: make(map[string]int32, len(r.Instances))}
		if r.Template != nil {
			var t AppTemplate
			if err := json.Unmarshal(r.Template, &t); err != nil {
				return fmt.Errorf("%s: template: %v", where, err)
			}
			ax.template = &t
		}
		for _, in := range r.Instances {
			reg, ok := slices.BinarySearch(e.ix.regions, in.Region)
			if !ok {
				return fmt.Errorf("%s: instance %q: ENS node %q is not in the topology (start with the topology the state was made with)", where, in.ID, in.Region)
			}
			if in.ID == "" {
				return fmt.Errorf("%s: an instance without an id", where)
			}
			if _, dup := ax.byID[in.ID]; dup {
				return fmt.Errorf("%s: instance %q listed twice", where, in.ID)
			}
			ax.byID[in.ID] = int32(len(ax.instances))
			ax.instances = append(ax.instances, instance{id: in.ID, region: uint16(reg), created: in.Created})
		}
		p.x = ax
		a.ext.tmplBytes += r.RawBytes
		a.ext.instances += len(ax.instances)
	}
	dists := slices.Clone(x.Dists)
	slices.SortStableFunc(dists, func(x, y *DistRecord) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.App, y.App), cmp.Compare(x.Pos, y.Pos))
	})
	for _, r := range dists {
		where := fmt.Sprintf("account %q app %q dist of %q version %q", r.Account, r.App, r.Name, r.Version)
		a := accts[r.Account]
		if a == nil || a.apps[r.App] == nil || a.apps[r.App].x == nil {
			return fmt.Errorf("%s: the application or its instances are not stored", where)
		}
		ax := a.apps[r.App].x
		k := fileKey{r.Name, r.Version}
		if ax.dists[k] != nil {
			return fmt.Errorf("%s: listed twice", where)
		}
		if len(r.Fails) > maxDistFails {
			return fmt.Errorf("%s: %d failure descriptions, more than %d", where, len(r.Fails), maxDistFails)
		}
		if a.ext.reps+len(r.Reps) > e.cfg.MaxDistReplicasPerAccount {
			return fmt.Errorf("account %q: more than %d distributed replicas", r.Account, e.cfg.MaxDistReplicasPerAccount)
		}
		d := &dist{name: r.Name, version: r.Version, created: r.Created, fails: slices.Clone(r.Fails), reps: make([]distRep, len(r.Reps))}
		for i, rr := range r.Reps {
			switch {
			case int(rr.Inst) >= len(ax.instances) || (i > 0 && rr.Inst <= r.Reps[i-1].Inst):
				return fmt.Errorf("%s: replica %d: instance index %d out of order or range", where, i, rr.Inst)
			case rr.Attempt < 0 || rr.Attempt > 0xffff || rr.Fail < 0 || rr.Fail > len(r.Fails):
				return fmt.Errorf("%s: replica %d: attempt %d or failure %d out of range", where, i, rr.Attempt, rr.Fail)
			case rr.Done < rr.Start:
				return fmt.Errorf("%s: replica %d ends before it starts", where, i)
			}
			d.reps[i] = distRep{inst: rr.Inst, attempt: uint16(rr.Attempt), fail: uint16(rr.Fail), start: rr.Start, done: rr.Done}
		}
		if ax.dists == nil {
			ax.dists = map[fileKey]*dist{}
		}
		ax.dists[k] = d
		d.pos = len(ax.distOrder)
		ax.distOrder = append(ax.distOrder, d)
		ax.distMeta = append(ax.distMeta, d.created)
		ax.reps += len(d.reps)
		a.ext.reps += len(d.reps)
	}
	gone := slices.Clone(x.Gone)
	slices.SortStableFunc(gone, func(x, y GoneRecord) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.At, y.At), cmp.Compare(x.App, y.App))
	})
	for _, g := range gone {
		if g.Account == "" || g.App == "" {
			return fmt.Errorf("a deleted AppId needs an account and an appId (got %q, %q)", g.Account, g.App)
		}
		a := acctOf(g.Account)
		if a.apps[g.App] != nil {
			return fmt.Errorf("account %q app %q: stored both as deleted and as present", g.Account, g.App)
		}
		if a.ext.tombstones == nil {
			a.ext.tombstones = map[string]int64{}
		}
		if _, dup := a.ext.tombstones[g.App]; dup {
			return fmt.Errorf("account %q app %q: deleted twice", g.Account, g.App)
		}
		if len(a.ext.tombOrder) >= e.cfg.MaxAppsPerAccount {
			return fmt.Errorf("account %q: more than %d deleted AppIds", g.Account, e.cfg.MaxAppsPerAccount)
		}
		a.ext.tombstones[g.App] = g.At
		a.ext.tombOrder = append(a.ext.tombOrder, g.App)
	}
	return nil
}
