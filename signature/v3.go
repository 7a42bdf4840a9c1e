package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// V3Algorithm is the algorithm token of the V3 Authorization header.
const V3Algorithm = "ACS3-HMAC-SHA256"

// EmptyPayloadHash is the lower-case hex SHA-256 of an empty body, the
// x-acs-content-sha256 value of a request without a body.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Errors returned by [ParseV3Authorization] and [VerifyV3]; test with
// errors.Is.
var (
	// ErrMalformedAuthorization: the Authorization header is empty, names
	// another algorithm, or lacks or repeats a part.
	ErrMalformedAuthorization = errors.New("signature: malformed ACS3 Authorization header")
	// ErrContentHash: x-acs-content-sha256 is absent or differs from the
	// SHA-256 of the body actually received.
	ErrContentHash = errors.New("signature: x-acs-content-sha256 does not match the body")
	// ErrIncomplete: SignedHeaders omits host, an x-acs-* header that is
	// present on the request, or content-type on a request with a body.
	ErrIncomplete = errors.New("signature: a required header is not signed")
	// ErrTooManySignedHeaders: SignedHeaders names more than
	// [MaxV3SignedHeaders] headers. It wraps [ErrMalformedAuthorization].
	ErrTooManySignedHeaders = fmt.Errorf("%w: too many signed headers", ErrMalformedAuthorization)
	// ErrSignatureMismatch: the recomputed signature differs.
	ErrSignatureMismatch = errors.New("signature: signature does not match")
)

// MaxV3SignedHeaders bounds the names in SignedHeaders. A real client signs
// host, content-type and its x-acs-* headers: about ten (the DARA clients
// sign at most eleven). The bound keeps verification cheap whatever a request
// carries; a longer list is refused by [ParseV3Authorization] before any
// header is looked at.
const MaxV3SignedHeaders = 100

// V3Authorization is the parsed V3 Authorization header.
type V3Authorization struct {
	AccessKeyID   string   // Credential=
	SignedHeaders []string // SignedHeaders=, split on ';', in the order sent
	Signature     string   // Signature=, hex
}

// String formats a as an Authorization header value, with no spaces after
// the commas, as the SDKs send it.
func (a V3Authorization) String() string {
	return V3Algorithm + " Credential=" + a.AccessKeyID +
		",SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		",Signature=" + a.Signature
}

// ParseV3Authorization parses "ACS3-HMAC-SHA256 Credential=<id>,
// SignedHeaders=<a;b>,Signature=<hex>" (tolerating spaces after commas).
// Errors for anything malformed (wrong algorithm, missing, empty, repeated
// or unknown part, empty header name) wrap [ErrMalformedAuthorization].
func ParseV3Authorization(h string) (V3Authorization, error) {
	var a V3Authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != V3Algorithm {
		return a, fmt.Errorf("%w: algorithm %q, want %s", ErrMalformedAuthorization, alg, V3Algorithm)
	}
	var seen [3]bool
	var signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return a, fmt.Errorf("%w: bad part %q", ErrMalformedAuthorization, part)
		}
		var i int
		switch k {
		case "Credential":
			i, a.AccessKeyID = 0, v
		case "SignedHeaders":
			i, signed = 1, v
		case "Signature":
			i, a.Signature = 2, v
		default:
			return a, fmt.Errorf("%w: unknown part %q", ErrMalformedAuthorization, k)
		}
		if seen[i] {
			return a, fmt.Errorf("%w: repeated %s", ErrMalformedAuthorization, k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return a, fmt.Errorf("%w: need Credential, SignedHeaders and Signature", ErrMalformedAuthorization)
	}
	if n := strings.Count(signed, ";") + 1; n > MaxV3SignedHeaders {
		return a, fmt.Errorf("%w: %d names, at most %d", ErrTooManySignedHeaders, n, MaxV3SignedHeaders)
	}
	a.SignedHeaders = strings.Split(signed, ";")
	for _, name := range a.SignedHeaders {
		if name == "" {
			return a, fmt.Errorf("%w: empty name in SignedHeaders", ErrMalformedAuthorization)
		}
	}
	return a, nil
}

// V3CanonicalRequest builds
// Method\nCanonicalURI\nCanonicalQuery\nCanonicalHeaders\nSignedHeaders\nHashedPayload
// as in docs/wire.md §5.
//
// Header names are written lower case, in the order of signedHeaders
// (the SDKs sort them; [SignV3] does too, and a verifier must use the
// client's order). Values are looked up case-insensitively in h, except
// "host", which is given explicitly because Go moves Host out of the header
// map. Values are trimmed; several values of one header are joined by ",".
// The path "" means "/". query holds decoded parameters and is encoded like
// the V1 query (sorted keys, RFC 3986, "k=" for empty values).
func V3CanonicalRequest(method, path string, query url.Values, h http.Header, host string, signedHeaders []string, payloadHash string) string {
	return string(appendV3CanonicalRequest(nil, method, path, query, h, host, signedHeaders, payloadHash))
}

