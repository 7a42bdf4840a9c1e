package mock

import (
	"errors"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ensmock/ensmock/internal/wire"
	"github.com/ensmock/ensmock/signature"
)

// Credential is one AccessKey pair known to the mock.
type Credential struct {
	AccessKeyID     string   `json:"accessKeyId" yaml:"accessKeyId"`
	AccessKeySecret string   `json:"accessKeySecret" yaml:"accessKeySecret"`
	Account         string   `json:"account,omitempty" yaml:"account,omitempty"` // state owner; default: the AccessKeyId
	Allow           []string `json:"allow,omitempty" yaml:"allow,omitempty"`     // RAM-style action patterns; default ["ens:*"]
	// SecurityToken, when set, makes this an STS credential: every request must
	// carry this token (SecurityToken / x-acs-security-token).
	SecurityToken string `json:"securityToken,omitempty" yaml:"securityToken,omitempty"`

	allowed map[string]bool // allows, precomputed per action by the server
}

// DefaultCredentials are the pair of the published signature vectors, with full
// permission, and a pair whose policy lacks ens:PushApplicationData.
func DefaultCredentials() []Credential {
	return []Credential{
		{AccessKeyID: "testid", AccessKeySecret: "testsecret", Allow: []string{"ens:*"}},
		{AccessKeyID: "denied-id", AccessKeySecret: "denied-secret", Allow: []string{"ens:Describe*"}},
	}
}

// allows reports whether the credential's policy grants "ens:<action>".
func (c *Credential) allows(action string) bool {
	if ok, known := c.allowed[action]; known {
		return ok
	}
	want := "ens:" + action
	for _, p := range c.Allow {
		if ok, _ := path.Match(p, want); ok {
			return true
		}
	}
	return false
}

// TimestampWindow is how far a request's time may be from the timestamp clock
// (Options.TimestampClock: the machine's time by default), the documented 15
// minutes; nonces are remembered as long.
const TimestampWindow = 15 * time.Minute

// authenticator verifies V1 and V3 signatures and resolves the account.
type authenticator struct {
	off    bool
	creds  map[string]*Credential
	now    func() time.Time
	nonces *nonceCache
	lastTS atomic.Pointer[parsedTimestamp] // the last timestamp parsed: clients send the same one all second
}

type parsedTimestamp struct {
	text string
	t    time.Time
}

func newAuthenticator(off bool, creds []Credential, now func() time.Time, nonceCap int) *authenticator {
	a := &authenticator{off: off, creds: map[string]*Credential{}, now: now}
	ids := make([]string, 0, len(creds))
	for i := range creds {
		c := creds[i]
		if c.Account == "" {
			c.Account = c.AccessKeyID
		}
		if c.Allow == nil {
			c.Allow = []string{"ens:*"}
		}
		a.creds[c.AccessKeyID] = &c
		ids = append(ids, c.AccessKeyID)
	}
	a.nonces = newNonceCache(nonceCap, ids)
	return a
}

// precompute evaluates every credential's policy for the actions once, so the
// request path does no pattern matching.
func (a *authenticator) precompute(actions []string) {
	for _, c := range a.creds {
		c.allowed = make(map[string]bool, len(actions))
		for _, act := range actions {
			c.allowed[act] = c.allows(act)
		}
	}
}

// DefaultAccount owns the state of requests without a known credential when auth is off.
const DefaultAccount = "default"

// unsignedHint is the detail of every refusal of an unsigned request: the
// user may simply not know that signatures can be switched off.
const unsignedHint = "the request is not signed (no Signature parameter, no ACS3 Authorization header) and this mock checks signatures: " +
	"sign it with a configured AccessKey pair (default testid / testsecret), or start ensmock with --auth=off " +
	"(env ENSMOCK_AUTH=off; mock.Options.AuthOff in Go) to accept unsigned requests"

// authenticate returns the request's credential (nil only when auth is off and
// the key is unknown) or the gateway's error. The refusal of an unsigned
// request says that --auth=off exists (X-Ensmock-Detail and the journal).
func (a *authenticator) authenticate(req *wire.Request) (*Credential, *wire.Error) {
	cred, e := a.check(req)
	if e != nil && !a.off && !req.Has("Signature") && !strings.HasPrefix(req.HTTP.Header.Get("Authorization"), "ACS3-") {
		if e.Detail != "" {
			e = e.WithDetail("%s; %s", e.Detail, unsignedHint)
		} else {
			e = e.WithDetail("%s", unsignedHint)
		}
	}
	return cred, e
}

