package engine

import (
	"maps"
	"slices"
	"sort"
	"time"
)

// Read-only, paged access to the state, for the control plane's streamed
// dump (GET /_ensmock/state) and app listing: no call holds a lock for longer
// than it takes to copy one page, and nothing is built for the whole state.

// StateAccounts returns the accounts that hold state, sorted; only acct when
// it is given (and holds state).
func (e *Engine) StateAccounts(acct string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if acct != "" {
		if e.accounts[acct] == nil {
			return nil
		}
		return []string{acct}
	}
	names := make([]string, 0, len(e.accounts))
	for n := range e.accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StateApps returns the app ids of an account, sorted (nil when the account
// holds no state), once the releases whose time has come are finished.
func (e *Engine) StateApps(acct string) []string {
	a := e.account(acct, false)
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e.sweepDeleted(a)
	return slices.Sorted(maps.Keys(a.apps))
}

// StateFiles appends to dst at most n data files of an app, from position
// from in first-push order, as Snapshot shows them with statuses at now, and
// reports whether more files follow. A file's position never changes, so
// successive pages never repeat or skip a file (files pushed meanwhile come
// at the end).
func (e *Engine) StateFiles(dst []FileState, acct, appID string, from, n int, now time.Time) ([]FileState, bool) {
	a := e.account(acct, false)
	if a == nil || n <= 0 || from < 0 {
		return dst, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.apps[appID]
	if p == nil || from >= len(p.order) {
		return dst, false
	}
	nowN := now.UnixNano()
	to := min(from+n, len(p.order))
	for _, f := range p.order[from:to] {
		dst = append(dst, e.dumpFile(f, nowN))
	}
	return dst, to < len(p.order)
}

// dumpFile is f as Snapshot shows it, with statuses at now.
func (e *Engine) dumpFile(f *file, now int64) FileState {
	fs := FileState{DataFile: f.DataFile, FirstPush: time.Unix(0, f.created).UTC(), Attempts: int(f.attempts), Fetched: f.blob != nil,
		Replicas: make([]ReplicaState, 0, len(f.replicas))}
	for i := range f.replicas {
		r := &f.replicas[i]
		s := e.ix.servers[r.server]
		fs.Replicas = append(fs.Replicas, ReplicaState{Server: s.ID, Region: s.Region, Status: r.status(now), Descrip: f.descrip(r, now),
			Attempt: int(r.attempt), Start: time.Unix(0, r.start).UTC(), Done: time.Unix(0, r.done).UTC(), Fail: f.failure(r)})
	}
	return fs
}

// AppSummary names one application of one account and counts its data files.
type AppSummary struct {
	Account, AppID string
	Files          int
}

// Apps lists every account's applications (released ones gone, as in
// StateApps), sorted by account then AppId, with their number of data files;
// unlike Snapshot it copies no file, so it stays cheap with many files (the
// live view calls it on every refresh).
func (e *Engine) Apps() []AppSummary {
	var out []AppSummary
	for _, n := range e.StateAccounts("") {
		a := e.account(n, false)
		if a == nil {
			continue
		}
		a.mu.Lock()
		e.sweepDeleted(a)
		for _, id := range slices.Sorted(maps.Keys(a.apps)) {
			out = append(out, AppSummary{Account: n, AppID: id, Files: len(a.apps[id].order)})
		}
		a.mu.Unlock()
	}
	return out
}
