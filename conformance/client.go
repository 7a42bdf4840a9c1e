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

	call   *call // what was sent, when the suite built it (nil for raw requests)
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
// the official SDKs sign: V1 (HMAC-SHA1 query) or V3 (ACS3-HMAC-SHA256 headers),
// with this machine's time, as they do. The target checks the timestamp against
// its own time (±15 minutes); the pre-flight check stops a run whose target's
// time is further away than that.
type target struct {
	endpoint string // base URL, no trailing slash
	http     *http.Client
	v3       bool
}

// newNonce returns a fresh random signature nonce.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
	now := time.Now().Add(c.Skew)
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

// do signs and sends c.
func (t *target) do(ctx context.Context, c call) *exchange {
	method, u, h, body := t.build(c)
	ex := t.send(ctx, method, u, h, body)
	ex.Format, ex.call = c.Format, &c
	return ex
}

// replay sends exactly the request of ex again (same signature, nonce and time).
func (t *target) replay(ctx context.Context, ex *exchange) *exchange {
	out := t.send(ctx, ex.Method, ex.URL, ex.ReqHeader.Clone(), ex.ReqBody)
	out.Format, out.call = ex.Format, ex.call
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
