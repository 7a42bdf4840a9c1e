package mock

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/ensmock/ensmock/internal/wire"
)

// DefaultNonceCapacity bounds the nonces remembered per AccessKeyId: 65,536,
// about 3.5 MiB at the cap (nonceEntryBytes each). It covers the whole
// 15-minute window up to ~72 signed requests per second of one key; beyond that
// that key's oldest nonces are forgotten first, so a replay is still refused
// within the last 65,536 signed requests of the same key, whatever the other
// keys send. Options.NonceCapacity changes it.
const DefaultNonceCapacity = 1 << 16

// MaxNonceEntries bounds the nonces remembered across all keys, about 28 MiB
// at the cap: with many credentials each key's capacity is lowered to its share
// (MaxNonceEntries / keys, at least 16), so memory never grows with the
// number of keys beyond that.
const MaxNonceEntries = 1 << 19

// nonceEntryBytes is the memory one remembered nonce takes at the cap: 16
// bytes in the ring plus a map slot (8-byte key, 8-byte value, control byte,
// load factor and the map's power-of-two growth), measured by
// TestNonceCacheBytes (52 B).
const nonceEntryBytes = 56

// nonceCache remembers the nonces of verified requests for TimestampWindow,
// per AccessKeyId: a request older than that is refused by its timestamp
// anyway. Each key has its own bounded store, so a flood of one key's
// requests can never push another key's nonce out of its replay window.
// Memory is bounded by a hard cap per key (the oldest entries go first), never
// by traffic; a key's rings grow with use up to the cap. Entries are 64-bit
// hashes of the nonce, so a request allocates nothing once a ring has grown;
// a false "already used" needs a 64-bit collision within one key's window.
type nonceCache struct {
	seed   maphash.Seed
	perKey int                   // entries per key
	keys   map[string]*keyNonces // one per credential, fixed at construction
	other  *keyNonces            // keys that were not known at construction share one store
}

// keyNonces are one key's nonces, in shards so that concurrent requests of
// one key rarely wait on each other.
type keyNonces struct {
	shards [16]nonceShard
	cap    int // per shard
}

type nonceShard struct {
	mu   sync.Mutex
	seen map[uint64]int64 // hash → time of use (UnixNano)
	ring []nonceEntry     // the remembered entries in order of use: n of them from head
	head int
	n    int
}

type nonceEntry struct {
	key uint64
	at  int64
}

// newNonceCache makes a cache for the given keys with capacity nonces per key
// (DefaultNonceCapacity when <= 0), lowered so that all keys together stay
// within MaxNonceEntries.
func newNonceCache(capacity int, keyIDs []string) *nonceCache {
	if capacity <= 0 {
		capacity = DefaultNonceCapacity
	}
	stores := len(keyIDs) + 1 // and the shared one
	capacity = max(min(capacity, MaxNonceEntries/stores), 16)
	c := &nonceCache{seed: maphash.MakeSeed(), perKey: capacity, keys: make(map[string]*keyNonces, len(keyIDs))}
	perShard := max(capacity/16, 1)
	for _, id := range keyIDs {
		c.keys[id] = &keyNonces{cap: perShard}
	}
	c.other = &keyNonces{cap: perShard}
	return c
}

// use records keyID's nonce and reports whether it was unused within the window.
func (c *nonceCache) use(keyID, nonce string, now time.Time) bool {
	k := c.keys[keyID]
	if k == nil {
		k = c.other
		var h maphash.Hash
		h.SetSeed(c.seed)
		h.WriteString(keyID)
		h.WriteByte(0)
		h.WriteString(nonce)
		return k.use(h.Sum64(), now)
	}
	return k.use(maphash.String(c.seed, nonce), now)
}

func (k *keyNonces) use(key uint64, now time.Time) bool {
	s := &k.shards[key%16]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[uint64]int64)
	}
	n := now.UnixNano()
	cutoff := n - int64(TimestampWindow)
	for s.n > 0 && s.ring[s.head].at < cutoff {
		s.dropOldest()
	}
	if at, ok := s.seen[key]; ok && at >= cutoff {
		return false // a replay forgets nothing
	}
	if s.n == len(s.ring) {
		if len(s.ring) < k.cap {
			s.grow(k.cap)
		} else {
			s.dropOldest()
		}
	}
	s.seen[key] = n
	s.ring[(s.head+s.n)%len(s.ring)] = nonceEntry{key, n}
	s.n++
	return true
}

// grow doubles a full ring (up to limit), keeping the order of use.
func (s *nonceShard) grow(limit int) {
	next := make([]nonceEntry, min(max(2*len(s.ring), 8), limit))
	for i := 0; i < s.n; i++ {
		next[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = next, 0
}

// dropOldest forgets the oldest entry of the ring (unless its key was used again since).
func (s *nonceShard) dropOldest() {
	e := s.ring[s.head]
	if s.seen[e.key] == e.at {
		delete(s.seen, e.key)
	}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// len is the number of nonces remembered for keyID.
func (c *nonceCache) len(keyID string) int {
	k := c.keys[keyID]
	if k == nil {
		k = c.other
	}
	n := 0
	for i := range k.shards {
		k.shards[i].mu.Lock()
		n += len(k.shards[i].seen)
		k.shards[i].mu.Unlock()
	}
	return n
}

func (a *authenticator) useNonce(keyID, nonce string, now time.Time) *wire.Error {
	if !a.nonces.use(keyID, nonce, now) {
		return wire.SignatureNonceUsed.WithDetail("AccessKeyId %s already used this nonce within the last %s", keyID, TimestampWindow)
	}
	return nil
}
