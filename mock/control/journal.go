package control

import (
	"maps"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// DefaultJournalSize is the number of requests the journal keeps.
const DefaultJournalSize = 1000

// maxParamBytes bounds each recorded parameter value, so the journal's memory
// is bounded by its size, not by what clients send.
const maxParamBytes = 4096

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
	ResultCodes []int             `json:"resultCodes,omitempty"` // PushApplicationData, per data file
	Latency     Duration          `json:"latency"`               // wall time spent answering

	// rawQuery and rawForm are the request's parameters as they came (no copy
	// on the request path), decoded into Params by RecordParams when the entry
	// is read. Only small requests are kept this way (see SetRawParams).
	rawQuery string
	rawForm  []byte
	raw      bool
}

// lazyMaxBytes bounds the raw size of a request whose parameters the journal
// keeps as they came; a larger one is copied (truncated) at once, so an entry
// never holds more than about this much.
const lazyMaxBytes = 8 << 10

// SetRawParams records the request's parameters p, decoded from the raw query
// string and, when it was merged in, the form body (nil otherwise), exactly as
// url.ParseQuery decodes them (query values first). A small request keeps the
// raw strings, decoded, redacted and truncated only when the entry is read;
// the caller must not change form afterwards. A large one (or one with more
// than 64 parameters) is copied now (RecordParams).
func (e *Entry) SetRawParams(p url.Values, query string, form []byte) {
	if p != nil && len(query)+len(form) <= lazyMaxBytes && len(p) <= 64 {
		e.Params, e.rawQuery, e.rawForm, e.raw = nil, query, form, true
		return
	}
	e.Params, e.rawQuery, e.rawForm, e.raw = RecordParams(p), "", nil, false
}

// params decodes the raw parameters of an entry recorded with SetRawParams.
func (e *Entry) params() url.Values {
	if !e.raw {
		return nil
	}
	q, _ := url.ParseQuery(e.rawQuery)
	if e.rawForm != nil {
		form, _ := url.ParseQuery(string(e.rawForm))
		for k, vs := range form {
			q[k] = append(q[k], vs...)
		}
	}
	return q
}

// Duration marshals as a Go duration string.
type Duration time.Duration

// MarshalJSON writes e.g. "1.2ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// redacted parameters never reach the journal.
var redacted = map[string]bool{"Signature": true, "SecurityToken": true, "AccessKeySecret": true}

// RecordParams copies request parameters for an Entry: the first value of each,
// secrets redacted, long values truncated.
func RecordParams(p url.Values) map[string]string {
	out := make(map[string]string, len(p))
	for k, vs := range p {
		if len(out) >= 64 {
			out["…"] = strconv.Itoa(len(p)-64) + " more parameters not recorded"
			break
		}
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		if redacted[k] {
			v = "REDACTED"
		} else if len(v) > maxParamBytes {
			v = v[:maxParamBytes] + "…(truncated, " + strconv.Itoa(len(v)) + " bytes)"
		}
		if len(k) > 256 {
			k = k[:256]
		}
		out[k] = v
	}
	return out
}

// Journal is a bounded ring buffer of the latest requests, safe for concurrent use.
type Journal struct {
	mu   sync.Mutex
	buf  []Entry
	next int // where the next entry goes
	n    int // entries held
}

// NewJournal returns a journal that keeps the last size requests (default DefaultJournalSize).
func NewJournal(size int) *Journal {
	if size <= 0 {
		size = DefaultJournalSize
	}
	return &Journal{buf: make([]Entry, size)}
}

// Record adds an entry, dropping the oldest when full.
func (j *Journal) Record(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf[j.next] = e
	j.next = (j.next + 1) % len(j.buf)
	if j.n < len(j.buf) {
		j.n++
	}
}

// Len is the number of entries held; Cap the bound.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Cap is the journal's bound.
func (j *Journal) Cap() int { return len(j.buf) }

// Clear forgets every entry.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.buf)
	j.next, j.n = 0, 0
}

// Filter selects journal entries; zero fields do not filter.
type Filter struct {
	Action, Account, Code string
	Status                int
	Limit                 int
}

// List returns the entries that match f, newest first.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []Entry{}
	for i := 1; i <= j.n; i++ {
		e := &j.buf[(j.next-i+len(j.buf))%len(j.buf)]
		if (f.Action != "" && e.Action != f.Action) || (f.Account != "" && e.Account != f.Account) ||
			(f.Code != "" && e.ErrorCode != f.Code) || (f.Status != 0 && e.HTTPStatus != f.Status) {
			continue
		}
		c := *e
		c.rawQuery, c.rawForm, c.raw = "", nil, false
		if e.Params == nil {
			c.Params = RecordParams(e.params())
		} else {
			c.Params = maps.Clone(e.Params)
		}
		c.ResultCodes = append([]int(nil), e.ResultCodes...)
		c.Warnings = append([]string(nil), e.Warnings...)
		out = append(out, c)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out
}
