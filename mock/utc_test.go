package mock

import (
	"testing"
	"time"
)

func TestUTCCacheFormatsAsUTC(t *testing.T) {
	base := time.Date(2026, 11, 27, 4, 41, 3, 0, time.FixedZone("CST", 8*3600))
	var c utcCache
	for i, d := range []time.Duration{0, 500 * time.Millisecond, time.Second, 0, time.Second + 999*time.Millisecond, 2 * time.Second, -time.Second, 365 * 24 * time.Hour} {
		tm := base.Add(d)
		if got, want := c.format(tm), utc(tm); got != want {
			t.Fatalf("time %d (%v): %q, want %q", i, tm, got, want)
		}
	}
	var zero utcCache
	if got, want := zero.format(time.Unix(0, 0)), "1970-01-01T00:00:00Z"; got != want {
		t.Fatalf("epoch: %q, want %q", got, want)
	}
}
