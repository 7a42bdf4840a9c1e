package signature

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Vector from docs/wire.md §5.
const (
	v3CR = "POST\n/\n" +
		"AppId=e76f8985-7965-41fc-925b-9648bb6bf650&Data=%5B%7B%22name%22%3A%22app01%22%2C%22version%22%3A%221.0%22%2C%22size%22%3A100%2C%22archiveType%22%3A%22tar.gz%22%2C%22md5%22%3A%22%22%2C%22url%22%3A%22http%3A%2F%2Fexample.com%2Fapp01.tar.gz%22%7D%5D\n" +
		"host:ens.aliyuncs.com\n" +
		"x-acs-action:PushApplicationData\n" +
		"x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" +
		"x-acs-date:2024-01-01T00:00:00Z\n" +
		"x-acs-signature-nonce:3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\n" +
		"x-acs-version:2017-11-10\n" +
		"\n" +
		"host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	v3STS  = "ACS3-HMAC-SHA256\n0f7a50ea337b15f562b3152f91a3bf30a0c490afa620d3d5f181038d98a2bb2b"
	v3Auth = "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=3f923c439cca3f944439489668c9e2b56d1afd246db0dd669455f5d1426f4e45"
)

var v3Signed = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}

func v3Query() url.Values { return url.Values{"AppId": {testAppID}, "Data": {testData}} }

func TestV3Vector(t *testing.T) {
	h := http.Header{}
	h.Set("x-acs-action", "PushApplicationData")
	h.Set("x-acs-version", "2017-11-10")
	h.Set("x-acs-date", "2024-01-01T00:00:00Z")
	h["x-acs-signature-nonce"] = []string{" " + testNonce + " "} // non-canonical key, untrimmed value
	h.Set("X-ACS-CONTENT-SHA256", EmptyPayloadHash)
	h.Set("Host", "ignored.example.com")

	cr := V3CanonicalRequest("POST", "", v3Query(), h, "ens.aliyuncs.com", v3Signed, EmptyPayloadHash)
	if cr != v3CR {
		t.Fatalf("CanonicalRequest\n got %q\nwant %q", cr, v3CR)
	}
	sts := V3StringToSign(cr)
	if sts != v3STS {
		t.Fatalf("StringToSign = %q, want %q", sts, v3STS)
	}
	auth := V3Authorization{AccessKeyID: testID, SignedHeaders: v3Signed, Signature: V3Signature(sts, testSecret)}
	if auth.String() != v3Auth {
		t.Fatalf("Authorization\n got %s\nwant %s", auth, v3Auth)
	}
	if PayloadHash(nil) != EmptyPayloadHash {
		t.Error("PayloadHash(nil) != EmptyPayloadHash")
	}
}

func newV3Request(t testing.TB, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	SignV3(req, body, "PushApplicationData", "2017-11-10", testID, testSecret, testNonce, ensTime)
	return req
}

func TestSignV3Vector(t *testing.T) {
	req := newV3Request(t, "http://ens.aliyuncs.com/?"+v3Query().Encode(), nil)
	if got := req.Header.Get("Authorization"); got != v3Auth {
		t.Fatalf("Authorization\n got %s\nwant %s", got, v3Auth)
	}
	auth, sts, err := VerifyV3(req, nil, testSecret)
	if err != nil || sts != v3STS || auth.AccessKeyID != testID || !reflect.DeepEqual(auth.SignedHeaders, v3Signed) {
		t.Fatalf("VerifyV3 = %+v, %q, %v", auth, sts, err)
	}
}

func TestV3HostWithPort(t *testing.T) {
	req := newV3Request(t, "http://127.0.0.1:8080/?AppId=x", nil)
	if req.Host != "127.0.0.1:8080" {
		t.Fatalf("req.Host = %q", req.Host)
	}
	// What the server sees: r.Host carries the port.
	if _, _, err := VerifyV3(req, nil, testSecret); err != nil {
		t.Fatal(err)
	}
	cr := V3CanonicalRequest("POST", "/", url.Values{"AppId": {"x"}}, req.Header, req.Host, v3Signed, EmptyPayloadHash)
	if !strings.Contains(cr, "\nhost:127.0.0.1:8080\n") {
		t.Errorf("host line missing port:\n%s", cr)
	}
	req.Host = "127.0.0.1:8081"
	if _, _, err := VerifyV3(req, nil, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("other port: err = %v", err)
	}
}

