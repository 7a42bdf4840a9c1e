package wire

import (
	"hash/maphash"
	"sync/atomic"
)

// A memo remembers, for one parameter of one operation, raw values that passed
// validation, so that what a client repeats on every request (Action, Version,
// Format, AccessKeyId, its AppId, this second's Timestamp, the same Data pushed
// again) is checked by kin-openapi once instead of on every request.
//
// It is exact: a parameter's verdict depends only on its schema and its raw
// value, and only values that passed are kept (a refused value is checked, and
// refused with its detail, every time). It is bounded: memoSlots direct-mapped
// slots per parameter, each holding one value of at most memoMaxLen bytes (and,
// for a JSON parameter, the value kin-openapi decoded, which the action reads
// and never changes); a new value replaces whatever shared its slot. Slots are
// atomic pointers, so concurrent requests never wait on each other.
type memo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

const (
	memoSlots  = 64
	memoMaxLen = 1024
)

type memoEntry struct {
	raw     string
	decoded any // a JSON parameter's decoded value; nil for the others
}

func newMemo() *memo { return &memo{seed: maphash.MakeSeed()} }

func (m *memo) slot(raw string) *atomic.Pointer[memoEntry] {
	return &m.slots[maphash.String(m.seed, raw)%memoSlots]
}

// get returns the entry for raw if raw passed validation before and is still held.
func (m *memo) get(raw string) *memoEntry {
	if len(raw) > memoMaxLen {
		return nil
	}
	if e := m.slot(raw).Load(); e != nil && e.raw == raw {
		return e
	}
	return nil
}

// put remembers that raw passed validation (decoded: its JSON value, if any).
func (m *memo) put(raw string, decoded any) {
	if len(raw) > memoMaxLen {
		return
	}
	m.slot(raw).Store(&memoEntry{raw: raw, decoded: decoded})
}
