package control

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
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
