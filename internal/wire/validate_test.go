package wire

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/ensmock/ensmock/spec"
)

func newTestValidator(t *testing.T) *Validator {
	t.Helper()
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	return NewValidator(doc)
}

func validate(v *Validator, action string, p url.Values) (*Request, *Error) {
	req := &Request{Action: action, Params: p}
	return req, v.Validate(context.Background(), req)
}

// The memo must not change a single verdict: each request, validated twice by a
// validator that has seen everything before, answers exactly as a fresh
// validator does, and a refused value is refused (with its detail) every time.
func TestValidationMemoChangesNoVerdict(t *testing.T) {
	const data = `[{"name":"a","version":"1.0","size":1,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/x"}]`
	long := `[{"name":"` + strings.Repeat("n", memoMaxLen) + `","version":"1.0","size":1,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1/x"}]`
	cases := []struct {
		action string
		params url.Values
	}{
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {data}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {long}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {`[{"name":"a"}]`}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {`not json`}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {data}, "Timeout": {"-1"}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {data}, "Timeout": {"60"}}},
		{"PushApplicationData", url.Values{"AppId": {"app"}, "Data": {data, data}}},
		{"PushApplicationData", url.Values{"Data": {data}}},
		{"DescribeDataPushResult", url.Values{"AppId": {"app"}, "PageSize": {"10"}}},
		{"DescribeDataPushResult", url.Values{"AppId": {"app"}, "PageSize": {"0"}}},
		{"DescribeDataPushResult", url.Values{"AppId": {"app"}, "PageSize": {"ten"}}},
		{"DescribeDataPushResult", url.Values{"AppId": {"app"}, "PageSize": {"1001"}}},
		{"DescribeDataPushResult", url.Values{"AppId": {"app"}, "MinDate": {"2026-01-02"}}},
	}
	seasoned := newTestValidator(t)
	for round := 0; round < 3; round++ {
		for _, tc := range cases {
			fresh := newTestValidator(t)
			wantReq, want := validate(fresh, tc.action, tc.params)
			gotReq, got := validate(seasoned, tc.action, tc.params)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %s %v: memoized validator answered %v, a fresh one %v", round, tc.action, tc.params, got, want)
			}
			if !reflect.DeepEqual(gotReq.JSON, wantReq.JSON) {
				t.Fatalf("round %d, %s %v: decoded JSON %#v, want %#v", round, tc.action, tc.params, gotReq.JSON, wantReq.JSON)
			}
		}
	}
}

// Only single values that passed twice, of at most memoMaxLen bytes, are
// remembered.
func TestValidationMemoKeepsOnlyWhatPassed(t *testing.T) {
	v := newTestValidator(t)
	op := v.ops["DescribeDataPushResult"]
	memoOf := func(name string) *memo {
		for i, p := range op.route.Operation.Parameters {
			if p.Value.Name == name {
				return op.memos[i]
			}
		}
		t.Fatalf("no parameter %s", name)
		return nil
	}
	long := strings.Repeat("a", memoMaxLen+1)
	for _, p := range []url.Values{
		{"AppId": {"app"}, "PageSize": {"10"}},
		{"AppId": {"app"}, "PageNumber": {"0"}},
		{"AppId": {long}},
		{"AppId": {"once"}},
	} {
		validate(v, "DescribeDataPushResult", p)
		if p.Get("AppId") != "once" {
			validate(v, "DescribeDataPushResult", p)
		}
	}
	if memoOf("AppId").get("app") == nil || memoOf("PageSize").get("10") == nil {
		t.Fatal("values that passed were not remembered")
	}
	if memoOf("AppId").get("once") != nil {
		t.Fatal("a value seen once was remembered (it should wait at the door)")
	}
	if memoOf("PageNumber").get("0") != nil {
		t.Fatal("a refused value was remembered")
	}
	if memoOf("AppId").get(long) != nil || memoOf("PageNumber").get("10") != nil {
		t.Fatal("remembered a value over memoMaxLen, or across parameters")
	}
}

// A remembered value is a copy: the request body it was sliced from (up to
// 1 MiB) is not kept alive by the memo.
func TestValidationMemoCopiesValue(t *testing.T) {
	m := newMemo()
	body := "AppId=app&Data=" + strings.Repeat("x", 1<<20)
	raw := body[len("AppId="):len("AppId=app")]
	m.put(raw, nil)
	m.put(raw, nil)
	e := m.get("app")
	if e == nil {
		t.Fatal("a value that passed twice was not remembered")
	}
	if unsafe.StringData(e.raw) == unsafe.StringData(raw) {
		t.Fatal("the memo keeps a slice of the request body, not a copy")
	}
}

// Values that are repeated keep their place while a stream of values seen once
// (every new file's Data) passes through: the load benchmark's mix of 50
// repeated files among new ones.
func TestValidationMemoKeepsRepeatedValues(t *testing.T) {
	m := newMemo()
	const popular = 50
	hits, asks := 0, 0
	for round := 0; round < 200; round++ {
		for i := 0; i < popular; i++ {
			m.put(fmt.Sprintf("new-%d-%d", round, i), nil) // seen once
			v := fmt.Sprintf("repeat-%d", i)
			if round >= 10 {
				asks++
				if m.get(v) != nil {
					hits++
					continue
				}
			} else if m.get(v) != nil {
				continue
			}
			m.put(v, nil)
		}
	}
	rate := float64(hits) / float64(asks)
	t.Logf("repeated values found %.1f%% of the time", 100*rate)
	if rate < 0.8 { // 89-100% over 300 seeds; a direct-mapped memo without a door: 50-70%
		t.Fatalf("repeated values found %.0f%% of the time, want at least 80%%", 100*rate)
	}
}

// Concurrent requests share the memo without a lock: under -race, every
// verdict still matches the one computed alone beforehand.
func TestValidationMemoConcurrent(t *testing.T) {
	fresh, shared := newTestValidator(t), newTestValidator(t)
	type tc struct {
		params url.Values
		want   *Error
	}
	var cases []tc
	for i := 0; i < 40; i++ {
		p := url.Values{"AppId": {fmt.Sprintf("app-%d", i%7)}, "PageSize": {fmt.Sprint(i*37%1200 - 5)}}
		_, want := validate(fresh, "DescribeDataPushResult", p)
		cases = append(cases, tc{p, want})
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				c := cases[(i*7+g)%len(cases)]
				if _, got := validate(shared, "DescribeDataPushResult", c.params); !reflect.DeepEqual(got, c.want) {
					t.Errorf("%v: %v, want %v", c.params, got, c.want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
