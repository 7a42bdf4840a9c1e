package mock

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/signature"
)

// TestNonceCacheBoundedUnderFlood: however many distinct nonces one key sends
// within the window, the cache never holds more than the key's capacity, and
// each shard's ring is at most its share of it.
func TestNonceCacheBoundedUnderFlood(t *testing.T) {
	const capacity = 64
	c := newNonceCache(capacity, []string{"testid"})
	k := c.keys["testid"]
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50_000 {
		if !c.use("testid", fmt.Sprintf("flood-%d", i), now) {
			t.Fatalf("fresh nonce %d refused", i)
		}
		if i%997 == 0 {
			if n := c.len("testid"); n > capacity {
				t.Fatalf("after %d nonces the cache holds %d > %d", i+1, n, capacity)
			}
		}
	}
	if n := c.len("testid"); n > capacity || n < capacity/2 {
		t.Errorf("cache holds %d, want at most %d (and not far below: it evicts only what it must)", n, capacity)
	}
	for i := range k.shards {
		s := &k.shards[i]
		if s.n > k.cap || len(s.seen) > k.cap || len(s.ring) > k.cap {
			t.Errorf("shard %d: %d in a ring of %d, %d remembered, cap %d", i, s.n, len(s.ring), len(s.seen), k.cap)
		}
	}
	// The newest nonce is still remembered: eviction takes the oldest first.
	if c.use("testid", "flood-49999", now) {
		t.Error("the most recent nonce was forgotten")
	}
	if d := newNonceCache(0, []string{"a", "b"}); d.perKey != DefaultNonceCapacity || d.keys["a"].cap != DefaultNonceCapacity/16 {
		t.Errorf("default capacity %d per key, %d per shard", d.perKey, d.keys["a"].cap)
	}
}

// TestNonceCapacityShrinksWithManyKeys: with many credentials each key gets its
// share of MaxNonceEntries, so the total stays bounded whatever the number of keys.
func TestNonceCapacityShrinksWithManyKeys(t *testing.T) {
	for _, keys := range []int{1, 2, 15, 100, 10_000, 40_000} {
		ids := make([]string, keys)
		for i := range ids {
			ids[i] = fmt.Sprintf("key-%d", i)
		}
		c := newNonceCache(0, ids)
		total := c.perKey * (keys + 1)
		switch {
		case c.perKey < 16:
			t.Errorf("%d keys: %d nonces per key, want at least 16", keys, c.perKey)
		case c.perKey > 16 && total > MaxNonceEntries:
			t.Errorf("%d keys: %d per key, %d in all > %d", keys, c.perKey, total, MaxNonceEntries)
		case c.perKey > DefaultNonceCapacity:
			t.Errorf("%d keys: %d per key > the default %d", keys, c.perKey, DefaultNonceCapacity)
		}
	}
	if c := newNonceCache(4*MaxNonceEntries, []string{"only"}); c.perKey != MaxNonceEntries/2 {
		t.Errorf("a capacity above the total bound gives %d per key", c.perKey)
	}
}

// TestNonceFloodOfOneKeyKeepsAnothersWindow (issue 18 row 6): 90,000 signed
// requests of key B, more than B's capacity, do not evict the nonce key A used,
// so A's replay inside its 15-minute window stays refused; B's own oldest
// nonces are the ones forgotten.
func TestNonceFloodOfOneKeyKeepsAnothersWindow(t *testing.T) {
	a := newAuthenticator(false, []Credential{{AccessKeyID: "key-a"}, {AccessKeyID: "key-b"}}, time.Now, 0)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if e := a.useNonce("key-a", "a-nonce", t0); e != nil {
		t.Fatal(e)
	}
	for i := range 90_000 {
		at := t0.Add(time.Minute + time.Duration(i)*time.Millisecond) // 90 s of flood
		if e := a.useNonce("key-b", fmt.Sprintf("b-%d", i), at); e != nil {
			t.Fatalf("B's fresh nonce %d: %v", i, e)
		}
	}
	replay := t0.Add(10 * time.Minute)
	if e := a.useNonce("key-a", "a-nonce", replay); e == nil || e.Code != "SignatureNonceUsed" {
		t.Fatalf("A's replay inside its window after B's flood: %v, want SignatureNonceUsed", e)
	}
	if e := a.useNonce("key-b", "b-0", replay); e != nil {
		t.Errorf("B's oldest nonce should have made room for B's newer ones (the flood exceeded B's cap): %v", e)
	}
	if n := a.nonces.len("key-b"); n > DefaultNonceCapacity {
		t.Errorf("B holds %d nonces > %d", n, DefaultNonceCapacity)
	}
	if n := a.nonces.len("key-a"); n != 1 {
		t.Errorf("A holds %d nonces, want 1", n)
	}
}

