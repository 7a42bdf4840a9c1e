package control

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unsafe"
)

func TestJournalRing(t *testing.T) {
	cases := []struct {
		size, records int
		newest        []string
	}{
		{3, 0, nil},
		{3, 2, []string{"r1", "r0"}},
		{3, 3, []string{"r2", "r1", "r0"}},
		{3, 7, []string{"r6", "r5", "r4"}},
		{1, 5, []string{"r4"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.size, "/", c.records), func(t *testing.T) {
			j := NewJournal(c.size)
			for i := range c.records {
				j.Record(Entry{RequestID: fmt.Sprint("r", i), HTTPStatus: 200 + i%2*200})
			}
			var got []string
			for _, e := range j.List(Filter{}) {
				got = append(got, e.RequestID)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.newest) || j.Len() != len(c.newest) {
				t.Fatalf("%v (len %d), want %v", got, j.Len(), c.newest)
			}
			if n := len(j.List(Filter{Limit: 1})); n != min(1, len(c.newest)) {
				t.Fatalf("limit 1: %d", n)
			}
			j.Clear()
			if j.Len() != 0 || len(j.List(Filter{})) != 0 || j.Cap() != c.size {
				t.Fatal("clear")
			}
		})
	}
	if NewJournal(0).Cap() != DefaultJournalSize {
		t.Fatal("default size")
	}
}

func TestRecordParams(t *testing.T) {
	long := strings.Repeat("d", maxParamBytes+10)
	got := RecordParams(url.Values{"Signature": {"abc"}, "SecurityToken": {"tok"}, "Data": {long}, "AppId": {"a", "b"}, "Empty": {}})
	cases := map[string]string{"Signature": "REDACTED", "SecurityToken": "REDACTED", "AppId": "a", "Empty": "",
		"Data": long[:maxParamBytes] + fmt.Sprintf("…(truncated, %d bytes)", len(long))}
	for k, want := range cases {
		if got[k] != want {
			t.Errorf("%s: %.40q, want %.40q", k, got[k], want)
		}
	}
	many := url.Values{}
	for i := range 100 {
		many.Set(fmt.Sprint("p", i), "v")
	}
	if n := len(RecordParams(many)); n != 65 {
		t.Fatalf("%d parameters recorded, want 64 and a note", n)
	}
}

// Parameters kept raw (small requests) read back exactly as the copy made at
// once (large ones) would.
func TestSetRawParamsMatchesCopy(t *testing.T) {
	query, form := "Signature=abc&Data="+strings.Repeat("d", 100)+"&AppId=a&Empty=", []byte("AppId=b&Form=1")
	p, _ := url.ParseQuery(query)
	f, _ := url.ParseQuery(string(form))
	for k, vs := range f {
		p[k] = append(p[k], vs...)
	}
	for _, pad := range []int{0, lazyMaxBytes} {
		j := NewJournal(3)
		var e Entry
		e.SetRawParams(p, query, append(form, strings.Repeat("&", pad)...))
		if (e.Params == nil) != (pad == 0) {
			t.Fatalf("pad %d: lazy %v", pad, e.Params == nil)
		}
		j.Record(e)
		var none Entry
		none.SetRawParams(nil, "", nil) // parameters that could not be decoded
		j.Record(none)
		got := j.List(Filter{})
		if fmt.Sprint(got[1].Params) != fmt.Sprint(RecordParams(p)) || got[0].Params == nil || len(got[0].Params) != 0 {
			t.Fatalf("pad %d: %v / %v", pad, got[1].Params, got[0].Params)
		}
	}
}

// inside reports whether s points into the memory of buf.
func inside(s string, buf []byte) bool {
	if len(s) == 0 || len(buf) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&buf[0]))
	return p >= lo && p < lo+uintptr(len(buf))
}

// An entry never keeps a reference into the request it was made from (a kept
// substring pins the whole request), whether its parameters are kept raw
// (small request) or decoded at once (large one), and whatever field the
// request's bytes reach.
func TestEntryKeepsCopiesNotSubstrings(t *testing.T) {
	for _, size := range []int{100, 1 << 20} {
		reqBytes := []byte("Action=Act" + strings.Repeat("x", 10) + "&AppId=app&Junk=" + strings.Repeat("j", size))
		query := unsafe.String(&reqBytes[0], len(reqBytes)) // the request's memory, as net/http hands it over
		p, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{Action: p.Get("Action"), Method: query[:4], Detail: query, Warnings: []string{query[:20], query}}
		e.SetRawParams(p, query, nil)
		j := NewJournal(10)
		j.Record(e)
		got := j.buf[j.head]
		for name, s := range map[string]string{"action": got.Action, "method": got.Method, "detail": got.Detail,
			"warning0": got.Warnings[0], "warning1": got.Warnings[1]} {
			if inside(s, reqBytes) {
				t.Errorf("size %d: %s points into the request", size, name)
			}
		}
		for k, v := range got.Params {
			if inside(k, reqBytes) || inside(v, reqBytes) {
				t.Errorf("size %d: parameter %s points into the request", size, k)
			}
		}
		if inside(string(got.raw), reqBytes) || (len(got.raw) > 0 && &got.raw[0] == &reqBytes[0]) {
			t.Errorf("size %d: raw parameters share the request's memory", size)
		}
		if got.Bytes() > 40<<10 {
			t.Errorf("size %d: one entry costs %d bytes", size, got.Bytes())
		}
		if l := j.List(Filter{App: "app"}); len(l) != 1 || len(l[0].Params["Junk"]) > maxParamBytes+40 {
			t.Errorf("size %d: listed %d entries, Junk %d bytes", size, len(l), len(l[0].Params["Junk"]))
		}
	}
}

