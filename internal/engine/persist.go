package engine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Persistence. The engine keeps no process state worth saving: every status is
// computed from the clock, so what a store keeps are the inputs — apps, data
// files as declared, and per file server the start, end and failure reason of
// each replica. A Persister receives them at each mutation point, in order;
// without one (the default) the hot path pays a nil check.

// Persister receives every change of the engine's state, in order. Save*,
// Reset and Replace are called with the engine's locks held: they must only
// queue the change and return a ticket; Wait(ticket) then blocks, outside the
// locks, until the change (and every one queued before it) is durable.
type Persister interface {
	SaveFile(r *FileRecord) uint64
	SaveApp(acct, app string) uint64
	Reset(acct string) uint64 // "": every account
	Replace(apps []AppKey, files []*FileRecord) uint64
	// SaveAppExt saves what an application has beyond its files (template,
	// instances, deletion), SaveDist one distributed data file with all its
	// instance replicas, and ReleaseApp the end of a DeleteApplication: the
	// app, its files, its extension and its dists are forgotten, its AppId
	// becomes a tombstone, and the tombstones of evicted are forgotten
	// (persist_apps.go).
	SaveAppExt(r *AppExtRecord) uint64
	SaveDist(r *DistRecord) uint64
	ReleaseApp(acct, app string, at int64, evicted []string) uint64
	Wait(ticket uint64) error
}

// AppKey names one application of one account.
type AppKey struct {
	Account string `json:"account"`
	App     string `json:"app"`
}

// FileRecord is everything the engine knows of one data file: what a store
// keeps. The records handed to a Persister are copies it may keep.
type FileRecord struct {
	Account  string `json:"account"`
	App      string `json:"app"`
	DataFile `json:"file"`
	Pos      int32           `json:"pos"`     // order of first push within the app
	Created  int64           `json:"created"` // unix nanos of the first push
	Attempts int             `json:"attempts"`
	Replicas []ReplicaRecord `json:"replicas"`
	Blob     *Blob           `json:"-"` // fetch mode's content, kept apart by stores
}

// ReplicaRecord is one replica: on which file server, which attempt, when it
// started and ends, and the failure it ends with ("" for success).
type ReplicaRecord struct {
	Server  string `json:"server"`
	Attempt int    `json:"attempt"`
	Start   int64  `json:"start"`
	Done    int64  `json:"done"`
	Fail    string `json:"fail,omitempty"`
}

// SetPersister attaches p; call it before the engine serves anything.
func (e *Engine) SetPersister(p Persister) { e.persist = p }

