package engine

import (
	"hash/maphash"
	"math"
	"slices"
)

// The Describe scan. An app keeps, next to its files in order of first push, a
// compact summary of each (fileMeta, 24 bytes) so that filtering 100,000 files
// reads a few megabytes sequentially instead of chasing a pointer per file.

// fileMeta summarises p.order[i] for the Describe filters.
type fileMeta struct {
	created  int64  // unix nanos of first push
	name     uint32 // hash of the name (a hint: equal strings are confirmed)
	version  uint32 // the version's id in app.verID (exact)
	regions  uint64 // bit regionBit(r) set when a replica is in region r
	overflow bool   // a replica is in a region beyond bit 63: check the replicas
}

var hashSeed = maphash.MakeSeed()

func hash32(s string) uint32 {
	h := maphash.String(hashSeed, s)
	return uint32(h) ^ uint32(h>>32)
}

// addFile appends rec to the app's order and summary.
func (p *app) addFile(rec *file) {
	rec.pos = int32(len(p.order))
	p.order = append(p.order, rec)
	if p.byName == nil {
		p.byName, p.verID = map[string][]int32{}, map[string]uint32{}
	}
	v, ok := p.verID[rec.Version]
	if !ok {
		v = uint32(len(p.verID))
		p.verID[rec.Version] = v
	}
	p.meta = append(p.meta, fileMeta{created: rec.created, name: hash32(rec.Name), version: v})
	p.byName[rec.Name] = append(p.byName[rec.Name], rec.pos)
}

// touch refreshes the region summary of rec after replicas were started.
func (p *app) touch(ix *index, rec *file) {
	m := &p.meta[rec.pos]
	for i := range rec.replicas {
		b := ix.regionBit[rec.replicas[i].server]
		if b == 0 {
			m.overflow = true
		}
		m.regions |= b
	}
}

// filter is a compiled DescribeQuery.
type filter struct {
	names, versions map[string]bool
	nameH, verH     []uint32
	regions         map[string]bool
	regionMask      uint64
	minN, maxN      int64
}

func hashes(m map[string]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for s := range m {
		out = append(out, hash32(s))
	}
	return out
}

func hasHash(hs []uint32, h uint32) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func (e *Engine) compileFilter(names, versions, regions map[string]bool, minN, maxN int64) *filter {
	f := &filter{names: names, versions: versions, regions: regions, minN: minN, maxN: maxN}
	if names != nil {
		f.nameH = hashes(names)
	}
	for r := range regions {
		f.regionMask |= e.ix.regionBitOf[r]
	}
	return f
}

// bind resolves the versions of f to p's version ids.
func (f *filter) bind(p *app) {
	if f.versions == nil {
		return
	}
	f.verH = []uint32{}
	for v := range f.versions {
		if id, ok := p.verID[v]; ok {
			f.verH = append(f.verH, id)
		}
	}
}

// match reports whether file i of p passes f, reading p.order[i] only when the
// summary cannot decide.
func (f *filter) match(ix *index, p *app, i int) bool {
	m := &p.meta[i]
	if m.created < f.minN || m.created > f.maxN {
		return false
	}
	if f.nameH != nil && !hasHash(f.nameH, m.name) {
		return false
	}
	if f.versions != nil && !hasHash(f.verH, m.version) {
		return false
	}
	if f.regions != nil && m.regions&f.regionMask == 0 && !m.overflow {
		return false
	}
	if f.names == nil && (f.regions == nil || (m.regions&f.regionMask != 0)) {
		return true
	}
	rec := p.order[i]
	return (f.names == nil || f.names[rec.Name]) &&
		(f.regions == nil || m.regions&f.regionMask != 0 || rec.inRegions(ix, f.regions))
}

// unfiltered reports whether f selects every file.
func (f *filter) unfiltered() bool {
	return f.names == nil && f.versions == nil && f.regions == nil && f.minN == math.MinInt64 && f.maxN == math.MaxInt64
}

// scan returns the files of p selected by f in [from, to) (to < 0: no bound)
// and how many files f selects in all.
func (f *filter) scan(ix *index, p *app, from, to int) (page []*file, total int) {
	if f.unfiltered() {
		total = len(p.order)
		hi := total
		if to >= 0 && to < hi {
			hi = to
		}
		if from < hi {
			page = p.order[from:hi]
		}
		return page, total
	}
	f.bind(p)
	visit := func(i int) {
		if !f.match(ix, p, i) {
			return
		}
		if total >= from && (to < 0 || total < to) {
			page = append(page, p.order[i])
		}
		total++
	}
	if f.names != nil && len(f.names) <= 1024 {
		// only the files of the named names can match: visit those, in order
		var pos []int32
		for n := range f.names {
			pos = append(pos, p.byName[n]...)
		}
		slices.Sort(pos)
		for _, i := range pos {
			visit(int(i))
		}
		return page, total
	}
	for i := range p.meta {
		visit(i)
	}
	return page, total
}

// locate counts the files of p that f selects, and finds the position in
// p.order of the from-th of them (len(p.order) when there are fewer).
func (f *filter) locate(ix *index, p *app, from int) (total, start int) {
	start = len(p.order)
	if f.unfiltered() {
		return len(p.order), min(from, len(p.order))
	}
	f.bind(p)
	f.each(ix, p, 0, func(i int) bool {
		if total == from {
			start = i
		}
		total++
		return true
	})
	return total, start
}

// collect returns up to n files of p that f selects, from position start of
// p.order on, and the position after the last one visited.
func (f *filter) collect(ix *index, p *app, start, n int) (page []*file, next int) {
	if f.unfiltered() {
		hi := min(start+n, len(p.order))
		if start >= hi {
			return nil, len(p.order)
		}
		return p.order[start:hi], hi
	}
	f.bind(p)
	next = len(p.order)
	f.each(ix, p, start, func(i int) bool {
		page = append(page, p.order[i])
		if len(page) == n {
			next = i + 1
			return false
		}
		return true
	})
	return page, next
}

// each calls fn, in order, with the position of every file of p from start on
// that f selects, until fn returns false. f is bound to p.
func (f *filter) each(ix *index, p *app, start int, fn func(i int) bool) {
	if f.names != nil && len(f.names) <= 1024 {
		var pos []int32
		for n := range f.names {
			pos = append(pos, p.byName[n]...)
		}
		slices.Sort(pos)
		for _, i := range pos {
			if int(i) >= start && f.match(ix, p, int(i)) && !fn(int(i)) {
				return
			}
		}
		return
	}
	for i := start; i < len(p.meta); i++ {
		if f.match(ix, p, i) && !fn(i) {
			return
		}
	}
}
