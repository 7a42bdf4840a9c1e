package engine

// Push: starting transfers of data files to the file servers a strategy selects.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Push starts pushing files to the file servers selected by st and returns one
// result per file, in order. ErrUnknownApp changes no state. A (name, version)
// listed twice is the same file: its second item answers as a repeated push
// would (200 while the first item's transfers run).
func (e *Engine) Push(ctx context.Context, acct, appID string, files []DataFile, st Strategy) ([]PushResult, error) {
	targets := e.ix.targets(st)
	a := e.account(acct, true)

	// Fetch mode: download, outside the account lock, the sources of the files
	// that will need a start and have no content yet. Once per (name, version).
	var blobs map[fileKey]*Blob
	var fetchErr map[fileKey]error
	var overBudget map[fileKey]bool
	if e.cfg.Fetcher != nil && len(targets) > 0 {
		var need []DataFile
		var reserve []int64
		var held []appFileKey
		needed := map[fileKey]bool{}
		a.mu.Lock()
		p, err := e.appLocked(a, appID, false)
		now := e.cfg.Clock.Now().UnixNano()
		blobs, fetchErr, overBudget = map[fileKey]*Blob{}, map[fileKey]error{}, map[fileKey]bool{}
		for _, f := range files {
			if needed[fileKey{f.Name, f.Version}] {
				continue // listed twice: fetched once
			}
			needed[fileKey{f.Name, f.Version}] = true
			var rec *file
			k := fileKey{f.Name, f.Version}
			if p != nil {
				rec = p.files[k]
			}
			if rec != nil && (rec.blob != nil || len(e.missing(rec, targets, now)) == 0) {
				continue
			}
			ak := appFileKey{appID, k}
			if r := a.fetching[ak]; r != nil { // a racing push downloads it: share
				r.users++
				need, reserve, held = append(need, f), append(reserve, r.bytes), append(held, ak)
				continue
			}
			// Reserve the account's budget before downloading: the declared
			// size, else a source's cap, never more than what is left.
			left := e.cfg.MaxFetchedBytesPerAccount - a.blobBytes - a.reserved
			r := e.cfg.MaxFetchBytes
			if f.Size > 0 {
				r = f.Size
			}
			if f.Size > left || left <= 0 {
				overBudget[k] = true
				continue
			}
			r = min(r, left)
			if a.fetching == nil {
				a.fetching = map[appFileKey]*reservation{}
			}
			a.fetching[ak] = &reservation{bytes: r, users: 1}
			a.reserved += r
			need, reserve, held = append(need, f), append(reserve, r), append(held, ak)
		}
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			for _, ak := range held {
				if r := a.fetching[ak]; r != nil {
					if r.users--; r.users == 0 {
						a.reserved -= r.bytes
						delete(a.fetching, ak)
					}
				}
			}
			a.mu.Unlock()
		}()
		if err != nil {
			return nil, err
		}
		for i, f := range need {
			b, err := e.cfg.Fetcher.Fetch(WithFetchBudget(ctx, reserve[i]), f)
			if err != nil {
				fetchErr[fileKey{f.Name, f.Version}] = err
				continue
			}
			blobs[fileKey{f.Name, f.Version}] = b
		}
	}

	var durable uint64
	defer e.waitDurable(&durable) // the answer waits for the commit, outside the lock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	nowT := e.cfg.Clock.Now()
	now := nowT.UnixNano()
	out := make([]PushResult, len(files))
	if a.apps[appID] == nil && !e.cfg.StrictApps && len(a.apps) >= e.cfg.MaxAppsPerAccount {
		why := "the account already holds the maximum of " + strconv.Itoa(e.cfg.MaxAppsPerAccount) + " applications"
		for i, f := range files {
			out[i] = PushResult{Name: f.Name, Version: f.Version, Code: CodeFailed, Descrip: why}
		}
		return out, nil
	}
	p, err := e.appLocked(a, appID, true)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		k := fileKey{f.Name, f.Version}
		res := &out[i]
		res.Name, res.Version = f.Name, f.Version
		rec := p.files[k]
		miss := e.missing(rec, targets, now)
		switch {
		case len(targets) == 0:
			res.Code, res.Descrip = CodeFailed, e.noTargets(st)
			continue
		case rec != nil && len(miss) == 0:
			if pending := e.pending(rec, targets, now); pending > 0 {
				res.Code, res.Descrip = CodePushing, "pushing: "+strconv.Itoa(pending)+" of "+strconv.Itoa(len(targets))+" file servers still pushing"
			} else {
				res.Code, res.Descrip = CodePushed, "success"
			}
			continue
		}
		if rec == nil && a.files >= e.cfg.MaxFilesPerAccount {
			res.Code, res.Descrip = CodeFailed, "the account already holds the maximum of "+strconv.Itoa(e.cfg.MaxFilesPerAccount)+" data files"
			continue
		}
		if rec == nil && a.stateBytes+e.FileCost(f) > e.cfg.MaxStateBytesPerAccount {
			res.Code, res.Descrip = CodeFailed, "the account's data files would exceed "+strconv.FormatInt(e.cfg.MaxStateBytesPerAccount, 10)+" bytes of state"
			continue
		}
		if err := fetchErr[k]; err != nil {
			res.Code, res.Descrip = CodeFailed, "data source unreachable: "+err.Error()
			continue
		}
		if b := blobs[k]; overBudget[k] || (b != nil && (rec == nil || rec.blob == nil) && a.blobBytes+b.Len() > e.cfg.MaxFetchedBytesPerAccount) {
			res.Code, res.Descrip = CodeFailed, "the account's fetched data would exceed "+strconv.FormatInt(e.cfg.MaxFetchedBytesPerAccount, 10)+" bytes"
			continue
		}
		fc := f
		if rec != nil {
			fc = rec.DataFile // the first push of a (name, version) defines it
		}
		pc := PushContext{Account: acct, App: appID, File: fc, Targets: e.servers(miss)}
		if e.cfg.Hooks != nil {
			if why := e.cfg.Hooks.PrePush(pc); why != "" {
				res.Code, res.Descrip = CodeFailed, why
				continue
			}
		}
		if rec == nil {
			rec = &file{DataFile: f, created: now}
			p.files[k] = rec
			p.addFile(rec)
			a.files++
			a.stateBytes += e.FileCost(f)
		}
		if rec.blob == nil && blobs[k] != nil {
			rec.blob = blobs[k]
			a.blobBytes += rec.blob.Len()
		}
		rec.attempts++
		e.start(rec, pc, now)
		p.touch(e.ix, rec)
		res.Code, res.Descrip = CodeStarted, "success"
		durable = max(durable, e.persistFile(a, acct, appID, rec))
	}
	return out, nil
}

