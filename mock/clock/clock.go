// Package clock is the mock's single source of time: real (optionally scaled) or manual.
//
// Nothing in ensmock sleeps or starts a goroutine per transfer: every status is
// computed from Now(), so a test drives time with Advance instead of waiting.
package clock

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says how a Clock moves.
type Mode string

const (
	// Real follows the wall clock, multiplied by the speed.
	Real Mode = "real"
	// Manual stands still until Advance or Set moves it.
	Manual Mode = "manual"
)

// ParseMode accepts "real" or "manual".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Real, Manual:
		return Mode(s), nil
	}
	return "", fmt.Errorf("clock mode %q: want real or manual", s)
}

// Clock is safe for concurrent use. Switching mode or speed keeps time continuous.
// Reading it takes no lock (every request reads it several times): its setting
// is an immutable snapshot behind an atomic pointer, replaced by the writers,
// which take turns on mu.
type Clock struct {
	mu   sync.Mutex // serializes the writers
	set  atomic.Pointer[setting]
	wall func() time.Time
	// onChange, when set, is told every new setting, under mu (persist.go).
	onChange func(Saved)
}

// setting is the clock between two changes.
type setting struct {
	mode       Mode
	speed      float64
	anchorWall time.Time // wall time at the change
	anchorVirt time.Time // mock time at the change
}

// MaxSpeed is the fastest a real clock may run: a million times the wall clock
// (a day in under a tenth of a second).
const MaxSpeed = 1e6

// CheckSpeed refuses a speed factor that is not a finite number in (0, MaxSpeed]
// (NaN, ±Inf, zero, negative, or faster than MaxSpeed). Callers that take a
// speed from a user (a flag, an environment variable, a request) check it with
// this first.
func CheckSpeed(speed float64) error {
	if math.IsNaN(speed) || math.IsInf(speed, 0) || speed <= 0 || speed > MaxSpeed {
		return fmt.Errorf("clock speed %v: want a factor greater than 0 and at most %g (1 = the wall clock's pace)", speed, float64(MaxSpeed))
	}
	return nil
}

// New returns a clock in the given mode starting at start (the wall clock when zero).
// speed (real mode) multiplies the passing of wall time; 0 means 1, and so
// does any speed CheckSpeed refuses (check user input with CheckSpeed first).
func New(mode Mode, speed float64, start time.Time) *Clock {
	return NewWithWall(mode, speed, start, time.Now)
}

// NewWithWall is New with the wall clock it reads given (tests fake the
// machine's time with it).
func NewWithWall(mode Mode, speed float64, start time.Time, wall func() time.Time) *Clock {
	c := &Clock{wall: wall}
	now := c.wall()
	if start.IsZero() {
		start = now
	}
	if CheckSpeed(speed) != nil {
		speed = 1
	}
	c.set.Store(&setting{mode: mode, speed: speed, anchorWall: now, anchorVirt: start.UTC()})
	return c
}

// Wall is the machine's time, as the clock reads it (official SDKs sign with it).
func (c *Clock) Wall() time.Time { return c.wall() }

// Now returns the mock's current time, in UTC.
func (c *Clock) Now() time.Time { return c.set.Load().now(c.wall) }

func (s *setting) now(wall func() time.Time) time.Time {
	if s.mode == Manual {
		return s.anchorVirt
	}
	return s.at(wall())
}

// at is the mock's time when the wall clock reads w (real mode).
func (s *setting) at(w time.Time) time.Time {
	if s.mode == Manual {
		return s.anchorVirt
	}
	elapsed := w.Sub(s.anchorWall)
	if s.speed != 1 {
		elapsed = time.Duration(float64(elapsed) * s.speed)
	}
	return s.anchorVirt.Add(elapsed)
}

