package clock

import (
	"fmt"
	"time"
)

// Saved is a clock's setting as a store keeps it: the mode, the speed and the
// anchor pair (the wall time and the mock time at the last change). Restored,
// a real clock goes on from where it would be had the process never stopped
// (its offset from the wall clock, scaled by the speed, is kept); a manual
// clock is back at the time it showed.
type Saved struct {
	Mode       Mode      `json:"mode"`
	Speed      float64   `json:"speed"`
	AnchorWall time.Time `json:"anchorWall"`
	AnchorVirt time.Time `json:"anchorVirt"`
}

func (s *setting) saved() Saved {
	return Saved{Mode: s.mode, Speed: s.speed, AnchorWall: s.anchorWall.Round(0), AnchorVirt: s.anchorVirt}
}

// Saved returns the clock's current setting.
func (c *Clock) Saved() Saved {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set.Load().saved()
}

// Restore puts back a saved setting (without telling OnChange). A setting this
// clock cannot hold is an error and changes nothing.
func (c *Clock) Restore(s Saved) error {
	if _, err := ParseMode(string(s.Mode)); err != nil {
		return err
	}
	if !(s.Speed > 0) || s.Speed > 1e6 {
		return fmt.Errorf("clock: speed %v: want a positive factor (at most 1e6)", s.Speed)
	}
	if err := InRange(s.AnchorVirt); err != nil {
		return err
	}
	if s.AnchorWall.IsZero() {
		return fmt.Errorf("clock: the saved setting has no wall-clock anchor")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set.Store(&setting{mode: s.Mode, speed: s.Speed, anchorWall: s.AnchorWall, anchorVirt: s.AnchorVirt.UTC()})
	return nil
}

// OnChange has f told every later change of the setting, synchronously and in
// order (a store makes it durable before the change is acknowledged). Call it
// before the clock is shared.
func (c *Clock) OnChange(f func(Saved)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = f
}
