package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Distribution (DistApplicationData, DescribeDataDistResult): a data file
// already pushed to file servers is copied from the file servers of each
// instance's ENS node to the instance, on the mock's clock, with the push's
// seeded transfer model.

// Status of an instance replica in DescribeDataDistResult (the metadata's enum).
const (
	DistSuccess  = "SUCCESS"
	DistFailed   = "FAILED"
	DistDisting  = "DISTING"
	DistDeleted  = "DELETED"
	DistCodeOK   = 0   // DistApplicationData ResultCode: the distribution started
	DistCodeFail = 400 // DistApplicationData ResultCode: refused, ResultDescrip says why
)

var distStatusOrder = []string{DistSuccess, DistFailed, DistDisting, DistDeleted}

// DistFile is one item of DistApplicationData's Data parameter.
type DistFile struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	DestPath      string `json:"destPath"`
	Decompress    bool   `json:"decompress"`
	TargetDirName string `json:"targetDirName"`
	FileMode      int64  `json:"fileMode"`
	Timeout       int64  `json:"timeout"` // seconds; 0: no limit
}

// MatchExpr is one match expression of a DistStrategy: Key region_id or
// instance_id, Operator In or NotIn.
type MatchExpr struct {
	Key      string
	Operator string
	Values   []string
}

// DistStrategy is a list of match expressions that must all hold; empty selects every instance.
type DistStrategy []MatchExpr

// compiledStrategy is a DistStrategy with its values in sets (a canary may
// list thousands of instances, and every instance of the app is tested).
type compiledStrategy []struct {
	instance, notIn bool
	values          map[string]struct{}
}

func (st DistStrategy) compile() compiledStrategy {
	out := make(compiledStrategy, len(st))
	for i, m := range st {
		out[i].instance, out[i].notIn = m.Key == "instance_id", m.Operator == "NotIn"
		out[i].values = make(map[string]struct{}, len(m.Values))
		for _, v := range m.Values {
			out[i].values[v] = struct{}{}
		}
	}
	return out
}

func (st compiledStrategy) matches(region, id string) bool {
	for _, m := range st {
		v := region
		if m.instance {
			v = id
		}
		if _, in := m.values[v]; in == m.notIn {
			return false
		}
	}
	return true
}

// DistContext describes a distribution about to start, for DistHooks.
type DistContext struct {
	Account, App string
	File         DistFile
}

// DistHooks, when the Config's Hooks also implement it, may change the plan
// of the transfer of a data file to one instance (faults on instances).
type DistHooks interface {
	Dist(d DistContext, instanceID, region string, from Server, plan *ReplicaPlan)
}

type dist struct {
	name, version string
	created       int64
	pos           int       // index in appExt.distOrder
	reps          []distRep // sorted by inst
	fails         []string
}

// distRep is one data file on one instance: 24 bytes, no pointer.
type distRep struct {
	inst    uint32 // index in appExt.instances
	attempt uint16
	fail    uint16 // 0: none; else dist.fails[fail-1]
	start   int64
	done    int64
}

func (r *distRep) status(now int64, deleting bool) string {
	switch {
	case deleting:
		return DistDeleted
	case now < r.done:
		return DistDisting
	case r.fail != 0:
		return DistFailed
	}
	return DistSuccess
}

func (d *dist) descrip(r *distRep, now int64, deleting bool) string {
	return repDescrip(r, d.fails, now, deleting)
}

// repDescrip is the StatusDescrip of replica r of a file whose failure
// descriptions are fails.
func repDescrip(r *distRep, fails []string, now int64, deleting bool) string {
	switch r.status(now, deleting) {
	case DistDeleted:
		return "deleted: the application is being deleted"
	case DistDisting:
		return "distributing"
	case DistFailed:
		return fails[r.fail-1]
	}
	return "success"
}

// maxDistFails bounds the distinct failure descriptions one distributed file keeps.
const maxDistFails = 1024

// failIndex records a failure description in d.fails and returns its
// reference (0 for none). *ix indexes d.fails; it is built on the first
// failure, so that a distribution to many instances that fail with their own
// descriptions looks each up once, not against every description kept.
func (d *dist) failIndex(why string, ix *map[string]uint16) uint16 {
	if why == "" {
		return 0
	}
	if *ix == nil {
		*ix = make(map[string]uint16, len(d.fails))
		for i, s := range d.fails {
			(*ix)[s] = uint16(i + 1)
		}
	}
	if i, ok := (*ix)[why]; ok {
		return i
	}
	if len(d.fails) >= maxDistFails {
		return uint16(len(d.fails)) // bounded: the last description stands for the rest
	}
	d.fails = append(d.fails, why)
	(*ix)[why] = uint16(len(d.fails))
	return uint16(len(d.fails))
}

