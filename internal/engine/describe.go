package engine

// Describe: the per-region status of data files (DescribeDataPushResult) and
// what a download link may serve (Holdings).

import (
	"math"
	"slices"
	"strings"
	"time"
)

// DescribeQuery is DescribeDataPushResult's input. Zero fields do not filter.
type DescribeQuery struct {
	AppID            string
	Names, Versions  []string
	Regions          []string
	MinDate, MaxDate time.Time // dates (UTC midnight), inclusive; zero: unbounded
	PageNumber       int       // from 1
	PageSize         int       // 0: every matching file
}

// DescribeResult is DescribeDataPushResult's output.
type DescribeResult struct {
	PageNumber, PageSize, Total int
	Files                       []FileStatus
}

// FileStatus is the push status of one data file, grouped by status.
type FileStatus struct {
	Name, Version string
	Stats         []StatusStat // in the order SUCCESS, FAILED, PUSHING; empty groups omitted
}

// StatusStat groups the ENS nodes of one file that share a status.
type StatusStat struct {
	Status  string
	Regions []RegionStatus
}

// RegionStatus is one ENS node's status for one file.
type RegionStatus struct {
	RegionID      string
	Start, Update time.Time
	Descrip       string
}

// Describe answers DescribeDataPushResult.
func (e *Engine) Describe(acct string, q DescribeQuery) (DescribeResult, error) {
	res := DescribeResult{PageNumber: q.PageNumber, PageSize: q.PageSize}
	if res.PageNumber < 1 {
		res.PageNumber = 1
	}
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
	if err != nil || p == nil {
		return res, err
	}
	now := e.cfg.Clock.Now().UnixNano()
	names, versions, regions := set(q.Names), set(q.Versions), set(q.Regions)
	minN, maxN := dayRange(q.MinDate, q.MaxDate)
	from, to := 0, -1
	if q.PageSize > 0 {
		from = (res.PageNumber - 1) * q.PageSize
		to = from + q.PageSize
	}
	page, total := e.compileFilter(names, versions, regions, minN, maxN).scan(e.ix, p, from, to)
	res.Total = total
	if len(page) > 0 {
		res.Files = make([]FileStatus, len(page))
		for i, f := range page {
			res.Files[i] = e.fileStatus(f, regions, now)
		}
	}
	return res, nil
}

// DescribeEach answers DescribeDataPushResult in parts, so that an answer
// of any size is written without holding it in memory: it calls head once
// with the page number, the page size asked (0: every matching file) and the
// total, then part with the statuses of at most chunk files at a time, in
// order, until the page (or, unpaged, every file counted in the total) is
// done. The account lock is held while a part is gathered, never while head
// or part run (they write to the network), so pushes go on meanwhile: the
// files are those counted at the start (later ones come after them in order
// and are not reached), each part's statuses as of the moment it was
// gathered. A file can only disappear with a reset of its account, which
// ends the answer early. An error from head or part stops and is returned.
// part must not keep its slice: the next part reuses it.
func (e *Engine) DescribeEach(acct string, q DescribeQuery, chunk int, head func(DescribeResult) error, part func([]FileStatus) error) error {
	res := DescribeResult{PageNumber: max(q.PageNumber, 1), PageSize: q.PageSize}
	chunk = max(chunk, 1)
	names, versions, regions := set(q.Names), set(q.Versions), set(q.Regions)
	minN, maxN := dayRange(q.MinDate, q.MaxDate)
	flt := e.compileFilter(names, versions, regions, minN, maxN)
	from, want := 0, -1
	if q.PageSize > 0 {
		from, want = (res.PageNumber-1)*q.PageSize, q.PageSize
	}
	// first: the total and where the page starts
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return ErrUnknownApp
		}
		return head(res)
	}
	a.mu.Lock()
	p, err := e.appLocked(a, q.AppID, false)
	var start int
	if p != nil {
		res.Total, start = flt.locate(e.ix, p, from)
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if err := head(res); err != nil || p == nil {
		return err
	}
	left := max(res.Total-from, 0)
	if want >= 0 {
		left = min(left, want)
	}
	buf := make([]FileStatus, 0, min(chunk, left))
	for left > 0 {
		a.mu.Lock()
		if a.apps[q.AppID] != p || e.account(acct, false) != a {
			a.mu.Unlock()
			return nil // the app was reset meanwhile
		}
		page, next := flt.collect(e.ix, p, start, min(chunk, left))
		now := e.cfg.Clock.Now().UnixNano()
		buf = buf[:0]
		for _, f := range page {
			buf = append(buf, e.fileStatus(f, regions, now))
		}
		a.mu.Unlock()
		if len(page) == 0 {
			return nil
		}
		if err := part(buf); err != nil {
			return err
		}
		start, left = next, left-len(page)
	}
	return nil
}

