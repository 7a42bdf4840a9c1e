package engine

// Transfer timing: how long one replica takes (base latency, size / bandwidth,
// seeded jitter) and the jitter hash it is drawn from.

import (
	"strconv"
	"time"
)

// MaxDeclaredSize is the largest data file size the engine computes with (1 TiB):
// a larger declared size counts as this much, so the transfer time cannot overflow.
// The API refuses (strict) or clamps with a warning (lenient) larger sizes before
// they get here.
const MaxDeclaredSize int64 = 1 << 40

// maxTransfer bounds one transfer (about 100 years), so start + duration never
// overflows whatever a fault rule or a slow bandwidth asks for.
const maxTransfer = 100 * 365 * 24 * time.Hour

// maxTimeoutSeconds is the largest per-file timeout that limits anything: a
// longer one cannot be reached within maxTransfer and means no limit.
const maxTimeoutSeconds = int64(maxTransfer / time.Second)

// transfer is the base latency plus size over bandwidth, with seeded jitter that
// depends only on (seed, name, version, server, attempt): the same inputs always
// give the same duration. fileHash is jitterHashFile of the push's file.
func (e *Engine) transfer(fileHash uint64, attempt uint16, s Server, size int64) time.Duration {
	// In float64, clamped before converting: a huge size over a slow bandwidth
	// must saturate, not wrap around to a short (or negative) time.
	d := float64(e.cfg.BaseLatency) + float64(size)/float64(e.cfg.Bandwidth)*float64(time.Second)
	if e.cfg.Jitter != 0 {
		u := float64(jitterHashServer(fileHash, s.ID, attempt)%2001)/1000 - 1 // [-1, 1]
		d *= 1 + e.cfg.Jitter*u
	}
	if d >= float64(maxTransfer) {
		return maxTransfer
	}
	return time.Duration(d)
}

// The transfer jitter hashes "seed\x00name\x00version\x00server\x00attempt"
// (the decimal numbers as fmt's %d writes them) with FNV-64a, without fmt or
// an allocation, in three steps: jitterHashSeed once per engine, jitterHashFile
// once per push (the part every server of the push shares), jitterHashServer
// once per server and attempt.
func jitterHashSeed(seed uint64) uint64 {
	var num [20]byte
	h := fnv64a(fnvOffset, string(strconv.AppendUint(num[:0], seed, 10)))
	return fnv64a(h, "\x00")
}

func jitterHashFile(seedHash uint64, name, version string) uint64 {
	h := fnv64a(seedHash, name)
	h = fnv64a(h, "\x00")
	h = fnv64a(h, version)
	return fnv64a(h, "\x00")
}

func jitterHashServer(h uint64, server string, attempt uint16) uint64 {
	var num [20]byte
	h = fnv64a(h, server)
	h = fnv64a(h, "\x00")
	return fnv64a(h, string(strconv.AppendUint(num[:0], uint64(attempt), 10)))
}

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// fnv64a continues an FNV-64a hash h over s.
func fnv64a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}