// noTargets explains a strategy that selects no file server, naming the
// region ids it gives that the topology lacks and the regions that exist (the
// first 20 of them), so the user can fix the strategy.
func (e *Engine) noTargets(st Strategy) string {
	var b strings.Builder
	b.WriteString("no file server available in the target regions")
	var unknown []string
	seen := map[string]bool{}
	for _, sel := range st {
		for _, v := range sel.Values {
			if _, ok := e.ix.byRegion[v]; !ok && !seen[v] && len(unknown) < 10 {
				seen[v] = true
				unknown = append(unknown, strconv.Quote(v))
			}
		}
	}
	if len(unknown) > 0 {
		b.WriteString(": no region " + strings.Join(unknown, ", "))
	} else {
		b.WriteString(": the strategy excludes every region")
	}
	const shown = 20
	regions := e.ix.regions
	fmt.Fprintf(&b, "; the regions are %s", strings.Join(regions[:min(len(regions), shown)], ", "))
	if len(regions) > shown {
		fmt.Fprintf(&b, " and %d more", len(regions)-shown)
	}
	return b.String()
}

// FileCost is what one data file counts against MaxStateBytesPerAccount: a
// fixed 320 bytes (its record, map entries, order and summary), its strings,
// and 24 bytes per file server of the topology (the most replicas it can have).
func (e *Engine) FileCost(f DataFile) int64 {
	return 320 + int64(len(f.Name)+len(f.Version)+len(f.URL)+len(f.MD5)+len(f.ArchiveType)) + 24*int64(len(e.ix.servers))
}