func (d *dist) find(inst uint32) int {
	i, ok := slices.BinarySearchFunc(d.reps, inst, func(r distRep, x uint32) int { return compareInt64(int64(r.inst), int64(x)) })
	if !ok {
		return -1
	}
	return i
}

// DistResult is the outcome of one data file of a DistApplicationData.
type DistResult struct {
	Name, Version string
	Code          int
	Descrip       string
}

// DistOutcome is DistApplicationData's answer: the target instances and one result per file.
type DistOutcome struct {
	Instances []string
	Results   []DistResult
}

// Dist distributes data files already pushed to the file servers to the
// instances of appID that st selects. A *ParamError or an app error changes
// no state.
func (e *Engine) Dist(acct, appID string, files []DistFile, st DistStrategy) (DistOutcome, error) {
	var out DistOutcome
	seen := make(map[fileKey]struct{}, len(files))
	for _, f := range files {
		k := fileKey{f.Name, f.Version}
		if _, dup := seen[k]; dup {
			return out, &ParamError{"Data", fmt.Sprintf("data file %q version %q is listed twice", f.Name, f.Version)}
		}
		seen[k] = struct{}{}
	}
	a := e.account(acct, true)
	var durable uint64
	defer e.waitDurable(&durable) // after the unlock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.apps) >= e.cfg.MaxAppsPerAccount && a.apps[appID] == nil && !e.cfg.StrictApps {
		return out, &ParamError{"AppId", "the account already holds the maximum of " + strconv.Itoa(e.cfg.MaxAppsPerAccount) + " applications"}
	}
	p, err := e.appLocked(a, appID, true)
	if err != nil {
		return out, err
	}
	x := e.ext(a, appID, p)
	var targets []uint32
	cst := st.compile()
	for i, in := range x.instances {
		if cst.matches(e.ix.regions[in.region], in.id) {
			targets = append(targets, uint32(i))
		}
	}
	out.Instances = make([]string, len(targets))
	for i, t := range targets {
		out.Instances[i] = x.instances[t].id
	}
	nowT := e.cfg.Clock.Now()
	now := nowT.UnixNano()
	out.Results = make([]DistResult, len(files))
	for i, f := range files {
		res := &out.Results[i]
		res.Name, res.Version = f.Name, f.Version
		rec := p.files[fileKey{f.Name, f.Version}]
		if rec == nil {
			res.Code, res.Descrip = DistCodeFail, "the data file has not been pushed: push it with PushApplicationData first"
			continue
		}
		holding := e.holdingByRegion(rec, now)
		if len(holding) == 0 {
			res.Code, res.Descrip = DistCodeFail, "no file server holds the data file yet: wait until DescribeDataPushResult reports SUCCESS"
			continue
		}
		if len(targets) == 0 {
			res.Code, res.Descrip = DistCodeFail, "no instance of the application matches DistStrategy"
			continue
		}
		d := x.dists[fileKey{f.Name, f.Version}]
		fresh := 0
		for _, t := range targets {
			if d == nil || d.find(t) < 0 {
				fresh++
			}
		}
		if a.ext.reps+fresh > e.cfg.MaxDistReplicasPerAccount {
			res.Code, res.Descrip = DistCodeFail, "the account would hold more than "+strconv.Itoa(e.cfg.MaxDistReplicasPerAccount)+" distributed replicas"
			continue
		}
		if d == nil {
			d = &dist{name: rec.Name, version: rec.Version, created: now, pos: len(x.distOrder)} // the pushed file's strings, shared
			if x.dists == nil {
				x.dists = map[fileKey]*dist{}
			}
			x.dists[fileKey{f.Name, f.Version}] = d
			x.distOrder = append(x.distOrder, d)
			x.distMeta = append(x.distMeta, now)
		}
		started := e.startDist(acct, appID, x, rec, d, f, targets, holding, now, fresh)
		a.ext.reps += fresh
		x.reps += fresh
		if started { // else every target is DISTING or SUCCESS already: nothing to save again
			durable = max(durable, e.persistDist(a, appID, d.pos, d))
		}
		res.Code, res.Descrip = DistCodeOK, "Success"
	}
	return out, nil
}

