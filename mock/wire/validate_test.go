package wire

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"

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

// Only single values that passed, of at most memoMaxLen bytes, are remembered.
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
		{"AppId": {"app"}, "PageSize": {"0"}},
		{"AppId": {long}},
	} {
		validate(v, "DescribeDataPushResult", p)
	}
	if memoOf("AppId").get("app") == nil || memoOf("PageSize").get("10") == nil {
		t.Fatal("values that passed were not remembered")
	}
	if memoOf("PageSize").get("0") != nil {
		t.Fatal("a refused value was remembered")
	}
	if memoOf("AppId").get(long) != nil || memoOf("PageNumber").get("10") != nil {
		t.Fatal("remembered a value over memoMaxLen, or across parameters")
	}
}