// missing lists the target servers that have no replica of rec or a FAILED one.
// targets and rec.replicas are both in increasing server order, so one merge
// walk answers it: linear in their lengths, however many file servers there are.
func (e *Engine) missing(rec *file, targets []int, now int64) []int {
	if rec == nil {
		return targets
	}
	var out []int
	j := 0
	for _, t := range targets {
		for j < len(rec.replicas) && int(rec.replicas[j].server) < t {
			j++
			probe()
		}
		probe()
		if j == len(rec.replicas) || int(rec.replicas[j].server) != t || rec.replicas[j].status(now) == StatusFailed {
			out = append(out, t)
		}
	}
	return out
}

// pending counts the target servers whose replica of rec is still PUSHING (a merge walk, as missing).
func (e *Engine) pending(rec *file, targets []int, now int64) int {
	n, j := 0, 0
	for _, t := range targets {
		for j < len(rec.replicas) && int(rec.replicas[j].server) < t {
			j++
			probe()
		}
		probe()
		if j < len(rec.replicas) && int(rec.replicas[j].server) == t && rec.replicas[j].status(now) == StatusPushing {
			n++
		}
	}
	return n
}

// probes counts replica comparisons when countProbes is set (tests assert that
// push stays linear in the number of file servers).
var (
	countProbes bool
	probes      atomic.Int64
)

func probe() {
	if countProbes {
		probes.Add(1)
	}
}

// servers returns the file servers of ix, a list of server indexes in
// increasing order: when it holds every server, the index's own list (shared,
// read-only), else a new slice.
func (e *Engine) servers(ix []int) []Server {
	if all := e.ix.servers; len(ix) == len(all) {
		return all[:len(all):len(all)]
	}
	out := make([]Server, len(ix))
	for i, s := range ix {
		out[i] = e.ix.servers[s]
	}
	return out
}

// start begins (or restarts) the transfers of rec to pc.Targets at now.
// pc.Targets are in increasing server order; rec.replicas stay sorted by server.
func (e *Engine) start(rec *file, pc PushContext, now int64) {
	size := min(max(rec.Size, 0), MaxDeclaredSize)
	if rec.blob != nil {
		size = rec.blob.Len()
	}
	if rec.replicas == nil {
		rec.replicas = make([]replica, 0, len(pc.Targets))
	}
	var plan ReplicaPlan // one for all replicas: the hook's pointer makes it escape
	fileHash := jitterHashFile(e.seedHash, rec.Name, rec.Version)
	have, j := len(rec.replicas), 0 // replicas before this push: the sorted part walked below
	for _, s := range pc.Targets {
		plan = ReplicaPlan{Duration: e.transfer(fileHash, rec.attempts, s, size)}
		if rec.blob != nil && rec.blob.Fail != "" {
			plan.Duration, plan.Fail = e.cfg.BaseLatency, rec.blob.Fail
		}
		if e.cfg.Hooks != nil {
			e.cfg.Hooks.Replica(pc, s, &plan)
		}
		plan.Duration = min(max(plan.Duration, 0), maxTransfer)
		if rec.Timeout > 0 && rec.Timeout <= maxTimeoutSeconds {
			if t := time.Duration(rec.Timeout) * time.Second; plan.Duration > t {
				plan.Fail = fmt.Sprintf("push timed out after %ds: the transfer to %s needs %s", rec.Timeout, s.ID, plan.Duration.Round(time.Millisecond))
				plan.Duration = t
			}
		}
		r := replica{server: uint16(s.Index), attempt: rec.attempts, start: now, done: now + int64(plan.Duration)}
		var old *replica
		for j < have && int(rec.replicas[j].server) < s.Index { // merge walk: both in server order
			j++
			probe()
		}
		probe()
		if j < have && int(rec.replicas[j].server) == s.Index {
			old = &rec.replicas[j]
			old.fail = 0 // restarted: its old failure no longer counts
		}
		r.fail = rec.failIndex(plan.Fail)
		if old != nil {
			*old = r
		} else {
			rec.replicas = append(rec.replicas, r)
		}
	}
	if len(rec.replicas) > have && have > 0 && rec.replicas[have-1].server > rec.replicas[have].server {
		// new servers among old ones: merge the two sorted runs
		slices.SortFunc(rec.replicas, func(a, b replica) int { return int(a.server) - int(b.server) })
	}
}
