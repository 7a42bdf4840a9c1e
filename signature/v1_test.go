package signature

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testID     = "testid"
	testSecret = "testsecret"
	testNonce  = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
	testAppID  = "e76f8985-7965-41fc-925b-9648bb6bf650"
	testData   = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz"}]`
)

// Vectors from docs/wire.md §4.
const (
	docSTS  = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	ensSTS  = "POST&%2F&AccessKeyId%3Dtestid%26Action%3DPushApplicationData%26AppId%3De76f8985-7965-41fc-925b-9648bb6bf650%26Data%3D%255B%257B%2522name%2522%253A%2522app01%2522%252C%2522version%2522%253A%25221.0%2522%252C%2522size%2522%253A100%252C%2522archiveType%2522%253A%2522tar.gz%2522%252C%2522md5%2522%253A%2522%2522%252C%2522url%2522%253A%2522http%253A%252F%252Fexample.com%252Fapp01.tar.gz%2522%257D%255D%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-01T00%253A00%253A00Z%26Version%3D2017-11-10"
	ensWire = "POST /?AccessKeyId=testid&Action=PushApplicationData&AppId=e76f8985-7965-41fc-925b-9648bb6bf650&Data=%5B%7B%22name%22%3A%22app01%22%2C%22version%22%3A%221.0%22%2C%22size%22%3A100%2C%22archiveType%22%3A%22tar.gz%22%2C%22md5%22%3A%22%22%2C%22url%22%3A%22http%3A%2F%2Fexample.com%2Fapp01.tar.gz%22%7D%5D&Format=JSON&RegionId=cn-hangzhou&Signature=f0FDJhtI2euKMvh4W9iaughf12o%3D&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureType=&SignatureVersion=1.0&Timestamp=2024-01-01T00%3A00%3A00Z&Version=2017-11-10 HTTP/1.1"
)

func docParams(tsKey string) url.Values {
	return url.Values{
		"AccessKeyId":      {testID},
		"Action":           {"DescribeRegions"},
		"Format":           {"XML"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {testNonce},
		"SignatureVersion": {"1.0"},
		tsKey:              {"2016-02-23T12:46:24Z"},
		"Version":          {"2014-05-26"},
	}
}

// ensParams returns the PushApplicationData parameters of docs/wire.md §4, unsigned.
func ensParams() url.Values {
	return url.Values{
		"AccessKeyId":      {testID},
		"Action":           {"PushApplicationData"},
		"AppId":            {testAppID},
		"Data":             {testData},
		"Format":           {"JSON"},
		"RegionId":         {"cn-hangzhou"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {testNonce},
		"SignatureType":    {""},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {"2024-01-01T00:00:00Z"},
		"Version":          {"2017-11-10"},
	}
}

var ensTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestPercentEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"AZaz09-_.~", "AZaz09-_.~"},
		{"a b", "a%20b"},
		{"*", "%2A"},
		{"+/=&:", "%2B%2F%3D%26%3A"},
		{"%", "%25"},
		{"é", "%C3%A9"},
		{"\x00\xff", "%00%FF"},
	} {
		if got := PercentEncode(tc.in); got != tc.want {
			t.Errorf("PercentEncode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := PercentEncode(tc.in); got != sdkEncode(tc.in) {
			t.Errorf("PercentEncode(%q) = %q, SDK encoding gives %q", tc.in, got, sdkEncode(tc.in))
		}
	}
}

// sdkEncode is how the SDKs implement percentEncode (docs/wire.md §4).
func sdkEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

func TestV1Vectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		method  string
		params  url.Values
		wantSTS string // "" = not published
		wantSig string
	}{
		{"doc DescribeRegions", "GET", docParams("Timestamp"), docSTS, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="},
		{"doc TimeStamp variant", "GET", docParams("TimeStamp"), strings.Replace(docSTS, "Timestamp", "TimeStamp", 1), "CT9X0VtwR86fNWSnsc6v8YGOjuE="},
		{"ENS PushApplicationData", "POST", ensParams(), ensSTS, "f0FDJhtI2euKMvh4W9iaughf12o="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := V1StringToSign(tc.method, tc.params)
			if sts != tc.wantSTS {
				t.Errorf("StringToSign\n got %s\nwant %s", sts, tc.wantSTS)
			}
			if got := V1Signature(sts, testSecret); got != tc.wantSig {
				t.Errorf("Signature = %s, want %s", got, tc.wantSig)
			}
			// A Signature parameter must not change the string-to-sign.
			tc.params.Set("Signature", tc.wantSig)
			gotSTS, ok := VerifyV1(tc.method, tc.params, testSecret)
			if !ok || gotSTS != tc.wantSTS {
				t.Errorf("VerifyV1 = %v, sts %s", ok, gotSTS)
			}
		})
	}
}

func TestV1WireRequestLine(t *testing.T) {
	target := strings.TrimSuffix(strings.TrimPrefix(ensWire, "POST "), " HTTP/1.1")
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatal(err)
	}
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	sts, ok := VerifyV1("POST", params, testSecret)
	if !ok {
		t.Fatalf("VerifyV1 failed; sts %s", sts)
	}
	if sts != ensSTS {
		t.Errorf("StringToSign\n got %s\nwant %s", sts, ensSTS)
	}
}

