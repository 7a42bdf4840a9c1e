package wire

import (
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"sync/atomic"
)

// A memo remembers, for one parameter of one operation, raw values that passed
// validation, so that what clients repeat (their AppId, the same Data pushed
// again, the same DataNames and paging of a describe) is checked by kin-openapi
// once or twice instead of on every request.
//
// It is exact: a parameter's verdict depends only on its schema and its raw
// value, and only values that passed are kept (a refused value is checked, and
// refused with its detail, every time).
//
// It is bounded: memoBuckets buckets of two slots per parameter, each holding
// one value of at most memoMaxLen bytes (and, for a JSON parameter, the value
// kin-openapi decoded, which the action reads and never changes), plus a
// doorkeeper of memoDoor hashes. A value is kept only when it passes a second
// time while its hash is still noted at one of its two doors, so a stream of
// values seen once (each new file's Data) never displaces the values that
// repeat. In a full bucket, a value not used since the bucket last had to
// choose gives way.
//
// Slots are atomic pointers and the door atomic words: requests never wait on
// each other.
type memo struct {
	seed    maphash.Seed
	buckets [memoBuckets][2]atomic.Pointer[memoEntry]
	door    [memoDoor]atomic.Uint64
}

const (
	memoBuckets = 256
	memoDoor    = 512
	memoMaxLen  = 1024
)

type memoEntry struct {
	raw     string
	decoded any // a JSON parameter's decoded value; nil for the others
	used    atomic.Bool
}

func newMemo() *memo { return &memo{seed: maphash.MakeSeed()} }

// get returns the entry for raw if raw passed validation before and is still held.
func (m *memo) get(raw string) *memoEntry {
	if len(raw) > memoMaxLen {
		return nil
	}
	b := &m.buckets[maphash.String(m.seed, raw)%memoBuckets]
	for i := range b {
		if e := b[i].Load(); e != nil && e.raw == raw {
			if !e.used.Load() { // write the shared mark only when it changes
				e.used.Store(true)
			}
			return e
		}
	}
	return nil
}

// put records that raw passed validation (decoded: its JSON value, if any). The
// first time, only its hash is noted at the door; the second time, it takes an
// empty slot of its bucket or one not used since the bucket last had to choose.
// When both were used, both lose their mark and raw waits for another turn.
func (m *memo) put(raw string, decoded any) {
	if len(raw) > memoMaxLen {
		return
	}
	h := maphash.String(m.seed, raw)
	// Two doors per value, the one written chosen at random, so that two values
	// sharing a door cannot keep overwriting each other's note forever.
	d1, d2 := &m.door[(h>>32)%memoDoor], &m.door[(h>>48)%memoDoor]
	if d1.Load() != h && d2.Load() != h {
		if rand.Uint32()&1 == 0 {
			d1.Store(h)
		} else {
			d2.Store(h)
		}
		return
	}
	b := &m.buckets[h%memoBuckets]
	for i := range b {
		if e := b[i].Load(); e == nil || !e.used.Load() {
			// A copy: raw is usually a slice of the request's whole query
			// or form body (url.ParseQuery keeps a value unescaped in place),
			// which the memo must not keep alive.
			b[i].Store(&memoEntry{raw: strings.Clone(raw), decoded: decoded})
			return
		}
	}
	for i := range b {
		b[i].Load().used.Store(false)
	}
}
