package clock

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func fakeWall(c *Clock, t *time.Time) { c.wall = func() time.Time { return *t } }

func TestManualStandsStillUntilAdvanced(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(Manual, 0, start)
	wall := time.Now()
	fakeWall(c, &wall)
	wall = wall.Add(time.Hour)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("manual clock moved with the wall: %v", got)
	}
	if err := c.Advance(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("after Advance: %v", got)
	}
	if err := c.Advance(-time.Second); err == nil {
		t.Fatal("negative advance accepted")
	}
}

func TestRealScaledAndModeSwitchIsContinuous(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewWithWall(Real, 60, start, func() time.Time { return wall })
	wall = wall.Add(time.Second)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("60x clock after 1s wall: %v", got)
	}
	if err := c.SetMode(Manual, 0); err != nil {
		t.Fatal(err)
	}
	wall = wall.Add(time.Hour)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("switch to manual not continuous: %v", got)
	}
	if err := c.SetMode(Real, 1); err != nil {
		t.Fatal(err)
	}
	wall = wall.Add(2 * time.Second)
	if got := c.Now(); !got.Equal(start.Add(time.Minute + 2*time.Second)) {
		t.Fatalf("back to real: %v", got)
	}
	if s := c.State(); s.Mode != Real || s.Speed != 1 {
		t.Fatalf("state %+v", s)
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{"real", true}, {"manual", true}, {"fast", false}, {"", false}} {
		if _, err := ParseMode(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseMode(%q) err=%v", tc.in, err)
		}
	}
}

func TestTimeStaysInRange(t *testing.T) {
	c := New(Manual, 0, time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC))
	if err := c.Advance(48 * time.Hour); err == nil {
		t.Fatal("advanced past Latest")
	}
	if err := c.Set(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("set to the year 3000")
	}
	if err := c.Set(time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("set before 1970")
	}
	if got := c.Now(); !got.Equal(time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("a refused change moved the clock: %v", got)
	}
}

// Readers take no lock: under -race, readers running while the clock is
// advanced always see a time that never goes back and is one the writer made.
func TestConcurrentReadersSeeWholeChanges(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(Manual, 0, start)
	const steps = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := start
			for {
				select {
				case <-done:
					return
				default:
				}
				now := c.Now()
				if now.Before(last) || now.Sub(start)%time.Second != 0 {
					t.Errorf("read %s after %s", now, last)
					return
				}
				last = now
			}
		}()
	}
	for range steps {
		if err := c.Advance(time.Second); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
	if got := c.Now(); !got.Equal(start.Add(steps * time.Second)) {
		t.Fatalf("after %d advances: %s", steps, got)
	}
}

// The clock only moves forward: Set refuses a past time (naming the current
// one) and changes nothing; the same time or a later one is fine.
func TestSetRefusesThePast(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := New(Manual, 0, start)
	err := c.Set(start.Add(-time.Nanosecond))
	if err == nil || !errors.Is(err, ErrPast) || !strings.Contains(err.Error(), "2026-01-01T12:00:00Z") {
		t.Fatalf("Set(past) = %v, want ErrPast naming the current time", err)
	}
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("a refused Set moved the clock to %s", got)
	}
	for _, to := range []time.Time{start, start.Add(time.Hour)} {
		if err := c.Set(to); err != nil {
			t.Fatalf("Set(%s): %v", to, err)
		}
	}
	if err := c.Set(start); err == nil {
		t.Fatal("Set went back an hour")
	}
}

// Reset is the one way back: to the wall clock, speed 1, in the mode asked for
// (or the current one), reporting where it came from.
func TestResetGoesBackToTheWall(t *testing.T) {
	wall := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := NewWithWall(Real, 60, wall.Add(48*time.Hour), func() time.Time { return wall })
	from, to, err := c.Reset("")
	if err != nil {
		t.Fatal(err)
	}
	if !from.Equal(wall.Add(48*time.Hour)) || !to.Equal(wall) {
		t.Fatalf("Reset: from %s to %s", from, to)
	}
	if s := c.State(); s.Mode != Real || s.Speed != 1 || !s.Now.Equal(wall) {
		t.Fatalf("after Reset(\"\"): %+v", s)
	}
	wall = wall.Add(time.Second)
	if got := c.Now(); !got.Equal(wall) {
		t.Fatalf("real clock after reset does not follow the wall: %s", got)
	}
	if err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Reset(Manual); err != nil {
		t.Fatal(err)
	}
	wall = wall.Add(time.Minute)
	if s := c.State(); s.Mode != Manual || !s.Now.Equal(wall.Add(-time.Minute)) {
		t.Fatalf("after Reset(manual): %+v", s)
	}
	if _, _, err := c.Reset("slow"); err == nil {
		t.Fatal("Reset accepted mode slow")
	}
	if s := c.State(); s.Mode != Manual {
		t.Fatalf("a refused Reset changed the mode: %+v", s)
	}
}

func TestCheckSpeed(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1, 1e6 + 1, 1e12} {
		if err := CheckSpeed(v); err == nil {
			t.Errorf("CheckSpeed(%v) accepted", v)
		}
		if err := New(Real, 1, time.Time{}).SetMode(Real, v); v != 0 && err == nil {
			t.Errorf("SetMode(real, %v) accepted", v)
		}
		if s := New(Real, v, time.Time{}).State(); s.Speed != 1 {
			t.Errorf("New with speed %v runs at %v, want 1", v, s.Speed)
		}
	}
	for _, v := range []float64{1e-3, 1, 60, 1e6} {
		if err := CheckSpeed(v); err != nil {
			t.Errorf("CheckSpeed(%v): %v", v, err)
		}
	}
}
