package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Values written by [SignV1].
const (
	V1SignatureMethod  = "HMAC-SHA1"
	V1SignatureVersion = "1.0"
	// TimestampFormat is the layout of the V1 Timestamp parameter and of
	// the V3 x-acs-date header (always UTC).
	TimestampFormat = "2006-01-02T15:04:05Z"
)

// V1StringToSign builds METHOD&%2F&percentEncode(sorted k=v joined by &),
// over every parameter except "Signature" (empty values included, e.g.
// "SignatureType=").
//
// Keys are sorted by byte order of the decoded key. If a key has several
// values, each k=v pair is included and that key's values are sorted by
// byte order (see the package documentation). The method is used as given;
// Alibaba clients send it upper case.
//
// params must be the decoded parameters: on a server, the form-decoded
// query ('+' is a space) merged with any form body.
func V1StringToSign(method string, params url.Values) string {
	return string(appendV1StringToSign(make([]byte, 0, len(method)+estimateLen(params, true)), method, params))
}

func appendV1StringToSign(dst []byte, method string, params url.Values) []byte {
	dst = append(dst, method...)
	dst = append(dst, "&%2F&"...)
	return appendCanonicalQuery(dst, params, "Signature", true)
}

// V1Signature = base64(HMAC-SHA1(secret+"&", stringToSign)).
func V1Signature(stringToSign, secret string) string {
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(v1MAC(sum[:0], []byte(stringToSign), secret))
}

func v1MAC(dst, stringToSign []byte, secret string) []byte {
	pool := v1Pool(secret)
	m := pool.Get().(hash.Hash)
	m.Reset()
	m.Write(stringToSign)
	dst = m.Sum(dst)
	pool.Put(m)
	return dst
}

// v1Pools caches keyed HMAC-SHA1 states per secret (hmac.New costs two
// SHA-1 block computations and several allocations). A server has a handful
// of secrets; beyond maxPooledSecrets a secret gets a one-off pool.
var (
	v1Pools      sync.Map // secret -> *sync.Pool of hash.Hash
	v1PoolsCount atomic.Int32
)

const maxPooledSecrets = 256

func v1Pool(secret string) *sync.Pool {
	if p, ok := v1Pools.Load(secret); ok {
		return p.(*sync.Pool)
	}
	key := make([]byte, 0, len(secret)+1)
	key = append(append(key, secret...), '&')
	p := &sync.Pool{New: func() any { return hmac.New(sha1.New, key) }}
	if v1PoolsCount.Load() >= maxPooledSecrets {
		return p
	}
	if q, loaded := v1Pools.LoadOrStore(secret, p); loaded {
		return q.(*sync.Pool)
	}
	v1PoolsCount.Add(1)
	return p
}

// SignV1 sets AccessKeyId, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0,
// SignatureNonce=nonce, Timestamp=now UTC "2006-01-02T15:04:05Z" (only when
// not already present), then computes and sets "Signature".
//
// Any "Signature" already present is replaced. The caller adds Action,
// Version, Format and the business parameters before calling SignV1 and
// must not change params afterwards.
func SignV1(method string, params url.Values, accessKeyID, secret, nonce string, now time.Time) {
	params.Set("AccessKeyId", accessKeyID)
	params.Set("SignatureMethod", V1SignatureMethod)
	params.Set("SignatureVersion", V1SignatureVersion)
	params.Set("SignatureNonce", nonce)
	if _, ok := params["Timestamp"]; !ok {
		params.Set("Timestamp", now.UTC().Format(TimestampFormat))
	}
	params.Set("Signature", V1Signature(V1StringToSign(method, params), secret))
}

// VerifyV1 recomputes the signature; returns the server string-to-sign and
// whether params["Signature"] matches (constant-time compare).
//
// A missing Signature, or one given more than once, never matches. The
// string-to-sign is returned in every case so that it can be echoed in a
// SignatureDoesNotMatch error, as the real gateway does.
func VerifyV1(method string, params url.Values, secret string) (stringToSign string, ok bool) {
	sts, ok := AppendVerifyV1(nil, method, params, secret)
	return string(sts), ok
}

// AppendVerifyV1 is VerifyV1 appending the string-to-sign to dst (a server
// can reuse one buffer and make a string of it only for an error message).
func AppendVerifyV1(dst []byte, method string, params url.Values, secret string) (stringToSign []byte, ok bool) {
	start := len(dst) // no pre-sizing: a reused dst already has room
	dst = appendV1StringToSign(dst, method, params)
	sts := dst[start:]
	got := params["Signature"]
	if len(got) != 1 {
		return dst, false
	}
	var sum [sha1.Size]byte
	var enc [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(enc[:], v1MAC(sum[:0], sts, secret))
	return dst, subtle.ConstantTimeCompare(enc[:], []byte(got[0])) == 1
}
