package mock

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ensmock/ensmock/internal/wire"
)

// FuzzEncode builds random push results, describe states and errors from fuzzed
// strings and numbers, encodes them with the wire layer in JSON and XML, and
// decodes them back: the documents are well formed and lose nothing but what the
// formats cannot carry (invalid UTF-8 and, in XML, characters outside XML 1.0,
// both replaced by U+FFFD).
func FuzzEncode(f *testing.F) {
	f.Add("app01", "1.0", "success", "cn-chengdu-telecom-4", "InvalidParameter.Data", 0, uint64(1))
	f.Add("a&b<c>]]>", "v\"'", "pushing: 1 of 2 file servers still pushing", "cn-x", "Throttling.User", 200, uint64(2))
	f.Add("\x00\xff\ufffe", "\r\n\t", "\u2028 timed out", "", "", 300, uint64(3))
	f.Add("", "", "", "日本", "Code With Spaces&=", -1, uint64(4))
	f.Fuzz(func(t *testing.T, name, version, descrip, region, code string, resultCode int, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
		strs := []string{name, version, descrip, region, code}
		s := func() string {
			a, b := strs[rng.IntN(len(strs))], strs[rng.IntN(len(strs))]
			if rng.IntN(4) == 0 {
				return a + b
			}
			return a
		}
		push := &pushApplicationDataResponse{RequestID: wire.NewRequestID()}
		for range rng.IntN(4) {
			push.PushResults.PushResult = append(push.PushResults.PushResult,
				pushResult{Name: s(), Version: s(), ResultCode: resultCode + rng.IntN(3)*100, ResultDescrip: s()})
		}
		desc := &describeDataPushResultResponse{RequestID: wire.NewRequestID(), PageNumber: resultCode, PageSize: rng.IntN(100), TotalCount: rng.Int()}
		for range rng.IntN(3) {
			var ps pushStatus
			ps.Name, ps.Version = s(), s()
			for range rng.IntN(3) {
				var st statusStat
				st.Status = s()
				for range rng.IntN(3) {
					st.RegionIDs.RegionID = append(st.RegionIDs.RegionID, regionStatus{RegionID: s(), StartTime: s(), StatusDescrip: s(), UpdateTime: s()})
				}
				st.RegionIDCount = len(st.RegionIDs.RegionID)
				ps.StatusStatS.StatusStat = append(ps.StatusStatS.StatusStat, st)
			}
			desc.PushResults.PushResult = append(desc.PushResults.PushResult, ps)
		}
		roundTrip(t, "PushApplicationData", push, &pushApplicationDataResponse{})
		roundTrip(t, "DescribeDataPushResult", desc, &describeDataPushResultResponse{})

		e := &wire.Error{Status: 400, Code: code, Message: descrip}
		for _, format := range []wire.Format{wire.JSON, wire.XML} {
			rec := httptest.NewRecorder()
			rid := wire.NewRequestID()
			wire.WriteError(rec, rid, format, e)
			var got struct {
				RequestID string `json:"RequestId" xml:"RequestId"`
				HostID    string `json:"HostId" xml:"HostId"`
				Code      string `json:"Code" xml:"Code"`
				Message   string `json:"Message" xml:"Message"`
				Recommend string `json:"Recommend" xml:"Recommend"`
			}
			var err error
			norm := normJSON
			if format == wire.JSON {
				err = json.Unmarshal(rec.Body.Bytes(), &got)
			} else {
				err = xml.Unmarshal(rec.Body.Bytes(), &got)
				norm = normXML
			}
			if err != nil {
				t.Fatalf("error body (format %d) does not decode: %v: %q", format, err, rec.Body)
			}
			if got.RequestID != rid || got.HostID != wire.Host || got.Code != norm(code) || got.Message != norm(descrip) || got.Recommend != wire.Recommend(code, rid) {
				t.Fatalf("error body (format %d) decodes to %+v", format, got)
			}
		}
	})
}

// roundTrip encodes v in both formats and decodes each into a fresh *T.
func roundTrip[T any](t *testing.T, action string, v *T, _ *T) {
	t.Helper()
	for _, format := range []wire.Format{wire.JSON, wire.XML} {
		var buf bytes.Buffer
		err := wire.Encode(&buf, format, action, v)
		if err != nil {
			t.Fatalf("encode %s (format %d): %v", action, format, err)
		}
		data := buf.Bytes()
		var got T
		want := deepCopy(v)
		if format == wire.JSON {
			err = json.Unmarshal(data, &got)
			normalize(reflect.ValueOf(want).Elem(), normJSON)
		} else {
			if !strings.HasPrefix(string(data), `<?xml version="1.0" encoding="UTF-8"?><`+action+`Response>`) {
				t.Fatalf("XML root: %.80q", data)
			}
			err = xml.Unmarshal(data, &got)
			normalize(reflect.ValueOf(want).Elem(), normXML)
		}
		if err != nil {
			t.Fatalf("%s (format %d) does not decode: %v\n%s", action, format, err, data)
		}
		if !reflect.DeepEqual(emptyNil(&got), emptyNil(want)) {
			t.Fatalf("%s (format %d) round trip:\n got %+v\nwant %+v\n%s", action, format, got, *want, data)
		}
	}
}

func deepCopy[T any](v *T) *T {
	b, _ := json.Marshal(v) // only used on values whose strings are then normalised identically
	var out T
	_ = json.Unmarshal(b, &out)
	return &out
}

// emptyNil makes empty slices nil so that an absent XML list equals an empty one.
func emptyNil[T any](v *T) *T {
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			if v.Len() == 0 {
				v.Set(reflect.Zero(v.Type()))
				return
			}
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(v).Elem())
	return v
}

func normalize(v reflect.Value, norm func(string) string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(norm(v.String()))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalize(v.Field(i), norm)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalize(v.Index(i), norm)
		}
	}
}

// normJSON: encoding/json writes each invalid UTF-8 byte as U+FFFD.
func normJSON(s string) string { return replaceRunes(s, func(rune) bool { return true }) }

// normXML: encoding/xml also writes characters outside XML 1.0 as U+FFFD.
func normXML(s string) string {
	return replaceRunes(s, func(r rune) bool {
		return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
	})
}

func replaceRunes(s string, ok func(rune) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && w == 1) || !ok(r) {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}
