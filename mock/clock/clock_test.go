package clock

import (
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
	c := New(Real, 60, start)
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fakeWall(c, &wall)
	if err := c.Set(start); err != nil {
		t.Fatal(err)
	}
	wall = wall.Add(time.Second)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("60x clock after 1s wall: %v", got)
	}
	c.SetMode(Manual, 0)
	wall = wall.Add(time.Hour)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("switch to manual not continuous: %v", got)
	}
	c.SetMode(Real, 1)
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
