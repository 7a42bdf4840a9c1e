package signature

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func FuzzVerifyV1(f *testing.F) {
	f.Add("GET", "Action=DescribeRegions&Signature=abc%3D", "AppId", "a b+c*~", "t")
	f.Add("POST", "a=%zz&b=1;c&&=x&Signature=", "", "", "")
	f.Add("post", "SignatureType=&Signature=f0FDJhtI2euKMvh4W9iaughf12o%3D", "Data", testData, testSecret)
	f.Add("", "", "Signature", "\x00\xff%", "")
	f.Fuzz(func(t *testing.T, method, rawQuery, key, value, secret string) {
		// Arbitrary input never panics.
		params, _ := url.ParseQuery(rawQuery)
		VerifyV1(method, params, secret)

		if got, want := PercentEncode(value), sdkEncode(value); got != want {
			t.Fatalf("PercentEncode(%q) = %q, SDK gives %q", value, got, want)
		}

		// Sign → Verify, directly and through the wire encoding.
		p := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}}
		p.Add(key, value)
		SignV1(method, p, testID, secret, "nonce", ensTime)
		if _, ok := VerifyV1(method, p, secret); !ok {
			t.Fatalf("round trip failed: %v", p)
		}
		wire, err := url.ParseQuery(p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if sts, ok := VerifyV1(method, wire, secret); !ok {
			t.Fatalf("wire round trip failed: %q; sts %s", p.Encode(), sts)
		}
		if _, ok := VerifyV1(method, p, secret+"x"); ok {
			t.Fatal("wrong secret verified")
		}
	})
}

func FuzzVerifyV3(f *testing.F) {
	f.Add(v3Auth, "AppId=x&Data=%5B%5D", []byte(nil), "AppId", "x", "static_ak")
	f.Add("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=;;,Signature=zz", "a=%zz&;", []byte("body"), "", "", "")
	f.Add("ACS3-HMAC-SHA256 Credential=a, SignedHeaders=HOST;X-ACS-DATE, Signature=00", "+=+", []byte{0xff}, "k k", " v\n", "\t")
	f.Fuzz(func(t *testing.T, authz, rawQuery string, body []byte, key, value, hdr string) {
		// Arbitrary input never panics.
		req := &http.Request{
			Method: "POST",
			URL:    &url.URL{Path: "/", RawQuery: rawQuery},
			Host:   "127.0.0.1:8080",
			Header: http.Header{"Authorization": {authz}, "X-Acs-Content-Sha256": {PayloadHash(body)}, "x-acs-date": {hdr}},
		}
		_, _, err := VerifyV3(req, body, testSecret)
		if err == nil {
			t.Fatalf("unsigned request verified: %q", authz)
		}

		// Sign → Verify.
		q := url.Values{}
		q.Add(key, value)
		req = &http.Request{
			Method: "POST",
			URL:    &url.URL{Scheme: "http", Host: "127.0.0.1:8080", Path: "/", RawQuery: q.Encode()},
			Header: http.Header{"X-Acs-Credentials-Provider": {hdr}},
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/octet-stream") // a body needs a signed content-type
		}
		SignV3(req, body, "PushApplicationData", "2017-11-10", testID, testSecret, "nonce", ensTime)
		if _, sts, err := VerifyV3(req, body, testSecret); err != nil {
			t.Fatalf("round trip: %v; sts %q", err, sts)
		}
		if _, _, err := VerifyV3(req, body, testSecret+"x"); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("wrong secret: %v", err)
		}
	})
}