// The journal stays within its byte budget however large the requests are,
// and never holds more entries than its size; the oldest go first.
func TestJournalByteBudget(t *testing.T) {
	j := NewJournalBytes(1000, 256<<10)
	big := strings.Repeat("v", 1<<20)
	for i := range 500 {
		p := url.Values{}
		for k := range 10 {
			p.Set(fmt.Sprint("P", k), big)
		}
		e := Entry{RequestID: fmt.Sprint("r", i), Detail: big}
		e.SetRawParams(p, big, nil)
		e.SetResponse([]byte(big))
		j.Record(e)
		if j.Bytes() > j.MaxBytes() {
			t.Fatalf("after %d records: %d bytes, budget %d", i+1, j.Bytes(), j.MaxBytes())
		}
	}
	l := j.List(Filter{})
	if len(l) == 0 || len(l) == 500 || l[0].RequestID != "r499" {
		t.Fatalf("%d entries kept, newest %v", len(l), l[0].RequestID)
	}
	sum := int64(0)
	for _, e := range j.buf {
		sum += int64(e.Bytes())
	}
	if sum != j.Bytes() {
		t.Fatalf("accounting drifted: entries cost %d, journal says %d", sum, j.Bytes())
	}
	if len(l[0].Response) > maxBodyBytes+40 || !strings.Contains(l[0].Response, "truncated, 1048576 bytes") {
		t.Fatalf("response kept %d bytes", len(l[0].Response))
	}
	j.Clear()
	if j.Bytes() != 0 || j.Len() != 0 {
		t.Fatal("clear kept bytes")
	}
	// A huge entry count takes no memory up front.
	huge := NewJournal(400_000_000)
	huge.Record(Entry{RequestID: "x"})
	if len(huge.buf) > 16 || huge.Cap() != 400_000_000 {
		t.Fatalf("ring of %d slots for one entry", len(huge.buf))
	}
}

func TestJournalFilterAndCount(t *testing.T) {
	j := NewJournal(100)
	add := func(action, account, app, code string, status int, extra ...string) {
		p := url.Values{"AppId": {app}}
		for i := 0; i+1 < len(extra); i += 2 {
			p.Set(extra[i], extra[i+1])
		}
		e := Entry{Action: action, Account: account, ErrorCode: code, HTTPStatus: status}
		e.SetRawParams(p, p.Encode(), nil)
		j.Record(e)
	}
	add("PushApplicationData", "a", "app1", "", 200, "Data", "d1")
	add("PushApplicationData", "a", "app2", "", 200, "Data", "d2")
	add("PushApplicationData", "b", "app1", "InvalidParameter.Data", 400, "Data", "bad")
	add("DescribeDataPushResult", "a", "app1", "", 200)
	cases := []struct {
		f    Filter
		want int
	}{
		{Filter{}, 4},
		{Filter{Action: "PushApplicationData"}, 3},
		{Filter{Account: "a"}, 3},
		{Filter{App: "app1"}, 3},
		{Filter{App: "app1", Account: "a"}, 2},
		{Filter{Code: "InvalidParameter.Data"}, 1},
		{Filter{Status: 400}, 1},
		{Filter{Params: map[string]string{"Data": "d2"}}, 1},
		{Filter{Params: map[string]string{"Data": "d2", "AppId": "app1"}}, 0},
		{Filter{Params: map[string]string{"Missing": ""}}, 0},
		{Filter{App: "nope"}, 0},
		{Filter{Limit: 1}, 4}, // Count ignores Limit
	}
	for _, c := range cases {
		if got := j.Count(c.f); got != c.want {
			t.Errorf("Count(%+v) = %d, want %d", c.f, got, c.want)
		}
		wantList := c.want
		if c.f.Limit > 0 {
			wantList = min(c.want, c.f.Limit)
		}
		if got := len(j.List(c.f)); got != wantList {
			t.Errorf("List(%+v) = %d entries, want %d", c.f, got, wantList)
		}
	}
}

// The costliest entry a request can make stays within the documented ~53 KiB
// (and under MinJournalBytes, so a journal always holds the latest entry).
func TestWorstCaseEntryCost(t *testing.T) {
	p := url.Values{}
	for i := range 100 {
		p.Set(fmt.Sprint("P", strings.Repeat("k", 300), i), strings.Repeat("v", 8192))
	}
	long := strings.Repeat("x", 1<<16)
	ws := make([]string, 100)
	for i := range ws {
		ws[i] = long[:2048]
	}
	e := Entry{Action: long, Method: long, RequestID: long, Account: long, AccessKeyID: long, ErrorCode: long, Detail: long, Warnings: ws,
		ResultCodes: make([]int, 20000)}
	e.SetRawParams(p, long, []byte(long))
	e.SetResponse([]byte(long))
	j := NewJournal(1)
	j.Record(e)
	if c := j.Bytes(); c > 53<<10 || c > MinJournalBytes || len(j.List(Filter{})[0].ResultCodes) != maxResultCodes {
		t.Fatalf("worst-case entry costs %d bytes", c)
	}
}
