package control

import (
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
)

// DefaultJournalSize is the number of requests the journal keeps.
const DefaultJournalSize = 1000

// DefaultJournalBytes is the journal's byte budget: the entries it holds,
// counted as Entry.Bytes counts them, never add up to more. The oldest go
// first when either bound is reached.
const DefaultJournalBytes = 8 << 20

// MinJournalBytes is the smallest byte budget a journal takes (a smaller one
// is raised to it), so that it always holds the largest possible entry.
const MinJournalBytes = 64 << 10

// Bounds on what one entry keeps, so that an entry's memory depends on these,
// never on what the client sent. Whatever is cut ends with a "…(truncated, N
// bytes)" marker.
const (
	maxParamBytes   = 4096     // one parameter value
	maxParamsBytes  = 16 << 10 // all parameter names and values of one entry
	maxParams       = 64       // parameters of one entry
	maxKeyBytes     = 256      // one parameter name
	maxBodyBytes    = 4096     // the response body
	maxDetailBytes  = 4096     // the refusal's detail
	maxWarnings     = 16       // warnings of one entry
	maxWarningBytes = 1024     // one warning
	maxFieldBytes   = 256      // action, account, AccessKeyId, request id, method, error code
	maxResultCodes  = 1000     // PushApplicationData's result codes (the first ones)
	// entryOverhead is what an entry costs beyond the bytes of its strings:
	// the Entry itself in the ring, map and slice headers.
	entryOverhead = 512
	// lazyMaxBytes bounds the raw size of a request whose parameters the
	// journal keeps as one copy of the raw query and form (decoded when the
	// entry is read); a larger one is decoded, copied and truncated at once.
	lazyMaxBytes = 8 << 10
)

// Entry is one API request as the journal records it.
type Entry struct {
	Time        time.Time         `json:"time"` // the mock's clock
	RequestID   string            `json:"requestId"`
	Action      string            `json:"action"`
	Account     string            `json:"account"`
	AccessKeyID string            `json:"accessKeyId,omitempty"`
	Method      string            `json:"method"`
	Params      map[string]string `json:"params"`
	HTTPStatus  int               `json:"httpStatus"`
	ErrorCode   string            `json:"errorCode,omitempty"`
	Detail      string            `json:"detail,omitempty"`      // why the request was refused (X-Ensmock-Detail)
	Warnings    []string          `json:"warnings,omitempty"`    // ensmock limits the request broke but was accepted with
	ResultCodes []int             `json:"resultCodes,omitempty"` // PushApplicationData, per data file (the first 1000)
	// Response is the body of a successful answer (JSON or XML, as sent), cut
	// at 4 KiB. Refusals are described by HTTPStatus, ErrorCode and Detail.
	Response string         `json:"response,omitempty"`
	Latency  clock.Duration `json:"latency"` // wall time spent answering

	// raw holds a copy of a small request's raw query string followed by its
	// form body (when one was merged in: hasForm), decoded into Params when the
	// entry is read (see SetRawParams).
	raw     []byte
	qlen    int
	hasForm bool
	lazy    bool
	bytes   int // what the entry costs, set by Record
}

// SetRawParams records the request's parameters p, decoded from the raw query
// string and, when it was merged in, the form body (nil otherwise), exactly as
// url.ParseQuery decodes them (query values first). The entry never keeps a
// reference to the request: a small request is kept as one copy of its raw
// query and form (decoded, redacted and truncated only when the entry is
// read); a larger one (or one with more than 64 parameters) is decoded now
// into copies, truncated (RecordParams).
func (e *Entry) SetRawParams(p url.Values, query string, form []byte) {
	e.raw, e.qlen, e.hasForm, e.lazy = nil, 0, false, false
	if p != nil && len(query)+len(form) <= lazyMaxBytes && len(p) <= maxParams {
		raw := make([]byte, 0, len(query)+len(form))
		raw = append(append(raw, query...), form...)
		e.Params, e.raw, e.qlen, e.hasForm, e.lazy = nil, raw, len(query), form != nil, true
		return
	}
	e.Params = RecordParams(p)
}