func TestSignV1(t *testing.T) {
	params := url.Values{
		"Action":        {"PushApplicationData"},
		"Version":       {"2017-11-10"},
		"Format":        {"JSON"},
		"RegionId":      {"cn-hangzhou"},
		"SignatureType": {""},
		"AppId":         {testAppID},
		"Data":          {testData},
	}
	SignV1("POST", params, testID, testSecret, testNonce, ensTime.In(time.FixedZone("CST", 8*3600)))
	if got := params.Get("Signature"); got != "f0FDJhtI2euKMvh4W9iaughf12o=" {
		t.Errorf("Signature = %s", got)
	}
	if got := params.Get("Timestamp"); got != "2024-01-01T00:00:00Z" {
		t.Errorf("Timestamp = %s", got)
	}
	if got := "POST /?" + params.Encode() + " HTTP/1.1"; got != ensWire {
		t.Errorf("wire\n got %s\nwant %s", got, ensWire)
	}

	// An existing Timestamp is kept.
	p := url.Values{"Timestamp": {"2000-01-01T00:00:00Z"}}
	SignV1("GET", p, testID, testSecret, "n", ensTime)
	if p.Get("Timestamp") != "2000-01-01T00:00:00Z" {
		t.Errorf("Timestamp overwritten: %s", p.Get("Timestamp"))
	}
}

func TestV1RoundTripAndTamper(t *testing.T) {
	sign := func() url.Values {
		p := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "AppId": {"a b+c*~"}, "Data": {testData}, "Empty": {""}}
		SignV1("POST", p, testID, testSecret, testNonce, ensTime)
		return p
	}
	if _, ok := VerifyV1("POST", sign(), testSecret); !ok {
		t.Fatal("round trip failed")
	}
	wire, _ := url.ParseQuery(sign().Encode())
	if _, ok := VerifyV1("POST", wire, testSecret); !ok {
		t.Fatal("round trip through the wire encoding failed")
	}
	if _, ok := VerifyV1("POST", sign(), "wrong"); ok {
		t.Error("wrong secret verified")
	}
	if _, ok := VerifyV1("GET", sign(), testSecret); ok {
		t.Error("other method verified")
	}
	for k := range sign() {
		if k == "Signature" {
			continue
		}
		for _, mutate := range []func(url.Values){
			func(p url.Values) { p.Set(k, p.Get(k)+"x") },
			func(p url.Values) { p.Del(k) },
			func(p url.Values) { p.Add(k, "extra") },
		} {
			p := sign()
			mutate(p)
			if _, ok := VerifyV1("POST", p, testSecret); ok {
				t.Errorf("tampered %s verified", k)
			}
		}
	}
	p := sign()
	p.Set("Extra", "")
	if _, ok := VerifyV1("POST", p, testSecret); ok {
		t.Error("added empty parameter verified")
	}
	p = sign()
	p.Set("Signature", strings.ToLower(p.Get("Signature")))
	if _, ok := VerifyV1("POST", p, testSecret); ok {
		t.Error("altered signature verified")
	}
	p = sign()
	p.Add("Signature", p.Get("Signature"))
	if _, ok := VerifyV1("POST", p, testSecret); ok {
		t.Error("repeated Signature verified")
	}
	p = sign()
	p.Del("Signature")
	if _, ok := VerifyV1("POST", p, testSecret); ok {
		t.Error("missing Signature verified")
	}
}

func TestV1BufferSizedOnce(t *testing.T) {
	for _, p := range []url.Values{ensParams(), {"k": {"", "a b", "\xff*"}, "": {"=&"}}} {
		n := len("POST") + estimateLen(p, true)
		buf := appendV1StringToSign(make([]byte, 0, n), "POST", p)
		if len(buf) > n {
			t.Errorf("estimate %d < length %d", n, len(buf))
		}
	}
}

func TestV1MultiValued(t *testing.T) {
	a := V1StringToSign("GET", url.Values{"k": {"2", "1", ""}, "j": {"x"}})
	b := V1StringToSign("GET", url.Values{"k": {"", "1", "2"}, "j": {"x"}})
	want := "GET&%2F&j%3Dx%26k%3D%26k%3D1%26k%3D2"
	if a != want || b != want {
		t.Errorf("got %s and %s, want %s", a, b, want)
	}
	// The caller's slice is not reordered.
	p := url.Values{"k": {"2", "1"}}
	V1StringToSign("GET", p)
	if p["k"][0] != "2" {
		t.Error("V1StringToSign mutated params")
	}
}

func BenchmarkVerifyV1(b *testing.B) {
	p := ensParams()
	p.Set("Signature", "f0FDJhtI2euKMvh4W9iaughf12o=")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := VerifyV1("POST", p, testSecret); !ok {
			b.Fatal("not ok")
		}
	}
}