// unixNano is t.UnixNano clamped to int64: UnixNano is undefined outside the
// years 1678–2262, and a filter date may be anything from 0000 to 9999.
// dayRange turns the MinDate and MaxDate filters (zero: no bound) into an
// inclusive range of Unix nanoseconds, from MinDate to the end of MaxDate's day.
func dayRange(minDate, maxDate time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !minDate.IsZero() {
		lo = unixNano(minDate)
	}
	if !maxDate.IsZero() {
		if hi = unixNano(maxDate.Add(24 * time.Hour)); hi != math.MaxInt64 && hi != math.MinInt64 {
			hi--
		}
	}
	return lo, hi
}

func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func set(vs []string) map[string]bool {
	if len(vs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func (f *file) inRegions(ix *index, regions map[string]bool) bool {
	for i := range f.replicas {
		if regions[ix.servers[f.replicas[i].server].Region] {
			return true
		}
	}
	return false
}

var statusOrder = []string{StatusSuccess, StatusFailed, StatusPushing}

func rank(status string) int {
	switch status {
	case StatusPushing:
		return 2
	case StatusFailed:
		return 1
	}
	return 0
}

// Holdings returns the file servers selected by st that hold (name, version), the
// data file, and its fetched content (nil in simulate mode). found is false when
// the app or the file does not exist.
func (e *Engine) Holdings(acct, appID, name, version string, st Strategy) (servers []Server, f DataFile, blob *Blob, found bool, err error) {
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return nil, f, nil, false, ErrUnknownApp
		}
		return nil, f, nil, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := e.appLocked(a, appID, false)
	if err != nil || p == nil {
		return nil, f, nil, false, err
	}
	rec := p.files[fileKey{name, version}]
	if rec == nil {
		return nil, f, nil, false, nil
	}
	now := e.cfg.Clock.Now().UnixNano()
	for i := range rec.replicas {
		r := &rec.replicas[i]
		s := e.ix.servers[r.server]
		if r.status(now) == StatusSuccess && st.matches(s.Region) {
			servers = append(servers, s)
		}
	}
	return servers, rec.DataFile, rec.blob, true, nil
}

// regionAgg is one region's aggregate of a file's replicas.
type regionAgg struct {
	region        string
	status        string
	start, update int64
	descrip       string
}

// fileStatus aggregates f's replicas per region: PUSHING if any server of the
// region is pushing, else FAILED if any failed, else SUCCESS. No map: a file has
// replicas on a handful of regions, so a small slice searched linearly is faster.
// The groups share one backing array of RegionStatus.
func (e *Engine) fileStatus(f *file, regions map[string]bool, now int64) FileStatus {
	var stack [16]regionAgg
	aggs := stack[:0]
	var byRegion map[string]int // beyond len(stack) regions
	for i := range f.replicas {
		r := &f.replicas[i]
		region := e.ix.servers[r.server].Region
		if regions != nil && !regions[region] {
			continue
		}
		st := r.status(now)
		upd := r.start
		if st != StatusPushing {
			upd = r.done
		}
		var g *regionAgg
		if byRegion != nil {
			if j, ok := byRegion[region]; ok {
				g = &aggs[j]
			}
		} else {
			for j := range aggs {
				if aggs[j].region == region {
					g = &aggs[j]
					break
				}
			}
		}
		if g == nil {
			aggs = append(aggs, regionAgg{region: region, status: st, start: r.start, update: upd, descrip: f.descrip(r, now)})
			if byRegion != nil {
				byRegion[region] = len(aggs) - 1
			} else if len(aggs) > len(stack) {
				// many regions: index them, so the aggregation stays linear
				byRegion = make(map[string]int, len(aggs)*2)
				for j := range aggs {
					byRegion[aggs[j].region] = j
				}
			}
			continue
		}
		g.start = min(g.start, r.start)
		g.update = max(g.update, upd)
		if rank(st) > rank(g.status) {
			g.status, g.descrip = st, f.descrip(r, now)
		}
	}
	if len(aggs) <= len(stack) { // insertion sort by region id: few elements
		for i := 1; i < len(aggs); i++ {
			for j := i; j > 0 && aggs[j].region < aggs[j-1].region; j-- {
				aggs[j], aggs[j-1] = aggs[j-1], aggs[j]
			}
		}
	} else {
		slices.SortFunc(aggs, func(a, b regionAgg) int { return strings.Compare(a.region, b.region) })
	}
	fs := FileStatus{Name: f.Name, Version: f.Version}
	if len(aggs) == 0 {
		return fs
	}
	all := make([]RegionStatus, 0, len(aggs))
	for _, st := range statusOrder {
		from := len(all)
		for j := range aggs {
			if g := &aggs[j]; g.status == st {
				all = append(all, RegionStatus{RegionID: g.region, Start: time.Unix(0, g.start).UTC(), Update: time.Unix(0, g.update).UTC(), Descrip: g.descrip})
			}
		}
		if len(all) > from {
			fs.Stats = append(fs.Stats, StatusStat{Status: st, Regions: all[from:len(all):len(all)]})
		}
	}
	return fs
}
