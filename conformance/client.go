package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ensmock/ensmock/signature"
)

// APIVersion is the version of the ENS API the suite speaks.
const APIVersion = "2017-11-10"

// credential is an AccessKey pair the client signs with.
type credential struct{ id, secret string }

// call is one API request before signing.
type call struct {
	Action  string
	Method  string     // GET or POST; default POST
	Params  url.Values // business parameters
	Format  string     // JSON or XML
	Cred    credential
	Skew    time.Duration // added to the signing time (to provoke InvalidTimeStamp.Expired)
	Version string        // default APIVersion
}

// exchange is one HTTP request and its response, kept whole so that a failing
// step can show exactly what broke the expectation.
type exchange struct {
	Method     string
	URL        string
	ReqHeader  http.Header
	ReqBody    []byte
	Status     int
	RespHeader http.Header
	RespBody   []byte
	Err        error  // transport error: no response
	Format     string // the format the request asked for

	call   *call  // what was signed, to sign it afresh (see replay)
	epoch  uint64 // the target clock's epoch when it was signed
	parsed bool
	body   *body
}

// Body parses the response body once.
func (e *exchange) Body() *body {
	if !e.parsed {
		e.parsed = true
		e.body = parseBody(e.RespBody)
	}
	return e.body
}

const maxDump = 8 << 10

// Dump renders the exchange for a failure message: the request (method, URL,
// headers, body) and the response (status, headers, body).
func (e *exchange) Dump() string {
	if e == nil {
		return "(no request was made)"
	}
	var b strings.Builder
	b.WriteString("--- request ---\n")
	fmt.Fprintf(&b, "%s %s\n", e.Method, e.URL)
	writeHeaders(&b, e.ReqHeader)
	b.WriteString("\n")
	writeBody(&b, e.ReqBody)
	b.WriteString("--- response ---\n")
	if e.Err != nil {
		fmt.Fprintf(&b, "(no response: %v)\n", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "HTTP %d %s\n", e.Status, http.StatusText(e.Status))
	writeHeaders(&b, e.RespHeader)
	b.WriteString("\n")
	writeBody(&b, e.RespBody)
	return b.String()
}

func writeHeaders(b *strings.Builder, h http.Header) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s: %s\n", k, v)
		}
	}
}

func writeBody(b *strings.Builder, body []byte) {
	if len(body) == 0 {
		b.WriteString("(empty body)\n")
		return
	}
	if len(body) > maxDump {
		b.Write(body[:maxDump])
		fmt.Fprintf(b, "\n… (%d more bytes)\n", len(body)-maxDump)
		return
	}
	b.Write(body)
	b.WriteString("\n")
}

// target is the implementation under test, reached over HTTP and signed like
// the official SDKs sign: V1 (HMAC-SHA1 query) or V3 (ACS3-HMAC-SHA256 headers).
type target struct {
	endpoint string // base URL, no trailing slash
	http     *http.Client
	v3       bool
	clock    *targetClock // nil: sign with the local time
}

// newNonce returns a fresh random signature nonce.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// now is the time to sign with: the target's clock when the control plane
// tells it, else the local clock.
func (t *target) now() time.Time {
	if t.clock != nil {
		return t.clock.Now()
	}
	return time.Now()
}

// build signs c into an HTTP request (method, URL, headers, body).
func (t *target) build(c call) (method, rawURL string, h http.Header, body []byte) {
	method = c.Method
	if method == "" {
		method = http.MethodPost
	}
	version := c.Version
	if version == "" {
		version = APIVersion
	}
	now := t.now().Add(c.Skew)
	h = http.Header{}
	q := url.Values{}
	for k, vs := range c.Params {
		q[k] = append([]string(nil), vs...)
	}
	if !t.v3 {
		q.Set("Action", c.Action)
		q.Set("Version", version)
		q.Set("Format", c.Format)
		signature.SignV1(method, q, c.Cred.id, c.Cred.secret, newNonce(), now)
		if method == http.MethodPost {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return method, t.endpoint + "/?" + q.Encode(), h, nil
	}
	// V3, like the darabonba client: business parameters in the query, the rest
	// in headers; JSON through Accept, XML through Format (it is signed with the query).
	if c.Format == "XML" {
		q.Set("Format", "XML")
	} else {
		h.Set("Accept", "application/json")
	}
	rawURL = t.endpoint + "/?" + q.Encode()
	req, _ := http.NewRequest(method, rawURL, nil)
	req.Header = h
	signature.SignV3(req, nil, c.Action, version, c.Cred.id, c.Cred.secret, newNonce(), now)
	h = req.Header.Clone()
	if req.Host != "" {
		h.Set("Host", req.Host)
	}
	return method, rawURL, h, nil
}

// do signs and sends c. When the target's clock moved under the request (a
// concurrent scenario or another client advanced it), the request is signed
// again once with the new time.
func (t *target) do(ctx context.Context, c call) *exchange {
	for attempt := 0; ; attempt++ {
		var ex *exchange
		var epoch uint64
		if t.clock != nil {
			t.clock.mu.RLock()
			epoch = t.clock.epoch
		}
		method, u, h, body := t.build(c)
		ex = t.send(ctx, method, u, h, body)
		if t.clock != nil {
			t.clock.mu.RUnlock()
		}
		ex.Format, ex.call, ex.epoch = c.Format, &c, epoch
		if t.clock == nil || c.Skew != 0 || attempt > 0 || ex.Err != nil || ex.Body().Code() != "InvalidTimeStamp.Expired" {
			return ex
		}
		if err := t.clock.sync(ctx); err != nil {
			return ex
		}
	}
}

// replay sends exactly the request of ex again (same signature, nonce and time).
// When the target's clock was advanced since ex was signed (by a concurrent
// scenario), ex's timestamp may have left the ±15 minute window: the request is
// then signed and sent afresh, and that one replayed, with no advance between.
func (t *target) replay(ctx context.Context, ex *exchange) *exchange {
	if t.clock != nil {
		t.clock.mu.RLock()
		defer t.clock.mu.RUnlock()
		if ex.call != nil && ex.epoch != t.clock.epoch {
			method, u, h, body := t.build(*ex.call)
			fresh := t.send(ctx, method, u, h, body)
			fresh.Format, fresh.call, fresh.epoch = ex.Format, ex.call, t.clock.epoch
			ex = fresh
		}
	}
	out := t.send(ctx, ex.Method, ex.URL, ex.ReqHeader.Clone(), ex.ReqBody)
	out.Format = ex.Format
	return out
}

func (t *target) send(ctx context.Context, method, rawURL string, h http.Header, body []byte) *exchange {
	ex := &exchange{Method: method, URL: rawURL, ReqHeader: h, ReqBody: body}
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		ex.Err = err
		return ex
	}
	for k, vs := range h {
		if strings.EqualFold(k, "Host") {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	resp, err := t.http.Do(req)
	if err != nil {
		ex.Err = err
		return ex
	}
	defer resp.Body.Close()
	ex.Status, ex.RespHeader = resp.StatusCode, resp.Header
	ex.RespBody, ex.Err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return ex
}