// holdingByRegion maps region index → the file servers (indexes) of that
// region holding a SUCCESS replica of rec.
func (e *Engine) holdingByRegion(rec *file, now int64) map[uint16][]int {
	var m map[uint16][]int
	for i := range rec.replicas {
		r := &rec.replicas[i]
		if r.status(now) != StatusSuccess {
			continue
		}
		reg, _ := slices.BinarySearch(e.ix.regions, e.ix.servers[r.server].Region)
		if m == nil {
			m = map[uint16][]int{}
		}
		m[uint16(reg)] = append(m[uint16(reg)], int(r.server))
	}
	for _, s := range m {
		slices.Sort(s)
	}
	return m
}

// startDist starts the transfers of d to the targets (sorted) that do not
// hold it and restarts the FAILED ones; DISTING and SUCCESS instances are left
// as they are. fresh is how many targets have no replica yet. It reports
// whether any transfer started (whether d changed).
func (e *Engine) startDist(acct, appID string, x *appExt, rec *file, d *dist, f DistFile, targets []uint32, holding map[uint16][]int, now int64, fresh int) (started bool) {
	if fresh > 0 { // merge the new instances into the sorted replicas, in one exact-size slice
		merged := make([]distRep, 0, len(d.reps)+fresh)
		i := 0
		for _, t := range targets {
			for i < len(d.reps) && d.reps[i].inst < t {
				merged = append(merged, d.reps[i])
				i++
			}
			if i < len(d.reps) && d.reps[i].inst == t {
				continue
			}
			merged = append(merged, distRep{inst: t})
		}
		merged = append(merged, d.reps[i:]...)
		d.reps = merged
	}
	size := rec.Size
	if rec.blob != nil {
		size = int64(len(rec.blob.Data))
	}
	hooks, _ := e.cfg.Hooks.(DistHooks)
	fileHash := jitterHashFile(e.seedHash, "dist\x00"+rec.Name, rec.Version)
	dc := DistContext{Account: acct, App: appID, File: f}
	var failIx map[string]uint16
	j := 0
	for _, t := range targets {
		for d.reps[j].inst != t {
			j++
		}
		r := &d.reps[j]
		if r.attempt > 0 && (now < r.done || r.fail == 0) {
			continue // DISTING goes on, SUCCESS stays: only new and FAILED instances (re)start
		}
		in := &x.instances[t]
		region := e.ix.regions[in.region]
		var plan ReplicaPlan
		var from Server
		if hs := holding[in.region]; len(hs) == 0 {
			plan.Fail = "the file servers of " + region + " do not hold the data file: push it there first"
		} else {
			from = e.ix.servers[hs[int(fnv64a(fnvOffset, in.id)%uint64(len(hs)))]]
			plan.Duration = e.transfer(fnv64a(fileHash, in.id), r.attempt+1, from, size)
			if hooks != nil {
				hooks.Dist(dc, in.id, region, from, &plan)
			}
			if plan.Duration < 0 {
				plan.Duration = 0
			}
			if lim := time.Duration(f.Timeout) * time.Second; f.Timeout > 0 && plan.Duration > lim {
				plan.Fail = fmt.Sprintf("distribution timed out after %ds: the transfer from %s needs longer", f.Timeout, from.ID)
				plan.Duration = lim
			}
		}
		if r.attempt < math.MaxUint16 {
			r.attempt++
		}
		r.start, r.done = now, now+int64(plan.Duration)
		r.fail = d.failIndex(plan.Fail, &failIx)
		started = true
	}
	return started
}

// DistQuery is DescribeDataDistResult's input. Zero fields do not filter.
type DistQuery struct {
	AppID            string
	Names, Versions  []string
	InstanceIDs      []string
	Regions          []string
	MinDate, MaxDate time.Time // dates, inclusive, on the first distribution of a file
	PageNumber       int       // from 1
	PageSize         int       // 0: every matching file
}

// DistFileStatus is the distribution status of one data file, grouped by status.
type DistFileStatus struct {
	Name, Version string
	Stats         []DistStatusStat // in the order SUCCESS, FAILED, DISTING, DELETED; empty groups omitted
}

// DistStatusStat groups the instances of one file that share a status.
type DistStatusStat struct {
	Status    string
	Instances []InstanceStatus
}

// InstanceStatus is one instance's status for one file.
type InstanceStatus struct {
	InstanceID    string
	Start, Update time.Time
	Descrip       string
}

// DistDescribeResult is DescribeDataDistResult's output.
type DistDescribeResult struct {
	PageNumber, PageSize, Total int
	Files                       []DistFileStatus
}

// distFilter is a DistQuery compiled against one app (valid while its a.mu
// is held, or while the app is the same: instances are never removed).
type distFilter struct {
	names, versions map[string]bool
	insts           map[uint32]bool // nil: every instance
	minN, maxN      int64
}

