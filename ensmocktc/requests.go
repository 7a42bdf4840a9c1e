package ensmocktc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// RequestFilter selects journal entries, as POST /_ensmock/requests/count takes
// it: zero fields do not filter; Params match parameter values exactly.
type RequestFilter struct {
	Action      string            `json:"action,omitempty"`
	Account     string            `json:"account,omitempty"`
	AccessKeyID string            `json:"accessKeyId,omitempty"`
	App         string            `json:"app,omitempty"`
	Code        string            `json:"code,omitempty"`
	Status      int               `json:"status,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

// CountRequests answers how many requests in the mock's journal match f
// (WireMock-style verification: "was it called, with these parameters?"). The
// journal keeps the latest requests only (1000 by default).
func (c *Container) CountRequests(ctx context.Context, f RequestFilter) (int, error) {
	base, err := c.ControlURL(ctx)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(f)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/_ensmock/requests/count", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.controlToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.controlToken)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("ensmocktc: POST /_ensmock/requests/count: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var out struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, fmt.Errorf("ensmocktc: POST /_ensmock/requests/count: %v", err)
	}
	return out.Count, nil
}
