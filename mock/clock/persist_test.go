package clock

import (
	"testing"
	"time"
)

func TestSavedRestore(t *testing.T) {
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return wall }
	c := NewWithWall(Real, 60, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), now)
	var seen []Saved
	c.OnChange(func(s Saved) { seen = append(seen, s) })
	if err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != c.Saved() {
		t.Fatalf("OnChange saw %+v, want the setting %+v", seen, c.Saved())
	}
	saved := c.Saved()
	// A new process, ten wall seconds later: the real clock at speed 60 has
	// moved ten minutes, as if it had never stopped.
	wall = wall.Add(10 * time.Second)
	d := NewWithWall(Manual, 1, time.Time{}, now)
	if err := d.Restore(saved); err != nil {
		t.Fatal(err)
	}
	if got, want := d.Now(), time.Date(2024, 3, 1, 1, 10, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("restored real clock: %s, want %s", got, want)
	}
	if s := d.State(); s.Mode != Real || s.Speed != 60 {
		t.Fatalf("restored state %+v", s)
	}
	if len(seen) != 1 {
		t.Fatal("Restore told OnChange")
	}
	for _, bad := range []Saved{
		{Mode: "fast", Speed: 1, AnchorWall: wall, AnchorVirt: wall},
		{Mode: Manual, Speed: 0, AnchorWall: wall, AnchorVirt: wall},
		{Mode: Manual, Speed: 1, AnchorWall: wall, AnchorVirt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Mode: Manual, Speed: 1, AnchorVirt: wall},
	} {
		before := d.Saved()
		if err := d.Restore(bad); err == nil || d.Saved() != before {
			t.Errorf("Restore(%+v): err %v, and the clock must not change", bad, err)
		}
	}
}