func (e *Engine) distFilter(x *appExt, q DistQuery) distFilter {
	flt := distFilter{names: set(q.Names), versions: set(q.Versions)}
	if len(q.InstanceIDs) > 0 || len(q.Regions) > 0 {
		regions := set(q.Regions)
		flt.insts = map[uint32]bool{}
		if len(q.InstanceIDs) > 0 { // look the listed instances up
			for _, id := range q.InstanceIDs {
				if i, ok := x.byID[id]; ok && (regions == nil || regions[e.ix.regions[x.instances[i].region]]) {
					flt.insts[uint32(i)] = true
				}
			}
		} else {
			for i, in := range x.instances {
				if regions[e.ix.regions[in.region]] {
					flt.insts[uint32(i)] = true
				}
			}
		}
	}
	flt.minN, flt.maxN = dayRange(q.MinDate, q.MaxDate)
	return flt
}

// match reports whether the i-th distributed file of x passes the filter.
func (flt *distFilter) match(x *appExt, i int) bool {
	d := x.distOrder[i]
	if c := x.distMeta[i]; c < flt.minN || c > flt.maxN {
		return false
	}
	if (flt.names != nil && !flt.names[d.name]) || (flt.versions != nil && !flt.versions[d.version]) {
		return false
	}
	return flt.insts == nil || d.touches(flt.insts)
}

// DescribeDist answers DescribeDataDistResult whole: the files distributed
// for the app (in order of first distribution) that pass the filters, paged;
// each lists only the instances that pass the instance and region filters.
// The API writes its answer with DescribeDistEach instead, in bounded parts.
func (e *Engine) DescribeDist(acct string, q DistQuery) (DistDescribeResult, error) {
	res := DistDescribeResult{PageNumber: max(q.PageNumber, 1), PageSize: q.PageSize}
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return res, ErrUnknownApp
		}
		return res, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := e.appLocked(a, q.AppID, false)
	if err != nil || p == nil || p.x == nil {
		return res, err
	}
	x := p.x
	now := e.cfg.Clock.Now().UnixNano()
	deleting := x.deleteAt != 0
	flt := e.distFilter(x, q)
	from, to := 0, -1
	if q.PageSize > 0 {
		from = (res.PageNumber - 1) * q.PageSize
		to = from + q.PageSize
	}
	for i, d := range x.distOrder {
		if !flt.match(x, i) {
			continue
		}
		if res.Total >= from && (to < 0 || res.Total < to) {
			res.Files = append(res.Files, e.distStatus(x, d, flt.insts, now, deleting))
		}
		res.Total++
	}
	return res, nil
}

// DistFileHead is what DescribeDistEach reports of a file before its
// instances: the size of each status group that is not empty, in the order
// SUCCESS, FAILED, DISTING, DELETED.
type DistFileHead struct {
	Name, Version string
	Groups        []DistGroupSize
}

// DistGroupSize is the number of instances of a file in one status.
type DistGroupSize struct {
	Status string
	Count  int
}

