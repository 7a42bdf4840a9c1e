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
	ResultCodes []int             `json:"resultCodes,omitempty"` // PushApplicationData, per data file
	Latency     Duration          `json:"latency"`               // wall time spent answering
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
		c.Params = maps.Clone(e.Params)
		c.ResultCodes = append([]int(nil), e.ResultCodes...)
		out = append(out, c)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out
}
