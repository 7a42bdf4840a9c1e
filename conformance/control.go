package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// control is a client of the ensmock control plane (/_ensmock/...), or of any
// implementation that offers the same API: clock and fault injection.
type control struct {
	base  string
	token string // bearer token of a protected control plane
	http  *http.Client
}

func (c *control) do(ctx context.Context, method, path string, in, out any) error {
	var rd io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("control plane %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("control plane %s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control plane %s %s: %v in %q", method, path, err, data)
		}
	}
	return nil
}

// clockState is the control plane's clock: GET /_ensmock/clock.
type clockState struct {
	Mode  string    `json:"mode"`
	Speed float64   `json:"speed"`
	Now   time.Time `json:"now"`
}

// targetClock follows the target's clock, so requests are signed with the
// target's time (it checks timestamps against its own clock, ±15 minutes).
// Requests hold mu for reading from signing to answer; advancing the clock
// holds it for writing, so that no request of this run is signed before an
// advance and checked after it.
type targetClock struct {
	ctl   *control
	mu    sync.RWMutex
	epoch uint64 // advances made by this run; written with mu held for writing

	smu   sync.Mutex
	state clockState
	at    time.Time // local time when state was read
}

func (c *targetClock) sync(ctx context.Context) error {
	var st clockState
	if err := c.ctl.do(ctx, http.MethodGet, "/_ensmock/clock", nil, &st); err != nil {
		return err
	}
	if st.Now.IsZero() {
		return fmt.Errorf("control plane GET /_ensmock/clock: no \"now\" in the answer")
	}
	c.smu.Lock()
	c.state, c.at = st, time.Now()
	c.smu.Unlock()
	return nil
}

// Now estimates the target's current time from the last reading.
func (c *targetClock) Now() time.Time {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.state.Mode == "manual" {
		return c.state.Now
	}
	speed := c.state.Speed
	if speed <= 0 {
		speed = 1
	}
	return c.state.Now.Add(time.Duration(float64(time.Since(c.at)) * speed))
}

// maxAdvance bounds one step of the target's clock: a request signed just before
// an advance by someone else must still be within the ±15 minute window.
const maxAdvance = 10 * time.Minute

// advance moves the target's clock forward by d (at most maxAdvance).
func (c *targetClock) advance(ctx context.Context, d time.Duration) error {
	d = min(d, maxAdvance)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ctl.do(ctx, http.MethodPost, "/_ensmock/clock/advance", map[string]string{"by": d.String()}, nil); err != nil {
		return err
	}
	c.epoch++
	return c.sync(ctx)
}

// faultRule is the control plane's fault rule (POST /_ensmock/faults).
type faultRule struct {
	Match  map[string]string `json:"match"`
	Effect string            `json:"effect"`
}

func (c *control) addFault(ctx context.Context, r faultRule) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/_ensmock/faults", r, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("control plane POST /_ensmock/faults: the answer has no id")
	}
	return out.ID, nil
}

func (c *control) removeFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/_ensmock/faults/"+id, nil, nil)
}
