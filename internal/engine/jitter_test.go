package engine

import (
	"fmt"
	"hash/fnv"
	"testing"
)

func TestJitterHashMatchesFmt(t *testing.T) {
	for _, c := range []struct {
		seed    uint64
		n, v, s string
		a       uint16
	}{{0, "", "", "", 0}, {1, "a", "1.0", "fs-1", 3}, {1 << 63, "日本", "x\x00y", "z", 65535}} {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s\x00%d", c.seed, c.n, c.v, c.s, c.a)
		if got := jitterHashServer(jitterHashFile(jitterHashSeed(c.seed), c.n, c.v), c.s, c.a); got != h.Sum64() {
			t.Fatalf("%v: %x != %x", c, got, h.Sum64())
		}
	}
}