// SetResponse records a copy of the response body, cut at 4 KiB.
func (e *Entry) SetResponse(body []byte) {
	if len(body) <= maxBodyBytes {
		e.Response = string(body)
		return
	}
	e.Response = string(body[:maxBodyBytes]) + truncated(len(body))
}

// params decodes the raw parameters of an entry recorded with SetRawParams.
func (e *Entry) params() url.Values {
	if !e.lazy {
		return nil
	}
	q, _ := url.ParseQuery(string(e.raw[:e.qlen]))
	if e.hasForm {
		form, _ := url.ParseQuery(string(e.raw[e.qlen:]))
		for k, vs := range form {
			q[k] = append(q[k], vs...)
		}
	}
	return q
}

// Bytes is what the entry costs the journal: its strings' bytes plus a fixed
// overhead. Set when the entry is recorded.
func (e *Entry) Bytes() int { return e.bytes }

func (e *Entry) cost() int {
	n := entryOverhead + len(e.raw) + len(e.RequestID) + len(e.Action) + len(e.Account) + len(e.AccessKeyID) +
		len(e.Method) + len(e.ErrorCode) + len(e.Detail) + len(e.Response) + 8*len(e.ResultCodes)
	for _, w := range e.Warnings {
		n += len(w) + 16
	}
	for k, v := range e.Params {
		n += len(k) + len(v) + 48
	}
	return n
}

// redacted parameters never reach the journal.
var redacted = map[string]bool{"Signature": true, "SecurityToken": true, "AccessKeySecret": true}

func truncated(n int) string { return "…(truncated, " + strconv.Itoa(n) + " bytes)" }

// clip returns s cut at max bytes (with a marker), always as a copy when cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.Clone(s[:max]) + truncated(len(s))
}

// own returns a copy of s (cut at max bytes), so that the entry never pins
// the memory s came from.
func own(s string, max int) string {
	if len(s) > max {
		return clip(s, max)
	}
	return strings.Clone(s)
}

// RecordParams copies request parameters for an Entry: the first value of each,
// secrets redacted, names cut at 256 bytes and values at 4 KiB, at most 64
// parameters and 16 KiB in all. Every string is a copy.
func RecordParams(p url.Values) map[string]string {
	out := make(map[string]string, min(len(p), maxParams+1))
	total := 0
	for k, vs := range p {
		if len(out) >= maxParams || total >= maxParamsBytes {
			out["…"] = strconv.Itoa(len(p)-len(out)) + " more parameters not recorded"
			break
		}
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		k = own(k, maxKeyBytes)
		if redacted[k] {
			v = "REDACTED"
		} else {
			v = own(v, min(maxParamBytes, max(maxParamsBytes-total-len(k), 0)))
		}
		total += len(k) + len(v)
		out[k] = v
	}
	return out
}

// action interns the API's own action names (no copy on the request path);
// any other is copied.
func action(s string) string {
	switch s {
	case "PushApplicationData":
		return "PushApplicationData"
	case "DescribeDataPushResult":
		return "DescribeDataPushResult"
	case "DescribeDataDownloadURL":
		return "DescribeDataDownloadURL"
	}
	return own(s, maxFieldBytes)
}

func method(s string) string {
	switch s {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	}
	return own(s, maxFieldBytes)
}