// change replaces the setting with what f makes of (a copy of) the current one
// and the current time; f may refuse, and then nothing changes. The wall
// clock is read once: the new setting is anchored at that reading.
func (c *Clock) change(f func(s *setting, now, wall time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.set.Load()
	next := *cur
	w := c.wall()
	if err := f(&next, cur.at(w), w); err != nil {
		return err
	}
	next.anchorWall = w
	c.set.Store(&next)
	if c.onChange != nil {
		c.onChange(next.saved())
	}
	return nil
}

// The mock's time stays within [Earliest, Latest]: the engine keeps times as
// Unix nanoseconds, which only cover the years 1678–2262.
var (
	Earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	Latest   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// InRange refuses a time outside [Earliest, Latest].
func InRange(t time.Time) error {
	if t.Before(Earliest) || t.After(Latest) {
		return fmt.Errorf("clock: %s is outside %s … %s", t.UTC().Format(time.RFC3339), Earliest.Format(time.RFC3339), Latest.Format(time.RFC3339))
	}
	return nil
}

// Advance moves the clock forward by d (in either mode). A negative d, or one
// that would pass Latest, is refused and changes nothing.
func (c *Clock) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("clock: cannot advance by a negative duration %s", d)
	}
	return c.change(func(s *setting, now, _ time.Time) error {
		if err := InRange(now.Add(d)); err != nil {
			return err
		}
		s.anchorVirt = now.Add(d)
		return nil
	})
}

// ErrPast is wrapped by the error Set returns for a time before the mock's
// current time: the clock only moves forward (Reset is the one way back).
var ErrPast = errors.New("the clock only moves forward")

// Set moves the clock to t, which must not be before the mock's current time
// (the clock only moves forward; Reset is the one way back, to the wall
// clock). A past t, or one outside [Earliest, Latest], is refused and changes
// nothing.
func (c *Clock) Set(t time.Time) error {
	if err := InRange(t); err != nil {
		return err
	}
	return c.change(func(s *setting, now, _ time.Time) error {
		if t.Before(now) {
			return fmt.Errorf("clock: %s is before the mock's current time %s: %w (to go back to the machine's time, reset the clock)",
				t.UTC().Format(time.RFC3339Nano), now.Format(time.RFC3339Nano), ErrPast)
		}
		s.anchorVirt = t.UTC()
		return nil
	})
}

// SetMode switches mode and speed (speed 0 keeps the current speed; any other
// speed CheckSpeed refuses is an error, and nothing changes). Time stays
// continuous.
func (c *Clock) SetMode(mode Mode, speed float64) error {
	if _, err := ParseMode(string(mode)); err != nil {
		return err
	}
	if speed != 0 {
		if err := CheckSpeed(speed); err != nil {
			return err
		}
	}
	return c.change(func(s *setting, now, _ time.Time) error {
		s.mode, s.anchorVirt = mode, now
		if speed > 0 {
			s.speed = speed
		}
		return nil
	})
}

// Reset puts the clock back to the machine's time (the wall clock it reads),
// at speed 1, in mode (the current mode when mode is ""). It is the one way the
// mock's time may go backwards: it returns the time the clock showed before
// (from) and after (to); to may be before from. The engine's state is not
// touched: see docs/control-plane.md for what a rewind means for it.
func (c *Clock) Reset(mode Mode) (from, to time.Time, err error) {
	if mode != "" {
		if _, err := ParseMode(string(mode)); err != nil {
			return from, to, err
		}
	}
	err = c.change(func(s *setting, now, wall time.Time) error {
		wall = wall.UTC()
		if err := InRange(wall); err != nil {
			return err
		}
		from, to = now, wall
		if mode != "" {
			s.mode = mode
		}
		s.speed, s.anchorVirt = 1, wall
		return nil
	})
	return from, to, err
}

// State describes the clock.
type State struct {
	Mode  Mode      `json:"mode"`
	Speed float64   `json:"speed"`
	Now   time.Time `json:"now"`
}

// State returns the current mode, speed and time.
func (c *Clock) State() State {
	s := c.set.Load()
	return State{Mode: s.mode, Speed: s.speed, Now: s.now(c.wall)}
}
