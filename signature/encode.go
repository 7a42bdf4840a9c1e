// Package signature implements Alibaba Cloud request signing: V1 (HMAC-SHA1 over the query) and V3 (ACS3-HMAC-SHA256 over headers), both Sign and Verify.
//
// The same functions serve both sides of the wire: a client signs with
// [SignV1] or [SignV3] and a server checks with [VerifyV1] or [VerifyV3].
// The lower-level builders ([V1StringToSign], [V3CanonicalRequest], ...)
// work on plain data so that a server can log exactly what it signed.
//
// Canonicalisation decisions shared by V1 and V3:
//
//   - Parameter keys are sorted by byte order of the raw (decoded) key.
//   - A key with several values contributes one k=v pair per value, and
//     the values of that key are sorted by byte order. No Alibaba SDK sends
//     repeated keys (they build the query from a map), so this only has to
//     be deterministic; sorting makes the result independent of wire order.
//   - Empty values are kept ("SignatureType=").
package signature

import (
	"net/url"
	"slices"
)

const upperHex = "0123456789ABCDEF"

// unreservedSet marks the bytes kept as-is by [PercentEncode].
var unreservedSet = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~'
	}
	return t
}()

func unreserved(c byte) bool { return unreservedSet[c] }

// PercentEncode encodes s as Alibaba's RFC 3986 variant: A-Z a-z 0-9 - _ . ~
// kept, everything else %XY upper-case hex (space -> %20, * -> %2A).
//
// It does not allocate when s needs no encoding.
func PercentEncode(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendEncoded(make([]byte, 0, len(s)+16), s, false))
		}
	}
	return s
}

// appendEncoded appends the percent-encoding of s to dst. When twice is
// true it appends percentEncode(percentEncode(s)) in a single pass: every
// escaped byte becomes "%25XY", because the hex digits of the first pass
// are unreserved.
func appendEncoded(dst []byte, s string, twice bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			j := i + 1
			for j < len(s) && unreservedSet[s[j]] {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j - 1
			continue
		}
		if twice {
			dst = append(dst, '%', '2', '5')
		} else {
			dst = append(dst, '%')
		}
		dst = append(dst, upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// appendCanonicalQuery appends the sorted "k=v&k=v" form of params, each
// key and value percent-encoded. With twice set, the whole string is
// percent-encoded once more ("=" -> %3D, "&" -> %26), which is what the V1
// string-to-sign needs. A key equal to skip is omitted; skip "" keeps
// every key (including an empty one).
func appendCanonicalQuery(dst []byte, params url.Values, skip string, twice bool) []byte {
	var stack [32]string
	keys := stack[:0]
	for k := range params {
		if k == skip && skip != "" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	eq, amp := "=", "&"
	if twice {
		eq, amp = "%3D", "%26"
	}
	first := true
	for _, k := range keys {
		vs := params[k]
		if len(vs) > 1 && !slices.IsSorted(vs) {
			vs = slices.Clone(vs)
			slices.Sort(vs)
		}
		for _, v := range vs {
			if !first {
				dst = append(dst, amp...)
			}
			first = false
			dst = appendEncoded(dst, k, twice)
			dst = append(dst, eq...)
			dst = appendEncoded(dst, v, twice)
		}
	}
	return dst
}

// estimateLen returns the exact length of the canonical form of params
// written by appendCanonicalQuery (plus a little slack), so that the
// buffer is allocated once.
func estimateLen(params url.Values, twice bool) int {
	esc, sep := 3, 2 // "%XY"; "=" and "&"
	if twice {
		esc, sep = 5, 6 // "%25XY"; "%3D" and "%26"
	}
	n := 16
	for k, vs := range params {
		kl := encodedLen(k, esc)
		for _, v := range vs {
			n += kl + encodedLen(v, esc) + sep
		}
	}
	return n
}

func encodedLen(s string, esc int) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !unreservedSet[s[i]] {
			n += esc - 1
		}
	}
	return n
}