// persistFile queues rec (a.mu held) and returns the ticket to wait for; 0
// without a persister, or when a is no longer the account's live record (a
// Reset came in between: the push went to a forgotten account).
func (e *Engine) persistFile(a *account, acct, appID string, rec *file) uint64 {
	if e.persist == nil {
		return 0
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.accounts[acct] != a {
		return 0
	}
	return e.persist.SaveFile(e.record(acct, appID, rec))
}

func (e *Engine) persistApp(acct, appID string) uint64 {
	if e.persist == nil {
		return 0
	}
	return e.persist.SaveApp(acct, appID)
}

func (e *Engine) persistReset(acct string) uint64 {
	if e.persist == nil {
		return 0
	}
	return e.persist.Reset(acct)
}

// waitDurable blocks until the ticket's change is durable. It runs deferred,
// after the locks are released, and before the caller's answer is sent. A
// store that cannot commit leaves the engine ahead of the disk: the answer must
// not be sent, so this panics (net/http then drops the connection: the client
// sees no acknowledgement); the store reports the failure itself.
func (e *Engine) waitDurable(ticket *uint64) {
	if *ticket == 0 {
		return
	}
	if err := e.persist.Wait(*ticket); err != nil {
		panic(fmt.Errorf("engine: the change could not be made durable, so it is not acknowledged: %w", err))
	}
}

// record copies rec into a FileRecord. a.mu held.
func (e *Engine) record(acct, appID string, rec *file) *FileRecord {
	r := &FileRecord{Account: acct, App: appID, DataFile: rec.DataFile, Pos: rec.pos, Created: rec.created,
		Attempts: int(rec.attempts), Blob: rec.blob, Replicas: make([]ReplicaRecord, len(rec.replicas))}
	for i := range rec.replicas {
		rp := &rec.replicas[i]
		r.Replicas[i] = ReplicaRecord{Server: e.ix.servers[rp.server].ID, Attempt: int(rp.attempt), Start: rp.start, Done: rp.done}
		if rp.fail != 0 {
			r.Replicas[i].Fail = rec.fails[rp.fail-1]
		}
	}
	return r
}

// Restore replaces the whole state with apps and files, as a store loaded
// them, without telling the persister (they come from it). A record that does
// not fit this engine (a file server the topology lacks, a duplicate, a bound
// exceeded) is an error, and then nothing changes.
func (e *Engine) Restore(apps []AppKey, files []*FileRecord) error {
	return e.RestoreAll(apps, files, nil)
}

// RestoreAll is Restore with the applications' extensions, dists, tombstones
// and AppId counters (x, nil: none) as a store loaded them.
func (e *Engine) RestoreAll(apps []AppKey, files []*FileRecord, x *AppRecords) error {
	accts, err := e.build(apps, files)
	if err != nil {
		return err
	}
	if err := e.buildExt(accts, x); err != nil {
		return err
	}
	e.mu.Lock()
	e.accounts = accts
	e.mu.Unlock()
	return nil
}

// build makes the accounts of apps and files; it changes nothing.
func (e *Engine) build(apps []AppKey, files []*FileRecord) (map[string]*account, error) {
	byID := make(map[string]int, len(e.ix.servers))
	for _, s := range e.ix.servers {
		byID[s.ID] = s.Index
	}
	accts := map[string]*account{}
	acctOf := func(name string) *account {
		a := accts[name]
		if a == nil {
			a = &account{name: name, apps: map[string]*app{}}
			accts[name] = a
		}
		return a
	}
	appOf := func(k AppKey) (*app, error) {
		a := acctOf(k.Account)
		p := a.apps[k.App]
		if p == nil {
			if len(a.apps) >= e.cfg.MaxAppsPerAccount {
				return nil, fmt.Errorf("account %q: more than %d applications", k.Account, e.cfg.MaxAppsPerAccount)
			}
			p = newApp()
			a.apps[k.App] = p
		}
		return p, nil
	}
	for _, k := range apps {
		if k.Account == "" || k.App == "" {
			return nil, fmt.Errorf("an application needs an account and an appId (got %q, %q)", k.Account, k.App)
		}
		if _, err := appOf(k); err != nil {
			return nil, err
		}
	}
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(x, y *FileRecord) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.App, y.App), cmp.Compare(x.Pos, y.Pos))
	})
	for _, r := range sorted {
		where := fmt.Sprintf("account %q app %q file %q version %q", r.Account, r.App, r.Name, r.Version)
		if r.Account == "" || r.App == "" || r.Name == "" || r.Version == "" {
			return nil, fmt.Errorf("%s: account, appId, name and version are required", where)
		}
		if r.Size < 0 || r.Timeout < 0 {
			return nil, fmt.Errorf("%s: size and timeout must not be negative", where)
		}
		if r.Attempts < 0 || r.Attempts > 0xffff || len(r.Replicas) > len(e.ix.servers) {
			return nil, fmt.Errorf("%s: attempts %d or %d replicas out of range", where, r.Attempts, len(r.Replicas))
		}
		p, err := appOf(AppKey{r.Account, r.App})
		if err != nil {
			return nil, err
		}
		k := fileKey{r.Name, r.Version}
		if p.files[k] != nil {
			return nil, fmt.Errorf("%s: listed twice", where)
		}
		a := accts[r.Account]
		if a.files >= e.cfg.MaxFilesPerAccount {
			return nil, fmt.Errorf("account %q: more than %d data files", r.Account, e.cfg.MaxFilesPerAccount)
		}
		rec := &file{DataFile: r.DataFile, created: r.Created, attempts: uint16(r.Attempts), blob: r.Blob,
			replicas: make([]replica, 0, len(r.Replicas))}
		seen := map[int]bool{}
		for _, rr := range r.Replicas {
			idx, ok := byID[rr.Server]
			if !ok {
				return nil, fmt.Errorf("%s: file server %q is not in the topology (start with the topology the state was made with)", where, rr.Server)
			}
			if seen[idx] {
				return nil, fmt.Errorf("%s: file server %q listed twice", where, rr.Server)
			}
			seen[idx] = true
			if rr.Attempt < 0 || rr.Attempt > 0xffff {
				return nil, fmt.Errorf("%s: replica on %q: attempt %d out of range", where, rr.Server, rr.Attempt)
			}
			if rr.Done < rr.Start {
				return nil, fmt.Errorf("%s: replica on %q ends before it starts", where, rr.Server)
			}
			rp := replica{server: uint16(idx), attempt: uint16(rr.Attempt), start: rr.Start, done: rr.Done}
			if rr.Fail != "" {
				i := slices.Index(rec.fails, rr.Fail)
				if i < 0 {
					rec.fails = append(rec.fails, rr.Fail)
					i = len(rec.fails) - 1
				}
				rp.fail = uint16(i + 1)
			}
			rec.replicas = append(rec.replicas, rp)
		}
		p.files[k] = rec
		p.addFile(rec)
		p.touch(e.ix, rec)
		a.files++
		if rec.blob != nil {
			a.blobBytes += int64(len(rec.blob.Data))
		}
	}
	return accts, nil
}

// Load replaces the whole state with st (the shape Snapshot prints; see
// seed.go for the defaults of a hand-written file) and makes it durable.
// A bad state is an error and changes nothing.
func (e *Engine) Load(st State) error {
	apps, files, err := e.fromState(st)
	if err != nil {
		return err
	}
	accts, err := e.build(apps, files)
	if err != nil {
		return err
	}
	var durable uint64
	defer e.waitDurable(&durable)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.accounts = accts
	if e.persist != nil {
		durable = e.persist.Replace(apps, files)
	}
	return nil
}

// Records lists every app and data file, as a store would keep them.
func (e *Engine) Records() (apps []AppKey, files []*FileRecord) {
	e.mu.RLock()
	names := make([]string, 0, len(e.accounts))
	for n := range e.accounts {
		names = append(names, n)
	}
	e.mu.RUnlock()
	slices.Sort(names)
	for _, n := range names {
		a := e.account(n, false)
		if a == nil {
			continue
		}
		a.mu.Lock()
		for _, id := range slices.Sorted(maps.Keys(a.apps)) {
			apps = append(apps, AppKey{n, id})
			for _, f := range a.apps[id].order {
				files = append(files, e.record(n, id, f))
			}
		}
		a.mu.Unlock()
	}
	return apps, files
}

// nanos is t as unix nanos, refusing a time the engine cannot hold.
func nanos(t time.Time) (int64, error) {
	if t.Before(time.Unix(0, 0)) || t.After(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return 0, fmt.Errorf("%s is outside 1970 … 2200", t.UTC().Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// failure is the failure replica r of f ends with ("" for success).
func (f *file) failure(r *replica) string {
	if r.fail == 0 {
		return ""
	}
	return f.fails[r.fail-1]
}