// DescribeDistEach answers DescribeDataDistResult in parts: head with the
// total (the files that pass the filters when the answer starts), then for
// each file of the page, in order, file with its groups' sizes, then part
// with its instances in group order, at most chunk at a time (a part never
// spans two files). Only one file's replicas (24 bytes each) are copied at a
// time, under the account lock; the lock is released between files and while
// the callbacks run. Each file's statuses are as of the moment it is copied,
// so its group sizes always equal the instances reported. A reset or deletion
// of the app during the answer ends it early.
func (e *Engine) DescribeDistEach(acct string, q DistQuery, chunk int, head func(DistDescribeResult) error,
	file func(DistFileHead) error, part func([]InstanceStatus) error) error {
	res := DistDescribeResult{PageNumber: max(q.PageNumber, 1), PageSize: q.PageSize}
	chunk = max(chunk, 1)
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return ErrUnknownApp
		}
		return head(res)
	}
	a.mu.Lock()
	p, err := e.appLocked(a, q.AppID, false)
	if err != nil || p == nil || p.x == nil {
		a.mu.Unlock()
		if err != nil {
			return err
		}
		return head(res)
	}
	x := p.x
	flt := e.distFilter(x, q)
	from, left := 0, -1
	if q.PageSize > 0 {
		from, left = (res.PageNumber-1)*q.PageSize, q.PageSize
	}
	next := len(x.distOrder) // the first file of the page
	for i := range x.distOrder {
		if flt.match(x, i) {
			if res.Total == from {
				next = i
			}
			res.Total++
		}
	}
	a.mu.Unlock()
	if err := head(res); err != nil {
		return err
	}
	if n := max(res.Total-from, 0); left < 0 || n < left {
		left = n
	}
	var reps []distRep
	buf := make([]InstanceStatus, 0, chunk)
	for ; left > 0; left-- {
		a.mu.Lock()
		if e.account(acct, false) != a || a.apps[q.AppID] != p || p.x != x || next >= len(x.distOrder) {
			a.mu.Unlock()
			return nil // reset or deleted meanwhile
		}
		for next < len(x.distOrder) && !flt.match(x, next) {
			next++
		}
		if next == len(x.distOrder) {
			a.mu.Unlock()
			return nil
		}
		d := x.distOrder[next]
		reps = d.copySelected(reps[:0], flt.insts)
		h := DistFileHead{Name: d.name, Version: d.version}
		fails, instances := d.fails, x.instances // append-only: safe to read after the unlock
		now, deleting := e.cfg.Clock.Now().UnixNano(), x.deleteAt != 0
		a.mu.Unlock()
		next++

		var counts [4]int
		for k := range reps {
			counts[slices.Index(distStatusOrder, reps[k].status(now, deleting))]++
		}
		for g, st := range distStatusOrder {
			if counts[g] > 0 {
				h.Groups = append(h.Groups, DistGroupSize{Status: st, Count: counts[g]})
			}
		}
		if err := file(h); err != nil {
			return err
		}
		for _, g := range h.Groups {
			for k := range reps {
				r := &reps[k]
				if r.status(now, deleting) != g.Status {
					continue
				}
				upd := r.done
				if g.Status == DistDisting {
					upd = r.start
				}
				buf = append(buf, InstanceStatus{InstanceID: instances[r.inst].id, Start: time.Unix(0, r.start).UTC(),
					Update: time.Unix(0, upd).UTC(), Descrip: repDescrip(r, fails, now, deleting)})
				if len(buf) == chunk {
					if err := part(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		if len(buf) > 0 {
			if err := part(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// copySelected appends to dst the replicas of d on the instances insts
// selects (nil: all), in instance order.
func (d *dist) copySelected(dst []distRep, insts map[uint32]bool) []distRep {
	if insts == nil {
		return append(dst, d.reps...)
	}
	for _, i := range d.selected(insts) {
		dst = append(dst, d.reps[i])
	}
	return dst
}

func (d *dist) touches(insts map[uint32]bool) bool {
	if len(insts) < len(d.reps)/8 { // a few instances: look each up
		for in := range insts {
			if d.find(in) >= 0 {
				return true
			}
		}
		return false
	}
	for i := range d.reps {
		if insts[d.reps[i].inst] {
			return true
		}
	}
	return false
}

// selected lists the positions in d.reps of the instances insts selects (nil: all).
func (d *dist) selected(insts map[uint32]bool) []int {
	var out []int
	if len(insts) < len(d.reps)/8 {
		for in := range insts {
			if i := d.find(in); i >= 0 {
				out = append(out, i)
			}
		}
		slices.Sort(out)
		return out
	}
	for i := range d.reps {
		if insts[d.reps[i].inst] {
			out = append(out, i)
		}
	}
	return out
}

func (e *Engine) distStatus(x *appExt, d *dist, insts map[uint32]bool, now int64, deleting bool) DistFileStatus {
	fs := DistFileStatus{Name: d.name, Version: d.version}
	var pos []int // nil: every replica
	if insts != nil {
		pos = d.selected(insts)
	}
	n := len(d.reps)
	if insts != nil {
		n = len(pos)
	}
	at := func(k int) *distRep {
		if insts != nil {
			return &d.reps[pos[k]]
		}
		return &d.reps[k]
	}
	var counts [4]int
	rankOf := func(s string) int { return slices.Index(distStatusOrder, s) }
	for k := range n {
		counts[rankOf(at(k).status(now, deleting))]++
	}
	all := make([]InstanceStatus, 0, n) // one backing array for every group
	for g, st := range distStatusOrder {
		if counts[g] == 0 {
			continue
		}
		from := len(all)
		for k := range n {
			r := at(k)
			if r.status(now, deleting) != st {
				continue
			}
			upd := r.done
			if st == DistDisting {
				upd = r.start
			}
			all = append(all, InstanceStatus{InstanceID: x.instances[r.inst].id, Start: time.Unix(0, r.start).UTC(),
				Update: time.Unix(0, upd).UTC(), Descrip: d.descrip(r, now, deleting)})
		}
		fs.Stats = append(fs.Stats, DistStatusStat{Status: st, Instances: all[from:len(all):len(all)]})
	}
	return fs
}