func TestV3RoundTripAndTamper(t *testing.T) {
	body := []byte("AppId=x&Data=%5B%5D")
	q := url.Values{"AppId": {"a b+c*~é"}, "Empty": {""}, "EnsRegionIds": {"null"}}
	sign := func() *http.Request {
		req, err := http.NewRequest("POST", "http://127.0.0.1:8080/?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("x-acs-credentials-provider", "static_ak")
		SignV3(req, body, "PushApplicationData", "2017-11-10", testID, testSecret, testNonce, ensTime)
		return req
	}
	req := sign()
	auth, _, err := VerifyV3(req, body, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"content-type", "x-acs-credentials-provider"} {
		if !slices.Contains(auth.SignedHeaders, h) {
			t.Errorf("%s not signed: %v", h, auth.SignedHeaders)
		}
	}

	tests := []struct {
		name   string
		mutate func(*http.Request) (body []byte, secret string)
		want   error
	}{
		{"wrong secret", func(r *http.Request) ([]byte, string) { return body, "wrong" }, ErrSignatureMismatch},
		{"query value", func(r *http.Request) ([]byte, string) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "null", "nul", 1)
			return body, testSecret
		}, ErrSignatureMismatch},
		{"query param added", func(r *http.Request) ([]byte, string) {
			r.URL.RawQuery += "&x="
			return body, testSecret
		}, ErrSignatureMismatch},
		{"'+' vs %2B", func(r *http.Request) ([]byte, string) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2B", "+", 1)
			return body, testSecret
		}, ErrSignatureMismatch},
		{"method", func(r *http.Request) ([]byte, string) { r.Method = "GET"; return body, testSecret }, ErrSignatureMismatch},
		{"path", func(r *http.Request) ([]byte, string) { r.URL.Path = "/x"; return body, testSecret }, ErrSignatureMismatch},
		{"host", func(r *http.Request) ([]byte, string) { r.Host = "127.0.0.1"; return body, testSecret }, ErrSignatureMismatch},
		{"x-acs-date", func(r *http.Request) ([]byte, string) {
			r.Header.Set("x-acs-date", "2024-01-01T00:00:01Z")
			return body, testSecret
		}, ErrSignatureMismatch},
		{"content-type", func(r *http.Request) ([]byte, string) {
			r.Header.Set("Content-Type", "application/json")
			return body, testSecret
		}, ErrSignatureMismatch},
		{"signature", func(r *http.Request) ([]byte, string) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature=", "Signature=00", 1))
			return body, testSecret
		}, ErrSignatureMismatch},
		{"signature not hex", func(r *http.Request) ([]byte, string) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+"zz")
			return body, testSecret
		}, ErrSignatureMismatch},
		{"body", func(r *http.Request) ([]byte, string) { return []byte("AppId=y&Data=%5B%5D"), testSecret }, ErrContentHash},
		{"content hash header and body", func(r *http.Request) ([]byte, string) {
			r.Header.Set("x-acs-content-sha256", EmptyPayloadHash)
			return nil, testSecret
		}, ErrSignatureMismatch},
		{"content hash header missing", func(r *http.Request) ([]byte, string) {
			r.Header.Del("x-acs-content-sha256")
			return body, testSecret
		}, ErrContentHash},
		{"unsigned x-acs header", func(r *http.Request) ([]byte, string) {
			r.Header.Set("x-acs-security-token", "t")
			return body, testSecret
		}, ErrIncomplete},
		{"host not signed", func(r *http.Request) ([]byte, string) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;", "SignedHeaders=content-type;", 1))
			return body, testSecret
		}, ErrIncomplete},
		{"content-type not signed", func(r *http.Request) ([]byte, string) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;", "SignedHeaders=host;", 1))
			return body, testSecret
		}, ErrIncomplete},
		{"content-type stripped in transit", func(r *http.Request) ([]byte, string) {
			r.Header.Del("Content-Type")
			return body, testSecret
		}, ErrSignatureMismatch},
		{"no Authorization", func(r *http.Request) ([]byte, string) { r.Header.Del("Authorization"); return body, testSecret }, ErrMalformedAuthorization},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sign()
			b, secret := tc.mutate(r)
			_, sts, err := VerifyV3(r, b, secret)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != ErrMalformedAuthorization && !strings.HasPrefix(sts, V3Algorithm+"\n") {
				t.Errorf("string-to-sign not returned: %q", sts)
			}
		})
	}

	// Upper-case hex signature and extra spaces in Authorization are accepted.
	r := sign()
	a, _ := ParseV3Authorization(r.Header.Get("Authorization"))
	r.Header.Set("Authorization", V3Algorithm+" Credential="+a.AccessKeyID+", SignedHeaders="+strings.Join(a.SignedHeaders, ";")+", Signature="+strings.ToUpper(a.Signature))
	if _, _, err := VerifyV3(r, body, testSecret); err != nil {
		t.Errorf("tolerant Authorization: %v", err)
	}
}