// settle makes every string of e its own and bounded, and computes its cost.
func (e *Entry) settle() {
	e.Action = action(e.Action)
	e.Method = method(e.Method)
	e.RequestID = clip(e.RequestID, maxFieldBytes)
	e.Account = clip(e.Account, maxFieldBytes)
	e.AccessKeyID = clip(e.AccessKeyID, maxFieldBytes)
	e.ErrorCode = clip(e.ErrorCode, maxFieldBytes)
	if e.Detail != "" {
		e.Detail = own(e.Detail, maxDetailBytes)
	}
	if len(e.Warnings) > 0 {
		n := min(len(e.Warnings), maxWarnings)
		ws := make([]string, n, n+1)
		for i := range n {
			ws[i] = own(e.Warnings[i], maxWarningBytes)
		}
		if len(e.Warnings) > n {
			ws = append(ws, strconv.Itoa(len(e.Warnings)-n)+" more warnings not recorded")
		}
		e.Warnings = ws
	}
	e.Response = clip(e.Response, maxBodyBytes+64) // SetResponse cut it already, with its marker
	if len(e.ResultCodes) > maxResultCodes {
		e.ResultCodes = append([]int(nil), e.ResultCodes[:maxResultCodes]...) // a copy: let the rest go
	}
	if e.Params != nil && !e.lazy && len(e.Params) > maxParams+1 {
		e.Params = RecordParams(valuesOf(e.Params))
	}
	e.bytes = e.cost()
}

func valuesOf(m map[string]string) url.Values {
	v := make(url.Values, len(m))
	for k, s := range m {
		v[k] = []string{s}
	}
	return v
}

// Journal is a bounded ring buffer of the latest requests, safe for concurrent
// use. It is bounded twice: by a number of entries and by a byte budget
// (entries are counted as Entry.Bytes says); the oldest entries go first.
type Journal struct {
	mu       sync.Mutex
	size     int   // most entries
	maxBytes int64 // byte budget
	buf      []Entry
	head     int   // the oldest entry
	n        int   // entries held
	bytes    int64 // their cost
}

// NewJournal returns a journal that keeps the last size requests (default
// DefaultJournalSize) within DefaultJournalBytes.
func NewJournal(size int) *Journal { return NewJournalBytes(size, DefaultJournalBytes) }

// NewJournalBytes returns a journal that keeps at most size requests (default
// DefaultJournalSize) costing at most maxBytes (default DefaultJournalBytes;
// at least MinJournalBytes). Memory is taken as entries come, not up front.
func NewJournalBytes(size int, maxBytes int64) *Journal {
	if size <= 0 {
		size = DefaultJournalSize
	}
	if maxBytes <= 0 {
		maxBytes = DefaultJournalBytes
	}
	maxBytes = max(maxBytes, MinJournalBytes)
	return &Journal{size: size, maxBytes: maxBytes}
}

// Record adds an entry, dropping the oldest ones to stay within both bounds.
// Every string the entry keeps is made its own (copied) and cut to its bound.
func (j *Journal) Record(e Entry) {
	e.settle()
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.n > 0 && (j.n >= j.size || j.bytes+int64(e.bytes) > j.maxBytes) {
		j.bytes -= int64(j.buf[j.head].bytes)
		j.buf[j.head] = Entry{}
		j.head = (j.head + 1) % len(j.buf)
		j.n--
	}
	if j.n == len(j.buf) {
		j.grow()
	}
	j.buf[(j.head+j.n)%len(j.buf)] = e
	j.n++
	j.bytes += int64(e.bytes)
}

// grow enlarges the ring (j.n == len(j.buf) < j.size), oldest first.
func (j *Journal) grow() {
	next := make([]Entry, min(max(2*len(j.buf), 16), j.size))
	for i := range j.n {
		next[i] = j.buf[(j.head+i)%len(j.buf)]
	}
	j.buf, j.head = next, 0
}

// Len is the number of entries held.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Cap is the journal's bound in entries.
func (j *Journal) Cap() int { return j.size }

// Bytes is what the entries held cost, as Entry.Bytes counts it.
func (j *Journal) Bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bytes
}

// MaxBytes is the journal's byte budget.
func (j *Journal) MaxBytes() int64 { return j.maxBytes }

