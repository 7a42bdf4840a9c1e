package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
		return &httpStatusError{Method: method, Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control plane %s %s: %v in %q", method, path, err, data)
		}
	}
	return nil
}

// httpStatusError is a control-plane answer other than 2xx.
type httpStatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *httpStatusError) Error() string {
	body := e.Body
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("control plane %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, body)
}

// clockState is the control plane's clock: GET /_ensmock/clock.
type clockState struct {
	Mode  string    `json:"mode"`
	Speed float64   `json:"speed"`
	Now   time.Time `json:"now"`
}

// clock reads the target's clock.
func (c *control) clock(ctx context.Context) (clockState, error) {
	var st clockState
	if err := c.do(ctx, http.MethodGet, "/_ensmock/clock", nil, &st); err != nil {
		return st, err
	}
	if st.Now.IsZero() || st.Mode == "" {
		return st, fmt.Errorf("control plane GET /_ensmock/clock: the answer has no \"now\" or no \"mode\"")
	}
	return st, nil
}

// maxAdvance bounds one step of the target's clock, so that a wait moves it
// no further than needed (to within 10 minutes).
const maxAdvance = 10 * time.Minute

// advance moves the target's clock forward by d (at most maxAdvance).
func (c *control) advance(ctx context.Context, d time.Duration) error {
	d = min(d, maxAdvance)
	return c.do(ctx, http.MethodPost, "/_ensmock/clock/advance", map[string]string{"by": d.String()}, nil)
}

// errNoReset: the control plane has no POST /_ensmock/clock/reset (an older ensmock).
var errNoReset = errors.New("the control plane has no POST /_ensmock/clock/reset")

// resetClock puts the target's clock back to the machine's wall time, speed 1,
// in mode ("real" or "manual"): POST /_ensmock/clock/reset.
func (c *control) resetClock(ctx context.Context, mode string) (clockState, error) {
	var st clockState
	err := c.do(ctx, http.MethodPost, "/_ensmock/clock/reset", map[string]string{"mode": mode}, &st)
	var he *httpStatusError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return st, errNoReset
	}
	return st, err
}

// setSpeed sets the speed of the target's clock in mode (POST /_ensmock/clock).
func (c *control) setSpeed(ctx context.Context, mode string, speed float64) error {
	return c.do(ctx, http.MethodPost, "/_ensmock/clock", map[string]any{"mode": mode, "speed": speed}, nil)
}

// faultRule is the control plane's fault rule (POST /_ensmock/faults).
type faultRule struct {
	Match  map[string]string `json:"match"`
	Effect string            `json:"effect"`
	Params map[string]any    `json:"params,omitempty"`
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