func TestParseV3Authorization(t *testing.T) {
	good := V3Authorization{AccessKeyID: "id", SignedHeaders: []string{"host", "x-acs-date"}, Signature: "ab"}
	for _, tc := range []struct {
		in   string
		want *V3Authorization // nil = error
	}{
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date,Signature=ab", &good},
		{"ACS3-HMAC-SHA256 Credential=id, SignedHeaders=host;x-acs-date, Signature=ab", &good},
		{" ACS3-HMAC-SHA256 Signature=ab,Credential=id,SignedHeaders=host;x-acs-date ", &good},
		{"", nil},
		{"ACS3-HMAC-SHA256", nil},
		{"ACS3-HMAC-SM3 Credential=id,SignedHeaders=host,Signature=ab", nil},
		{"acs3-hmac-sha256 Credential=id,SignedHeaders=host,Signature=ab", nil},
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host", nil},
		{"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab", nil},
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;;x,Signature=ab", nil},
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab,Signature=cd", nil},
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab,Foo=1", nil},
		{"ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=ab,", nil},
		{"ACS3-HMAC-SHA256 Credential id,SignedHeaders=host,Signature=ab", nil},
	} {
		got, err := ParseV3Authorization(tc.in)
		switch {
		case tc.want == nil && !errors.Is(err, ErrMalformedAuthorization):
			t.Errorf("%q: err = %v, want ErrMalformedAuthorization", tc.in, err)
		case tc.want != nil && (err != nil || !reflect.DeepEqual(got, *tc.want)):
			t.Errorf("%q: got %+v, %v", tc.in, got, err)
		}
	}
}

func BenchmarkVerifyV3(b *testing.B) {
	req := newV3Request(b, "http://ens.aliyuncs.com/?"+v3Query().Encode(), nil)
	req.Header.Set("x-acs-credentials-provider", "static_ak")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "AlibabaCloud (linux; amd64) Golang/go1.26 Core/0.01 TeaDSL/2")
	SignV3(req, nil, "PushApplicationData", "2017-11-10", testID, testSecret, testNonce, ensTime)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := VerifyV3(req, nil, testSecret); err != nil {
			b.Fatal(err)
		}
	}
}