func appendV3CanonicalRequest(dst []byte, method, path string, query url.Values, h http.Header, host string, signedHeaders []string, payloadHash string) []byte {
	return appendV3Canonical(dst, method, path, query, &headerIndex{h: h}, host, signedHeaders, payloadHash)
}

func appendV3Canonical(dst []byte, method, path string, query url.Values, h *headerIndex, host string, signedHeaders []string, payloadHash string) []byte {
	if path == "" {
		path = "/"
	}
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, path...)
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, query, "", false)
	dst = append(dst, '\n')
	for _, name := range signedHeaders {
		dst = appendLower(dst, name)
		dst = append(dst, ':')
		if strings.EqualFold(name, "host") {
			dst = append(dst, strings.TrimSpace(host)...)
		} else {
			for i, v := range h.values(name) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, strings.TrimSpace(v)...)
			}
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	for i, name := range signedHeaders {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = appendLower(dst, name)
	}
	dst = append(dst, '\n')
	return append(dst, payloadHash...)
}

// V3StringToSign returns "ACS3-HMAC-SHA256\n" + hex(sha256(canonicalRequest)).
func V3StringToSign(canonicalRequest string) string {
	return v3StringToSign([]byte(canonicalRequest))
}

func v3StringToSign(canonicalRequest []byte) string {
	sum := sha256.Sum256(canonicalRequest)
	var b [len(V3Algorithm) + 1 + 2*sha256.Size]byte
	n := copy(b[:], V3Algorithm+"\n")
	hex.Encode(b[n:], sum[:])
	return string(b[:])
}

// V3Signature returns hex(HMAC-SHA256(secret, stringToSign)); unlike V1 the
// key has no "&" suffix.
func V3Signature(stringToSign, secret string) string {
	var sum [sha256.Size]byte
	return hex.EncodeToString(v3MAC(sum[:0], stringToSign, secret))
}

func v3MAC(dst []byte, stringToSign, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return m.Sum(dst)
}

// PayloadHash returns the lower-case hex SHA-256 of body, the value of
// x-acs-content-sha256.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// SignV3 signs an outgoing request: it sets host (req.Host if set, else
// req.URL.Host, stored back into req.Host), x-acs-action, x-acs-version
// (from the arguments), x-acs-date (now UTC), x-acs-signature-nonce,
// x-acs-content-sha256 (hex SHA-256 of body) and Authorization. It signs
// host, content-type (if present) and every x-acs-* header, sorted.
//
// Headers the caller wants signed (x-acs-security-token, content-type, ...)
// must be set before calling SignV3. body must be the exact bytes req will
// send; SignV3 does not set req.Body. The query is taken from
// req.URL.RawQuery, form-decoded as a server would decode it.
func SignV3(req *http.Request, body []byte, action, version, accessKeyID, secret, nonce string, now time.Time) {
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	req.Host = host
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	h := req.Header
	h.Set("x-acs-action", action)
	h.Set("x-acs-version", version)
	h.Set("x-acs-date", now.UTC().Format(TimestampFormat))
	h.Set("x-acs-signature-nonce", nonce)
	h.Set("x-acs-content-sha256", PayloadHash(body))

	signed := []string{"host"}
	if headerValues(h, "content-type") != nil {
		signed = append(signed, "content-type")
	}
	for k := range h {
		if isACSHeader(k) {
			signed = append(signed, strings.ToLower(k))
		}
	}
	slices.Sort(signed)
	signed = slices.Compact(signed)

	path, rawQuery := "", ""
	if req.URL != nil {
		path, rawQuery = req.URL.Path, req.URL.RawQuery
	}
	query, _ := url.ParseQuery(rawQuery)
	cr := appendV3CanonicalRequest(nil, req.Method, path, query, h, host, signed, firstValue(h, "x-acs-content-sha256"))
	auth := V3Authorization{
		AccessKeyID:   accessKeyID,
		SignedHeaders: signed,
		Signature:     V3Signature(v3StringToSign(cr), secret),
	}
	h.Set("Authorization", auth.String())
}