// Clear forgets every entry.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf, j.head, j.n, j.bytes = nil, 0, 0, 0
}

// Filter selects journal entries; zero fields do not filter, and every field
// given must hold.
type Filter struct {
	Action  string `json:"action,omitempty"`
	Account string `json:"account,omitempty"`
	// App is the request's AppId parameter.
	App string `json:"app,omitempty"`
	// Code is the error code (ErrorCode); "" matches any, answered or not.
	Code string `json:"code,omitempty"`
	// Status is the HTTP status.
	Status int `json:"status,omitempty"`
	// Params are parameter values as recorded (after redaction and truncation).
	Params map[string]string `json:"params,omitempty"`
	// Limit bounds List's answer (newest first); 0: no bound. Count ignores it.
	Limit int `json:"limit,omitempty"`
}

func (f *Filter) needsParams() bool { return f.App != "" || len(f.Params) > 0 }

// match reports whether e matches f; params are e's parameters when f needs them.
func (f *Filter) match(e *Entry, params map[string]string) bool {
	if (f.Action != "" && e.Action != f.Action) || (f.Account != "" && e.Account != f.Account) ||
		(f.Code != "" && e.ErrorCode != f.Code) || (f.Status != 0 && e.HTTPStatus != f.Status) {
		return false
	}
	if f.App != "" {
		if v, ok := params["AppId"]; !ok || v != f.App {
			return false
		}
	}
	for k, want := range f.Params {
		if v, ok := params[k]; !ok || v != want {
			return false
		}
	}
	return true
}

// paramsOf returns the entry's parameters as the journal shows them.
func (e *Entry) paramsOf() map[string]string {
	if e.lazy {
		return RecordParams(e.params())
	}
	return e.Params
}

// snapshot returns shallow copies of the entries, newest first. An entry's
// strings, raw bytes, map and slices are never changed once recorded, so the
// copies may be read without the lock.
func (j *Journal) snapshot() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, j.n)
	for i := range j.n {
		out[i] = j.buf[(j.head+j.n-1-i)%len(j.buf)]
	}
	return out
}

// each calls fn with every entry that matches f, newest first, until fn says
// stop. It holds no lock while filtering.
func (j *Journal) each(f Filter, fn func(e *Entry, params map[string]string) bool) {
	all := j.snapshot()
	for i := range all {
		e := &all[i]
		var params map[string]string
		if f.needsParams() {
			params = e.paramsOf()
		}
		if !f.match(e, params) {
			continue
		}
		if !fn(e, params) {
			return
		}
	}
}

// Each calls fn with a copy of every entry that matches f, newest first (at
// most f.Limit when it is set), until fn returns false. It holds no lock while
// fn runs, so fn may write to a slow client.
func (j *Journal) Each(f Filter, fn func(e Entry) bool) {
	n := 0
	j.each(f, func(e *Entry, params map[string]string) bool {
		c := *e
		c.raw, c.qlen, c.hasForm, c.lazy = nil, 0, false, false
		switch {
		case params != nil && e.lazy:
			c.Params = params // decoded for the filter: already a fresh map
		case e.lazy:
			c.Params = RecordParams(e.params())
		default:
			c.Params = maps.Clone(e.Params)
		}
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		c.ResultCodes = append([]int(nil), e.ResultCodes...)
		c.Warnings = append([]string(nil), e.Warnings...)
		n++
		return fn(c) && (f.Limit <= 0 || n < f.Limit)
	})
}

// List returns copies of the entries that match f, newest first.
func (j *Journal) List(f Filter) []Entry {
	out := []Entry{}
	j.Each(f, func(e Entry) bool { out = append(out, e); return true })
	return out
}

// Count is the number of entries that match f (f.Limit is ignored).
func (j *Journal) Count(f Filter) int {
	n := 0
	j.each(f, func(*Entry, map[string]string) bool { n++; return true })
	return n
}