// TestV3BodyRequiresSignedContentType (issue 18 row 13): a request with a body
// whose content-type is not signed is refused, whether it carries one or not,
// so stripping or changing it in transit cannot drop the form's parameters; a
// request without a body needs none; a client that signs it passes.
func TestV3BodyRequiresSignedContentType(t *testing.T) {
	body := []byte("AppId=x&Data=%5B%5D")
	build := func(ctBeforeSigning, ctAfter string, b []byte) *http.Request {
		req := newV3Request(t, "http://127.0.0.1:8080/?RegionId=cn-hangzhou", nil)
		if ctBeforeSigning != "" {
			req.Header.Set("Content-Type", ctBeforeSigning)
		}
		SignV3(req, b, "PushApplicationData", "2017-11-10", testID, testSecret, testNonce, ensTime)
		if ctAfter != "" {
			req.Header.Set("Content-Type", ctAfter)
		}
		return req
	}
	for _, tc := range []struct {
		name          string
		before, after string
		body          []byte
		want          error
	}{
		{"signed content-type with a body", "application/x-www-form-urlencoded", "", body, nil},
		{"body, no content-type at all", "", "", body, ErrIncomplete},
		{"body, content-type added after signing", "", "application/x-www-form-urlencoded", body, ErrIncomplete},
		{"no body, no content-type", "", "", nil, nil},
		{"no body, unsigned content-type", "", "application/x-www-form-urlencoded", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := VerifyV3(build(tc.before, tc.after, tc.body), tc.body, testSecret)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "content-type") {
				t.Errorf("the error does not name content-type: %v", err)
			}
		})
	}
}

// TestV3ThirtyThousandSignedHeaders (issue 18 row 3): a SignedHeaders list of
// 30,000 names, on a request carrying 30,000 header names that are not in
// canonical form (so every lookup used to fall back to a scan of all of them:
// minutes of CPU before the secret was checked), is refused by the parser at
// once with a clear error.
func TestV3ThirtyThousandSignedHeaders(t *testing.T) {
	const n = 30_000
	req := newV3Request(t, "http://127.0.0.1:8080/", nil)
	SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", testID, testSecret, testNonce, ensTime)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("x-acs-h%d", i)
		req.Header[names[i]] = []string{"v"} // not canonical: never found by a canonical lookup
	}
	a, _ := ParseV3Authorization(req.Header.Get("Authorization"))
	a.SignedHeaders = names
	req.Header.Set("Authorization", a.String())
	_, _, err := VerifyV3(req, nil, testSecret)
	if !errors.Is(err, ErrTooManySignedHeaders) || !errors.Is(err, ErrMalformedAuthorization) {
		t.Fatalf("err = %v, want ErrTooManySignedHeaders", err)
	}
	if !strings.Contains(err.Error(), "30000 names, at most 100") {
		t.Errorf("unclear error: %v", err)
	}
	if _, err := ParseV3Authorization(a.String()); !errors.Is(err, ErrTooManySignedHeaders) {
		t.Errorf("parse: %v", err)
	}
}

// TestV3ManyHeadersLinear: at the cap of signed names, all stored in
// non-canonical form, and 30,000 further header names, verification finds
// every value through one index (the old scan per name did 100 × 30,000
// comparisons, and 30,000 × 30,000 for the unsigned-x-acs check below).
func TestV3ManyHeadersLinear(t *testing.T) {
	build := func(extra string) *http.Request {
		req := newV3Request(t, "http://127.0.0.1:8080/", nil)
		for i := range MaxV3SignedHeaders - 10 {
			req.Header[fmt.Sprintf("x-acs-h%d", i)] = []string{fmt.Sprint(i)}
		}
		SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", testID, testSecret, testNonce, ensTime)
		for i := range 30_000 {
			req.Header[fmt.Sprintf("%s%d", extra, i)] = []string{"v"}
		}
		return req
	}
	req := build("x-other-")
	a, _, err := VerifyV3(req, nil, testSecret)
	if err != nil {
		t.Fatalf("%d signed names, 30,000 other headers: %v", len(a.SignedHeaders), err)
	}
	if len(a.SignedHeaders) <= MaxV3SignedHeaders-10 || len(a.SignedHeaders) > MaxV3SignedHeaders {
		t.Fatalf("%d signed names", len(a.SignedHeaders))
	}
	// A signed value changed under a non-canonical key is noticed.
	req.Header["x-acs-h7"] = []string{"changed"}
	if _, _, err := VerifyV3(req, nil, testSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("changed x-acs-h7: %v", err)
	}
	// 30,000 unsigned x-acs-* headers: refused, naming one.
	if _, _, err := VerifyV3(build("x-acs-unsigned-"), nil, testSecret); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "x-acs-unsigned-") {
		t.Fatalf("unsigned x-acs headers: %v", err)
	}
}