// VerifyV3 checks an incoming request whose body bytes are given. It parses
// Authorization (at most [MaxV3SignedHeaders] signed names); checks that
// x-acs-content-sha256 equals the real body hash ([ErrContentHash] if not);
// checks that SignedHeaders includes host, every x-acs-* header present and,
// when the body is not empty, content-type ([ErrIncomplete] if not: the V3
// specification's canonical headers are host, content-type and x-acs-*, see
// https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature ;
// this includes x-acs-credentials-provider, which the DARA client sets and
// signs; an unsigned content-type could be stripped in transit and the form
// body's parameters with it);
// recomputes the signature from req.Method, req.URL.Path, req.Host (with
// its port) and req.URL.RawQuery form-decoded as the query ('+' is a
// space; undecodable pairs are skipped, as url.ParseQuery does); and
// compares it in constant time ([ErrSignatureMismatch]). The hex signature
// is compared case-insensitively.
//
// It returns the parsed Authorization and the server string-to-sign (also
// on failure, whenever the Authorization header parsed), and nil or one of
// the sentinel errors above or a parse error wrapping
// [ErrMalformedAuthorization]. When several checks fail, ErrContentHash is
// reported before ErrIncomplete before ErrSignatureMismatch.
//
// Its work is linear in the size of the request: header names are looked up
// in maps, never by scanning the headers once per signed name.
//
// A server that must look the secret up by AccessKeyId first can call
// [ParseV3Authorization] on the header, then VerifyV3.
func VerifyV3(req *http.Request, body []byte, secret string) (V3Authorization, string, error) {
	h := req.Header
	auth, err := ParseV3Authorization(firstValue(h, "Authorization"))
	if err != nil {
		return auth, "", err
	}
	claimed := firstValue(h, "x-acs-content-sha256")

	var query url.Values
	path := ""
	if req.URL != nil {
		path = req.URL.Path
		query, _ = url.ParseQuery(req.URL.RawQuery)
	}
	idx := &headerIndex{h: h}
	var buf [1024]byte
	cr := appendV3Canonical(buf[:0], req.Method, path, query, idx, req.Host, auth.SignedHeaders, claimed)
	sts := v3StringToSign(cr)

	sum := sha256.Sum256(body)
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], sum[:])
	if len(claimed) != len(want) || !strings.EqualFold(claimed, string(want[:])) {
		return auth, sts, ErrContentHash
	}

	signed := make(map[string]struct{}, len(auth.SignedHeaders))
	for _, name := range auth.SignedHeaders {
		signed[strings.ToLower(name)] = struct{}{}
	}
	if _, ok := signed["host"]; !ok {
		return auth, sts, fmt.Errorf("%w: host", ErrIncomplete)
	}
	if _, ok := signed["content-type"]; !ok && len(body) > 0 {
		return auth, sts, fmt.Errorf("%w: content-type (a request with a body must sign it)", ErrIncomplete)
	}
	var lower [64]byte
	for k := range h {
		if !isACSHeader(k) {
			continue
		}
		if _, ok := signed[string(appendLower(lower[:0], k))]; !ok {
			return auth, sts, fmt.Errorf("%w: %s", ErrIncomplete, strings.ToLower(k))
		}
	}

	got, err := hex.DecodeString(auth.Signature)
	var mac [sha256.Size]byte
	if err != nil || !hmac.Equal(got, v3MAC(mac[:0], sts, secret)) {
		return auth, sts, ErrSignatureMismatch
	}
	return auth, sts, nil
}

// isACSHeader reports whether name starts with "x-acs-", ignoring case.
func isACSHeader(name string) bool {
	return len(name) > 6 && strings.EqualFold(name[:6], "x-acs-")
}

// appendLower appends s with ASCII letters lower-cased.
func appendLower(dst []byte, s string) []byte {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	dst = append(dst, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// firstValue returns the first value of header name in h, ignoring case.
func firstValue(h http.Header, name string) string {
	if vs := headerValues(h, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// headerIndex looks header values up by name, ignoring case, for one
// request: the canonical MIME key first (no allocation), then an index of the
// lower-cased keys, built on the first miss, so n lookups in h cost
// O(n + len(h)) rather than O(n × len(h)).
type headerIndex struct {
	h     http.Header
	lower map[string][]string
}

func (x *headerIndex) values(name string) []string {
	if vs, ok := canonicalValues(x.h, name); ok {
		return vs
	}
	if x.lower == nil {
		x.lower = make(map[string][]string, len(x.h))
		keys := make([]string, 0, len(x.h))
		for k := range x.h {
			keys = append(keys, k)
		}
		slices.Sort(keys) // keys equal but for case: values in a fixed order
		for _, k := range keys {
			l := strings.ToLower(k)
			x.lower[l] = append(x.lower[l], x.h[k]...)
		}
	}
	var buf [64]byte
	if len(name) <= len(buf) {
		return x.lower[string(appendLower(buf[:0], name))]
	}
	return x.lower[strings.ToLower(name)]
}

// canonicalValues returns h's values under the canonical MIME form of name,
// built on the stack (so without allocating).
func canonicalValues(h http.Header, name string) ([]string, bool) {
	var buf [64]byte
	if len(name) > len(buf) {
		vs, ok := h[http.CanonicalHeaderKey(name)]
		return vs, ok
	}
	b := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	vs, ok := h[string(b)]
	return vs, ok
}

// headerValues returns the values of header name in h, ignoring case (one
// lookup; a verifier making many uses a headerIndex).
func headerValues(h http.Header, name string) []string {
	return (&headerIndex{h: h}).values(name)
}