// TestServerNonceFloodOfOneKeyKeepsAnothersWindow is the same through the
// mock's handler with signed V1 requests and a small per-key capacity.
func TestServerNonceFloodOfOneKeyKeepsAnothersWindow(t *testing.T) {
	srv := authTestServer(t, Options{NonceCapacity: 32, NoListener: true, Credentials: []Credential{
		{AccessKeyID: "key-a", AccessKeySecret: "secret-a"}, {AccessKeyID: "key-b", AccessKeySecret: "secret-b"},
	}})
	client := srv.HTTPClient()
	send := func(keyID, secret, nonce string, now time.Time) int {
		q := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {authTestApp}}
		signature.SignV1(http.MethodGet, q, keyID, secret, nonce, now)
		resp, err := client.Get(srv.URL() + "/?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := srv.Clock().Wall()
	if got := send("key-a", "secret-a", "a-1", now); got != 200 {
		t.Fatalf("A's first request: %d", got)
	}
	for i := range 400 {
		if got := send("key-b", "secret-b", fmt.Sprintf("b-%d", i), now); got != 200 {
			t.Fatalf("B's request %d: %d", i, got)
		}
	}
	if got := send("key-a", "secret-a", "a-1", now); got != 400 {
		t.Fatalf("A's replay after B's flood: %d, want 400 SignatureNonceUsed", got)
	}
	if last := srv.Requests(control.Filter{Limit: 1}); len(last) != 1 || last[0].ErrorCode != "SignatureNonceUsed" || !strings.Contains(last[0].Detail, "key-a") {
		t.Errorf("journal: %+v", last)
	}
	if got := send("key-b", "secret-b", "b-0", now); got != 200 {
		t.Errorf("B's oldest nonce, past B's cap of 32: %d, want 200 (forgotten)", got)
	}
}

// TestNonceReplayForgetsNothing: on a full store, refused replays do not evict
// the oldest nonces (bad input never changes state); a fresh nonce does.
func TestNonceReplayForgetsNothing(t *testing.T) {
	c := newNonceCache(16, []string{"testid"}) // one entry per shard
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Fill one shard: find two nonces that land in it.
	var nonces []string
	for i := 0; len(nonces) < 2; i++ {
		n := fmt.Sprintf("k-%d", i)
		if maphash.String(c.seed, n)%16 == 0 {
			nonces = append(nonces, n)
		}
	}
	old, fresh := nonces[0], nonces[1]
	if !c.use("testid", old, now) {
		t.Fatal("first use refused")
	}
	for range 100 {
		if c.use("testid", old, now) {
			t.Fatal("a replay was accepted")
		}
	}
	if c.use("testid", old, now) {
		t.Fatal("the replays evicted the nonce they replayed")
	}
	if !c.use("testid", fresh, now) {
		t.Fatal("a fresh nonce was refused")
	}
	if !c.use("testid", old, now) {
		t.Fatal("at the cap, a fresh nonce should have evicted the oldest")
	}
}

// TestNonceCacheWindow: a nonce is refused for TimestampWindow after its use,
// then forgotten; old entries are dropped, not kept until the cap.
func TestNonceCacheWindow(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newNonceCache(0, []string{"testid", "denied-id"})
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{0, false},
		{time.Minute, false},
		{TimestampWindow, false},
		{TimestampWindow + time.Nanosecond, true}, // forgotten, and now remembered again
		{TimestampWindow + time.Minute, false},
	}
	for _, s := range steps {
		if got := c.use("testid", "n1", t0.Add(s.at)); got != s.want {
			t.Fatalf("use at +%s = %v, want %v", s.at, got, s.want)
		}
	}
	// Same nonce, other key: another entry.
	if !c.use("denied-id", "n1", t0) {
		t.Fatal("a nonce of another key was refused")
	}
	// Keys unknown at construction share one store, still keyed by AccessKeyId.
	if !c.use("stranger", "n1", t0) || c.use("stranger", "n1", t0) || !c.use("stranger-2", "n1", t0) {
		t.Fatal("unknown keys: a nonce is per key")
	}

	c = newNonceCache(0, []string{"testid"})
	for i := range 1000 {
		c.use("testid", fmt.Sprintf("old-%d", i), t0)
	}
	later := t0.Add(TimestampWindow + time.Second)
	for i := range 1000 {
		c.use("testid", fmt.Sprintf("new-%d", i), later)
	}
	if n := c.len("testid"); n != 1000 {
		t.Errorf("after the window the cache holds %d, want only the 1000 recent nonces", n)
	}
	for i := range 1000 {
		if !c.use("testid", fmt.Sprintf("old-%d", i), later) {
			t.Fatalf("old-%d is still remembered after the window", i)
		}
	}
}

// TestNonceCacheBytes: one key at its default capacity takes about
// nonceEntryBytes per entry, the figure docs/decisions.md states; an unused
// key takes next to nothing (rings grow with use).
func TestNonceCacheBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("idle-%d", i)
	}
	before := heap()
	idleCache := newNonceCache(0, ids)
	idle := heap() - before
	runtime.KeepAlive(idleCache)

	before = heap()
	c := newNonceCache(0, []string{"busy"})
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 * DefaultNonceCapacity {
		c.use("busy", fmt.Sprint(i), now)
	}
	full := heap() - before
	perEntry := float64(full) / float64(c.len("busy"))
	t.Logf("1000 idle keys: %d B; one key at its cap (%d entries): %d B, %.1f B per entry", idle, c.len("busy"), full, perEntry)
	if perEntry > nonceEntryBytes*1.15 { // a margin for the GC's noise
		t.Errorf("%.1f B per entry, docs say about %d", perEntry, nonceEntryBytes)
	}
	if idle > 1000*2048 {
		t.Errorf("1000 idle keys take %d B", idle)
	}
	runtime.KeepAlive(c)
}

// TestServerNonceCapacity: Options.NonceCapacity reaches the cache, per key.
func TestServerNonceCapacity(t *testing.T) {
	srv := authTestServer(t, Options{NonceCapacity: 160})
	if got := srv.auth.nonces.perKey; got != 160 {
		t.Errorf("per-key cap %d, want 160", got)
	}
	if got := srv.auth.nonces.keys["testid"].cap; got != 10 {
		t.Errorf("per-shard cap %d, want 10", got)
	}
}
