//go:build hostile

package mock

import (
	"flag"
	"syscall"
	"testing"
	"time"
)

// The long variants of the hostile-input regression tests (make hostile). The
// short ones run in make test.

var flood = flag.Int("flood", 20_000, "idle connections of TestHostileConnectionFlood (bounded by the descriptor limit)")

// TestHostileConnectionFlood: 20,000 idle connections against the default cap
// of DefaultMaxConnections; health keeps answering. The flood is trimmed to what
// the process's descriptor limit leaves room for (both ends live in this
// process). Health's latency is logged, not asserted (no wall-clock asserts).
func TestHostileConnectionFlood(t *testing.T) {
	n := *flood
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		if room := int(rl.Cur) - DefaultMaxConnections - 256; n > room {
			t.Logf("descriptor limit %d: flooding with %d connections instead of %d", rl.Cur, room, n)
			n = room
		}
	}
	start := time.Now()
	testConnectionFlood(t, DefaultMaxConnections, n)
	t.Logf("%d idle connections, cap %d: health answered 5 times; whole run %s", n, DefaultMaxConnections, time.Since(start))
}