func (a *authenticator) check(req *wire.Request) (*Credential, *wire.Error) {
	authz := req.HTTP.Header.Get("Authorization")
	v3 := strings.HasPrefix(authz, "ACS3-")
	var keyID string
	if v3 {
		alg, rest, _ := strings.Cut(strings.TrimSpace(authz), " ")
		// ACS3-HMAC-SM3 and ACS3-RSA-SHA256 exist ([DARA] Config.SignatureAlgorithm),
		// but the mock verifies only ACS3-HMAC-SHA256: say so rather than "incomplete".
		if alg != signature.V3Algorithm && !a.off {
			return nil, wire.InvalidSignatureMethod.WithDetail("Authorization algorithm %q: ensmock verifies %s", alg, signature.V3Algorithm)
		}
		if auth, err := signature.ParseV3Authorization(signature.V3Algorithm + " " + rest); err == nil {
			keyID = auth.AccessKeyID
		} else if !a.off {
			return nil, wire.IncompleteSignature.WithDetail("%v", err)
		}
	} else {
		keyID = req.Get("AccessKeyId")
	}
	if a.off {
		return a.creds[keyID], nil
	}
	if keyID == "" {
		return nil, wire.MissingParameter("AccessKeyId")
	}
	cred := a.creds[keyID]
	if cred == nil {
		return nil, wire.InvalidAccessKeyIDNotFound
	}
	if v3 {
		return cred, a.verifyV3(req, cred)
	}
	return cred, a.verifyV1(req, cred)
}

func (a *authenticator) verifyV1(req *wire.Request, cred *Credential) *wire.Error {
	if m := req.Get("SignatureMethod"); m == "" {
		return wire.MissingParameter("SignatureMethod")
	} else if m != "HMAC-SHA1" {
		return wire.InvalidSignatureMethod.WithDetail("SignatureMethod %q: the V1 signature is HMAC-SHA1", m)
	}
	if v := req.Get("SignatureVersion"); v == "" {
		return wire.MissingParameter("SignatureVersion")
	} else if v != "1.0" {
		return wire.IncompleteSignature.WithDetail("SignatureVersion %q: want 1.0", v)
	}
	if !req.Has("Signature") {
		return wire.IncompleteSignature.WithDetail("the Signature parameter is missing")
	}
	now := a.now()
	if e := a.checkTime(req.Get("Timestamp"), "Timestamp", now); e != nil {
		return e
	}
	nonce := req.Get("SignatureNonce")
	if nonce == "" {
		return wire.MissingParameter("SignatureNonce")
	}
	if e := checkToken(cred, req.Get("SecurityToken")); e != nil {
		return e
	}
	bp := stsBuffers.Get().(*[]byte)
	sts, ok := signature.AppendVerifyV1((*bp)[:0], req.HTTP.Method, req.Params, cred.AccessKeySecret)
	var e *wire.Error
	if !ok {
		e = wire.SignatureDoesNotMatch(string(sts))
	}
	if cap(sts) <= 64<<10 {
		*bp = sts
		stsBuffers.Put(bp)
	}
	if e != nil {
		return e
	}
	return a.useNonce(cred.AccessKeyID, nonce, now)
}

func (a *authenticator) verifyV3(req *wire.Request, cred *Credential) *wire.Error {
	h := req.HTTP.Header
	now := a.now()
	if e := a.checkTime(h.Get("x-acs-date"), "x-acs-date", now); e != nil {
		return e
	}
	nonce := h.Get("x-acs-signature-nonce")
	if nonce == "" {
		return wire.MissingParameter("x-acs-signature-nonce")
	}
	if e := checkToken(cred, h.Get("x-acs-security-token")); e != nil {
		return e
	}
	_, sts, err := signature.VerifyV3(req.HTTP, req.Body, cred.AccessKeySecret)
	switch {
	case errors.Is(err, signature.ErrSignatureMismatch):
		return wire.SignatureDoesNotMatch(sts)
	case errors.Is(err, signature.ErrContentHash):
		return wire.SignatureDoesNotMatch(sts).WithDetail("x-acs-content-sha256 does not match the body")
	case err != nil:
		return wire.IncompleteSignature.WithDetail("%v", err)
	}
	return a.useNonce(cred.AccessKeyID, nonce, now)
}

// checkTime checks a request's timestamp v against now, the timestamp clock's
// time (read once per request).
func (a *authenticator) checkTime(v, name string, now time.Time) *wire.Error {
	if v == "" {
		return wire.MissingParameter(name)
	}
	t, err := a.parseTimestamp(v)
	if err != nil {
		return wire.InvalidTimeStampFormat.WithDetail("%s %q: want UTC yyyy-MM-ddTHH:mm:ssZ", name, v)
	}
	if d := now.Sub(t); d > TimestampWindow || d < -TimestampWindow {
		return wire.InvalidTimeStampExpired.WithDetail("%s %s is %s away from the server's time %s (window ±15m)", name, v, d.Round(time.Second), now.Format(signature.TimestampFormat))
	}
	return nil
}

// parseTimestamp parses v as signature.TimestampFormat, reusing the last success.
func (a *authenticator) parseTimestamp(v string) (time.Time, error) {
	if p := a.lastTS.Load(); p != nil && p.text == v {
		return p.t, nil
	}
	t, err := time.Parse(signature.TimestampFormat, v)
	if err == nil {
		a.lastTS.Store(&parsedTimestamp{text: v, t: t})
	}
	return t, err
}

// stsBuffers recycles V1 strings-to-sign (one per signed request).
var stsBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func checkToken(cred *Credential, token string) *wire.Error {
	if cred.SecurityToken != "" && token != cred.SecurityToken {
		if token == "" {
			return wire.MissingParameter("SecurityToken")
		}
		return wire.InvalidSecurityToken
	}
	return nil
}
