package mock_test

// Signatures, accounts and permissions proven with the official Alibaba Cloud
// SDKs as clients: github.com/aliyun/alibaba-cloud-sdk-go (SDK1, V1 HMAC-SHA1)
// and github.com/alibabacloud-go/darabonba-openapi/v2 (DARA, V3 ACS3-HMAC-SHA256
// by default, V1 with SignatureAlgorithm "v2"). Every request goes over a real
// loopback listener; time moves only through the mock's manual clock.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
)

const (
	sdkAppID = "e76f8985-7965-41fc-925b-9648bb6bf650"
	sdkData  = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz","timeout":1000}]`

	stsID     = "sts-id"
	stsSecret = "sts-secret"
	stsToken  = "sts-token-1"
)

// sdkCreds are the default pairs plus an STS credential and a second key of
// the testid account.
func sdkCreds() []mock.Credential {
	return append(mock.DefaultCredentials(),
		mock.Credential{AccessKeyID: stsID, AccessKeySecret: stsSecret, SecurityToken: stsToken},
	)
}

// sdkMock starts a mock with auth on, a manual clock at the machine's time and
// the default timestamp clock (the machine's time, which the SDKs sign with).
func sdkMock(t *testing.T) (*mock.Server, *clock.Clock) {
	t.Helper()
	return sdkMockWith(t, nil)
}

// fakeWall is the machine's time as a mock's clock reads it, shifted by an
// offset the test sets: what the mock believes the machine's time is. The SDKs
// keep signing with the real time.
type fakeWall struct{ off atomic.Int64 }

func (w *fakeWall) now() time.Time      { return time.Now().Add(time.Duration(w.off.Load())) }
func (w *fakeWall) set(d time.Duration) { w.off.Store(int64(d)) }

// sdkMockWith is sdkMock with options changed by edit (nil: none). The clock,
// unless edit sets one, is manual, at the machine's time.
func sdkMockWith(t *testing.T, edit func(*mock.Options)) (*mock.Server, *clock.Clock) {
	t.Helper()
	opts := mock.Options{Credentials: sdkCreds(), CheckResponses: true}
	if edit != nil {
		edit(&opts)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New(clock.Manual, 0, time.Now())
	}
	clk := opts.Clock
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.Endpoint(), "127.0.0.1:") {
		t.Fatalf("endpoint %q is not loopback", srv.Endpoint())
	}
	return srv, clk
}

// dataFilesIn counts the data files the engine holds across every account.
func dataFilesIn(srv *mock.Server) int {
	n := 0
	for _, a := range srv.Engine().Snapshot("").Accounts {
		for _, p := range a.Apps {
			n += len(p.Files)
		}
	}
	return n
}

// --- SDK1 -----------------------------------------------------------------

func sdk1Client(t *testing.T, id, secret, token string) *ens.Client {
	t.Helper()
	var (
		c   *ens.Client
		err error
	)
	if token != "" {
		c, err = ens.NewClientWithStsToken("cn-hangzhou", id, secret, token)
	} else {
		c, err = ens.NewClientWithAccessKey("cn-hangzhou", id, secret)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetNoProxy("127.0.0.1") // never through an HTTP_PROXY of the environment
	// The SDK's defaults (10 s read, 5 s connect) would bound a call too; set
	// here so the bound is the tests' own, whatever a new SDK version defaults to.
	c.SetReadTimeout(testTimeout)
	c.SetConnectTimeout(testTimeout)
	t.Cleanup(c.Shutdown)
	return c
}

func sdk1Push(c *ens.Client, endpoint, format string) (*ens.PushApplicationDataResponse, error) {
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = endpoint, "http" // never the location service
	if format != "" {
		req.AcceptFormat = format
	}
	req.AppId, req.Data = sdkAppID, sdkData
	return c.PushApplicationData(req)
}

func sdk1Describe(c *ens.Client, endpoint, format string) (*ens.DescribeDataPushResultResponse, error) {
	req := ens.CreateDescribeDataPushResultRequest()
	req.Domain, req.Scheme = endpoint, "http"
	if format != "" {
		req.AcceptFormat = format
	}
	req.AppId = sdkAppID
	return c.DescribeDataPushResult(req)
}

// sdk1Error unwraps SDK1's error into code and status.
func sdk1Error(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want *errors.ServerError, got %T: %v", err, err)
	}
	return se
}

func TestSDK1PushDescribeRoundTrip(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run(format, func(t *testing.T) {
			srv, clk := sdkMock(t)
			c := sdk1Client(t, "testid", "testsecret", "")

			push, err := sdk1Push(c, srv.Endpoint(), format)
			if err != nil {
				t.Fatal(err)
			}
			if ct := push.GetHttpHeaders()["Content-Type"]; len(ct) == 0 || !strings.Contains(strings.ToLower(ct[0]), strings.ToLower(format)) {
				t.Errorf("Content-Type %v, want %s", ct, format)
			}
			if push.RequestId == "" || len(push.PushResults.PushResult) != 1 {
				t.Fatalf("push response %+v", push)
			}
			if r := push.PushResults.PushResult[0]; r.Name != "app01" || r.Version != "1.0" || r.ResultCode != 0 {
				t.Fatalf("push result %+v, want app01 1.0 code 0", r)
			}

			if err := clk.Advance(time.Minute); err != nil {
				t.Fatal(err)
			}
			desc, err := sdk1Describe(c, srv.Endpoint(), format)
			if err != nil {
				t.Fatal(err)
			}
			if desc.TotalCount != 1 || len(desc.PushResults.PushResult) != 1 {
				t.Fatalf("describe %+v", desc)
			}
			stats := desc.PushResults.PushResult[0].StatusStatS.StatusStat
			if len(stats) != 1 || stats[0].Status != "SUCCESS" || stats[0].RegionIdCount == 0 ||
				len(stats[0].RegionIds.RegionId) != stats[0].RegionIdCount || stats[0].RegionIds.RegionId[0].RegionId == "" {
				t.Fatalf("status %+v, want every region SUCCESS", stats)
			}

			again, err := sdk1Push(c, srv.Endpoint(), format)
			if err != nil {
				t.Fatal(err)
			}
			if got := again.PushResults.PushResult[0].ResultCode; got != 100 {
				t.Errorf("second push ResultCode %d, want 100 (already pushed)", got)
			}

			dl := ens.CreateDescribeDataDownloadURLRequest()
			dl.Domain, dl.Scheme, dl.AcceptFormat = srv.Endpoint(), "http", format
			dl.AppId, dl.DataName, dl.DataVersion = sdkAppID, "app01", "1.0"
			url, err := c.DescribeDataDownloadURL(dl)
			if err != nil {
				t.Fatal(err)
			}
			if url.Data.Url == "" || len(url.Data.ServerList) == 0 {
				t.Errorf("download URL %+v, want a Url and servers", url.Data)
			}
		})
	}
}

// TestSDK1FormBody: parameters in an application/x-www-form-urlencoded POST body
// are signed by SDK1, verified by the mock and used by the action.
func TestSDK1FormBody(t *testing.T) {
	srv, _ := sdkMock(t)
	c := sdk1Client(t, "testid", "testsecret", "")
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = srv.Endpoint(), "http"
	req.AppId = sdkAppID
	req.GetFormParams()["Data"] = sdkData // not in the query: only the body carries it
	resp, err := c.PushApplicationData(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.PushResults.PushResult) != 1 || resp.PushResults.PushResult[0].Name != "app01" {
		t.Fatalf("push from a form body: %+v", resp.PushResults)
	}
	if n := dataFilesIn(srv); n != 1 {
		t.Fatalf("engine holds %d files, want 1", n)
	}
}

// --- DARA -----------------------------------------------------------------

type daraMode struct {
	name string
	alg  string // Config.SignatureAlgorithm; "" is V3 ACS3-HMAC-SHA256
}

var daraModes = []daraMode{{"V3", ""}, {"V1", "v2"}}

func daraClient(t *testing.T, endpoint, alg, id, secret, token string) *openapi.Client {
	t.Helper()
	cfg := &openapi.Config{
		Endpoint:        tea.String(endpoint),
		Protocol:        tea.String("http"),
		AccessKeyId:     tea.String(id),
		AccessKeySecret: tea.String(secret),
		NoProxy:         tea.String(endpoint), // exact host:port: never through an HTTP_PROXY
		// Without these the Darabonba runtime sends with no timeout at all.
		ReadTimeout:    tea.Int(int(testTimeout.Milliseconds())),
		ConnectTimeout: tea.Int(int(testTimeout.Milliseconds())),
	}
	if alg != "" {
		cfg.SignatureAlgorithm = tea.String(alg)
	}
	if token != "" {
		cfg.SecurityToken = tea.String(token)
	}
	c, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// daraCall calls an action as the generated ENS client does (docs/wire.md §2),
// business parameters in the query; body, when set, is sent as a form.
func daraCall(c *openapi.Client, action string, query map[string]string, headers map[string]string, body map[string]any) (map[string]any, error) {
	return daraCallMethod(c, "POST", action, query, headers, body)
}

// daraCallMethod is daraCall with the HTTP method chosen (DescribeDataDownloadURL is GET-only).
func daraCallMethod(c *openapi.Client, method, action string, query map[string]string, headers map[string]string, body map[string]any) (map[string]any, error) {
	req := &openapi.OpenApiRequest{Query: map[string]*string{}}
	for k, v := range query {
		req.Query[k] = tea.String(v)
	}
	if headers != nil {
		req.Headers = map[string]*string{}
		for k, v := range headers {
			req.Headers[k] = tea.String(v)
		}
	}
	if body != nil {
		req.Body = body
	}
	params := &openapi.Params{
		Action: tea.String(action), Version: tea.String("2017-11-10"), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String(method), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	return c.CallApi(params, req, &dara.RuntimeOptions{})
}

func daraPush(c *openapi.Client) (map[string]any, error) {
	return daraCall(c, "PushApplicationData", map[string]string{"AppId": sdkAppID, "Data": sdkData}, nil, nil)
}

func daraError(t *testing.T, err error) *tea.SDKError {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("want *tea.SDKError, got %T: %v", err, err)
	}
	return se
}

// daraPath walks a decoded JSON body.
func daraPath(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestDaraPushDescribeRoundTrip(t *testing.T) {
	for _, m := range daraModes {
		t.Run(m.name, func(t *testing.T) {
			srv, clk := sdkMock(t)
			c := daraClient(t, srv.Endpoint(), m.alg, "testid", "testsecret", "")
			res, err := daraPush(c)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res["statusCode"]) != "200" {
				t.Fatalf("status %v", res["statusCode"])
			}
			body := res["body"]
			if code := daraPath(body, "PushResults", "PushResult", 0, "ResultCode"); code != json.Number("0") && code != float64(0) {
				t.Fatalf("ResultCode %v (%T), body %v", code, code, body)
			}
			if err := clk.Advance(time.Minute); err != nil {
				t.Fatal(err)
			}
			res, err = daraCall(c, "DescribeDataPushResult", map[string]string{"AppId": sdkAppID}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st := daraPath(res["body"], "PushResults", "PushResult", 0, "StatusStatS", "StatusStat", 0, "Status"); st != "SUCCESS" {
				t.Fatalf("status %v, body %v", st, res["body"])
			}
		})
	}
}

// TestDaraV3FormBody: a V3 request whose business parameters are in a form body
// (hashed into x-acs-content-sha256, not in the canonical query) is verified and used.
func TestDaraV3FormBody(t *testing.T) {
	for _, m := range daraModes {
		t.Run(m.name, func(t *testing.T) {
			srv, _ := sdkMock(t)
			var mu sync.Mutex
			var authz string
			front := tamperFront(t, srv, func(r *http.Request) { mu.Lock(); authz = r.Header.Get("Authorization"); mu.Unlock() })
			c := daraClient(t, front, m.alg, "testid", "testsecret", "")
			_, err := daraCall(c, "PushApplicationData", map[string]string{"AppId": sdkAppID}, nil, map[string]any{"Data": sdkData})
			if err != nil {
				t.Fatal(err)
			}
			if n := dataFilesIn(srv); n != 1 {
				t.Fatalf("engine holds %d files, want 1", n)
			}
			if m.alg != "" {
				return
			}
			// DARA signs content-type, which the mock requires of a V3 request with a body.
			mu.Lock()
			defer mu.Unlock()
			a, err := signature.ParseV3Authorization(authz)
			if err != nil || !slices.Contains(a.SignedHeaders, "content-type") {
				t.Fatalf("DARA's V3 SignedHeaders %v (%v) lack content-type", a.SignedHeaders, err)
			}
		})
	}
}

// --- auth errors, through both SDKs -----------------------------------------

// sdkKind is one official client; push sends PushApplicationData through it.
type sdkKind struct {
	name string
	// push sends one PushApplicationData to endpoint and returns the SDK's error,
	// unwrapped to code, status and message (as the SDK parsed them).
	push func(t *testing.T, endpoint, id, secret, token string) (code string, status int, msg string, ok bool)
}

var sdkKinds = []sdkKind{
	{"SDK1", func(t *testing.T, endpoint, id, secret, token string) (string, int, string, bool) {
		_, err := sdk1Push(sdk1Client(t, id, secret, token), endpoint, "")
		if err == nil {
			return "", 200, "", true
		}
		se := sdk1Error(t, err)
		return se.ErrorCode(), se.HttpStatus(), se.Message(), false
	}},
	{"DARA-V3", daraKind("")},
	{"DARA-V1", daraKind("v2")},
}

func daraKind(alg string) func(t *testing.T, endpoint, id, secret, token string) (string, int, string, bool) {
	return func(t *testing.T, endpoint, id, secret, token string) (string, int, string, bool) {
		_, err := daraPush(daraClient(t, endpoint, alg, id, secret, token))
		if err == nil {
			return "", 200, "", true
		}
		se := daraError(t, err)
		return tea.StringValue(se.Code), tea.IntValue(se.StatusCode), tea.StringValue(se.Message), false
	}
}

// tamperFront serves the mock's handler on a second loopback listener, passing
// every request through mutate first: what a man in the middle, or a buggy
// client, would do to a request after it was signed.
func tamperFront(t *testing.T, srv *mock.Server, mutate func(r *http.Request)) string {
	t.Helper()
	h := srv.HTTPHandler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mutate != nil {
			mutate(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return strings.TrimPrefix(front.URL, "http://")
}

func isV3Request(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-")
}

// tamperQuery changes the query of r: set a non-nil value, delete on nil.
func tamperQuery(r *http.Request, edits map[string]*string) {
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for k, v := range edits {
		if v == nil {
			q.Del(k)
		} else {
			q.Set(k, *v)
		}
	}
	r.URL.RawQuery = q.Encode()
}

// tamperSetBody replaces r's body.
func tamperSetBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", fmt.Sprint(len(body)))
}

// tamperReplay serves r to the mock once before the real answer, so the answer is the
// one to a second, identical request.
func tamperReplay(h http.Handler) func(r *http.Request) {
	return func(r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		first := r.Clone(r.Context())
		first.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, first)
		tamperSetBody(r, body)
	}
}

// tamperV1OrV3 picks the mutation for the request's signature version.
func tamperV1OrV3(v1, v3 func(r *http.Request)) func(r *http.Request) {
	return func(r *http.Request) {
		if isV3Request(r) {
			v3(r)
		} else {
			v1(r)
		}
	}
}

func TestSDKAuthErrors(t *testing.T) {
	str := tea.String
	type tcase struct {
		name        string
		id, secret  string
		token       string
		advance     time.Duration                                // move the mock's clock before the call
		skewed      bool                                         // the timestamp window follows the mock's clock (TimestampMock)
		mutate      func(srv *mock.Server) func(r *http.Request) // in flight, after signing
		code        string
		codeV3      string // when the V3 answer differs
		status      int
		msgContains string
		files       int // data files in the mock afterwards
	}
	cases := []tcase{
		{name: "unknown key", id: "nosuch-id", secret: "x", code: "InvalidAccessKeyId.NotFound", status: 404,
			msgContains: "Specified access key is not found."},
		{name: "wrong secret", id: "testid", secret: "not-the-secret", code: "SignatureDoesNotMatch", status: 400,
			msgContains: "server string to sign is:"},
		{name: "expired timestamp on a skewed server", advance: 20 * time.Minute, skewed: true, code: "InvalidTimeStamp.Expired", status: 400,
			msgContains: "Specified time stamp or date value is expired."},
		{name: "no permission", id: "denied-id", secret: "denied-secret", code: "NoPermission", status: 400,
			msgContains: "Permission denied."},
		{name: "STS without token", id: stsID, secret: stsSecret, code: "MissingParameter", status: 400},
		{name: "STS wrong token", id: stsID, secret: stsSecret, token: "forged", code: "InvalidSecurityToken.Malformed", status: 400},
		{name: "nonce replayed", code: "SignatureNonceUsed", status: 400, msgContains: "Specified signature nonce was used already.", files: 1,
			mutate: func(srv *mock.Server) func(*http.Request) { return tamperReplay(srv.HTTPHandler()) }},
		{name: "timestamp malformed", code: "InvalidTimeStamp.Format", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"Timestamp": str("2024-01-01 00:00:00")}) },
					func(r *http.Request) { r.Header.Set("x-acs-date", "Mon, 01 Jan 2024 00:00:00 GMT") })
			}},
		{name: "timestamp missing", code: "MissingParameter", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"Timestamp": nil}) },
					func(r *http.Request) { r.Header.Del("x-acs-date") })
			}},
		{name: "nonce missing", code: "MissingParameter", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"SignatureNonce": nil}) },
					func(r *http.Request) { r.Header.Del("x-acs-signature-nonce") })
			}},
		{name: "access key id missing", code: "MissingParameter", codeV3: "IncompleteSignature", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"AccessKeyId": nil}) },
					func(r *http.Request) {
						r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Credential=testid", "Credential=", 1))
					})
			}},
		{name: "signature missing", code: "IncompleteSignature", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"Signature": nil}) },
					func(r *http.Request) {
						a := r.Header.Get("Authorization")
						r.Header.Set("Authorization", a[:strings.Index(a, ",Signature=")])
					})
			}},
		{name: "signature method", code: "InvalidSignatureMethod", status: 400, msgContains: "Specified signature method is not valid.",
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"SignatureMethod": str("HMAC-SHA256")}) },
					func(r *http.Request) {
						r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
					})
			}},
		{name: "signature version", code: "IncompleteSignature", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) { tamperQuery(r, map[string]*string{"SignatureVersion": str("2.0")}) },
					// an x-acs-* header the signature does not cover
					func(r *http.Request) { r.Header.Set("x-acs-unsigned", "1") })
			}},
		{name: "tampered parameter", code: "SignatureDoesNotMatch", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return func(r *http.Request) { tamperQuery(r, map[string]*string{"AppId": str("another-app")}) }
			}},
		{name: "tampered signed header or timestamp", code: "SignatureDoesNotMatch", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return tamperV1OrV3(func(r *http.Request) {
					ts, _ := time.Parse(signature.TimestampFormat, r.URL.Query().Get("Timestamp"))
					tamperQuery(r, map[string]*string{"Timestamp": str(ts.Add(time.Second).Format(signature.TimestampFormat))})
				}, func(r *http.Request) { r.Header.Set("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef") })
			}},
		{name: "added parameter", code: "SignatureDoesNotMatch", status: 400,
			mutate: func(*mock.Server) func(*http.Request) {
				return func(r *http.Request) {
					tamperQuery(r, map[string]*string{"PushStrategy": str(`{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-hangzhou-telecom"]}}`)})
				}
			}},
	}
	for _, kind := range sdkKinds {
		for _, tc := range cases {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				srv, clk := sdkMockWith(t, func(o *mock.Options) {
					if tc.skewed {
						o.TimestampClock = mock.TimestampMock
					}
				})
				if tc.advance != 0 {
					if err := clk.Advance(tc.advance); err != nil {
						t.Fatal(err)
					}
				}
				endpoint := srv.Endpoint()
				if tc.mutate != nil {
					endpoint = tamperFront(t, srv, tc.mutate(srv))
				}
				id, secret := tc.id, tc.secret
				if id == "" {
					id, secret = "testid", "testsecret"
				}
				code, status, msg, ok := kind.push(t, endpoint, id, secret, tc.token)
				want := tc.code
				if tc.codeV3 != "" && kind.name == "DARA-V3" {
					want = tc.codeV3
				}
				if ok {
					t.Fatalf("the push succeeded; want %s", want)
				}
				if code != want || status != tc.status {
					t.Errorf("got %s (%d), want %s (%d); message %q", code, status, want, tc.status, msg)
				}
				if !strings.Contains(msg, tc.msgContains) {
					t.Errorf("message %q lacks %q", msg, tc.msgContains)
				}
				if n := dataFilesIn(srv); n != tc.files {
					t.Errorf("the mock holds %d data files, want %d: a refused push changed state", n, tc.files)
				}
			})
		}
	}
}

// TestSDKSTSToken: an STS credential works with its token and only with it.
func TestSDKSTSToken(t *testing.T) {
	for _, kind := range sdkKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv, _ := sdkMock(t)
			if code, _, msg, ok := kind.push(t, srv.Endpoint(), stsID, stsSecret, stsToken); !ok {
				t.Fatalf("push with the right token: %s %s", code, msg)
			}
			if a := srv.Engine().Snapshot(stsID).Accounts; len(a) != 1 || len(a[0].Apps) != 1 {
				t.Fatalf("state of %s: %+v", stsID, a)
			}
		})
	}
}

// TestSDK1SignatureDoesNotMatchEchoesStringToSign: SDK1 compares the server's
// string-to-sign in the message with the one it signed; when they agree it
// blames the secret (Recommend "InvalidAccessKeySecret"), which proves the mock
// computed exactly SDK1's string.
func TestSDK1SignatureDoesNotMatchEchoesStringToSign(t *testing.T) {
	srv, _ := sdkMock(t)
	_, err := sdk1Push(sdk1Client(t, "testid", "wrong", ""), srv.Endpoint(), "")
	se := sdk1Error(t, err)
	if se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("code %s", se.ErrorCode())
	}
	if want := "InvalidAccessKeySecret: Please check you AccessKeySecret"; se.Recommend() != want {
		t.Errorf("Recommend %q, want %q: the server string-to-sign differs from SDK1's", se.Recommend(), want)
	}
	_, sts, _ := strings.Cut(se.Message(), "server string to sign is:")
	if !strings.HasPrefix(sts, "POST&%2F&AccessKeyId%3Dtestid%26Action%3DPushApplicationData%26") || !strings.Contains(sts, "%26SignatureType%3D%26") {
		t.Errorf("server string-to-sign %q", sts)
	}
}

// TestDaraSignatureDoesNotMatchEchoesStringToSign: the string-to-sign in the
// message, signed with the wrong secret, gives exactly the signature DARA sent.
func TestDaraSignatureDoesNotMatchEchoesStringToSign(t *testing.T) {
	for _, m := range daraModes {
		t.Run(m.name, func(t *testing.T) {
			srv, _ := sdkMock(t)
			var mu sync.Mutex
			var sent *http.Request
			front := tamperFront(t, srv, func(r *http.Request) { mu.Lock(); sent = r.Clone(r.Context()); mu.Unlock() })
			_, err := daraPush(daraClient(t, front, m.alg, "testid", "wrong", ""))
			se := daraError(t, err)
			if tea.StringValue(se.Code) != "SignatureDoesNotMatch" || tea.IntValue(se.StatusCode) != 400 {
				t.Fatalf("%s %d", tea.StringValue(se.Code), tea.IntValue(se.StatusCode))
			}
			_, sts, _ := strings.Cut(tea.StringValue(se.Message), "server string to sign is:")
			sts, _, _ = strings.Cut(sts, " request id:")
			mu.Lock()
			defer mu.Unlock()
			var got, want string
			if m.alg == "" {
				a, err := signature.ParseV3Authorization(sent.Header.Get("Authorization"))
				if err != nil {
					t.Fatal(err)
				}
				got, want = signature.V3Signature(sts, "wrong"), a.Signature
			} else {
				got, want = signature.V1Signature(sts, "wrong"), sent.URL.Query().Get("Signature")
			}
			if got != want {
				t.Errorf("the server string-to-sign %q signed with the client's secret gives %s; the client sent %s", sts, got, want)
			}
		})
	}
}

// TestDaraFixedNonceReplay: DARA lets a caller fix the nonce header/parameter;
// the second call with the same nonce is refused, and DARA parses the error.
func TestDaraFixedNonceReplay(t *testing.T) {
	for _, m := range daraModes {
		t.Run(m.name, func(t *testing.T) {
			srv, _ := sdkMock(t)
			c := daraClient(t, srv.Endpoint(), m.alg, "testid", "testsecret", "")
			var headers, query = map[string]string{}, map[string]string{"AppId": sdkAppID}
			if m.alg == "" {
				headers["x-acs-signature-nonce"] = "fixed-nonce-1"
			} else {
				query["SignatureNonce"] = "fixed-nonce-1"
			}
			for i, want := range []string{"", "SignatureNonceUsed"} {
				_, err := daraCall(c, "DescribeDataPushResult", query, headers, nil)
				if want == "" {
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					continue
				}
				if se := daraError(t, err); tea.StringValue(se.Code) != want {
					t.Fatalf("call %d: %s, want %s", i, tea.StringValue(se.Code), want)
				}
			}
		})
	}
}

// --- raw requests signed with the signature package ---------------------------

// rawV1Post sends params, signed V1 with testid, as a POST query; form, when set,
// goes in the body and is signed too.
func rawV1Post(t *testing.T, endpoint string, params, form url.Values) (*http.Response, []byte) {
	t.Helper()
	target := "http://" + endpoint + "/?" + params.Encode()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return rawSend(t, req)
}

func rawSend(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// rawSignedV1 builds V1 parameters of action, signed over params and form together.
func rawSignedV1(action string, params, form url.Values, nonce string, now time.Time) url.Values {
	all := url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
	for k, v := range params {
		all[k] = v
	}
	for k, v := range form {
		all[k] = append(all[k], v...)
	}
	signature.SignV1(http.MethodPost, all, "testid", "testsecret", nonce, now)
	for k := range form {
		delete(all, k)
	}
	return all
}

// sdk1ParseError parses an error answer with SDK1's own error parser.
func sdk1ParseError(resp *http.Response, body []byte) *sdkerrors.ServerError {
	return sdkerrors.NewServerError(resp.StatusCode, string(body), "").(*sdkerrors.ServerError)
}

func TestRawV1NonceReplay(t *testing.T) {
	var wall fakeWall
	srv, clk := sdkMockWith(t, func(o *mock.Options) { o.Clock = clock.NewWithWall(clock.Manual, 0, time.Time{}, wall.now) })
	q := rawSignedV1("DescribeDataPushResult", url.Values{"AppId": {sdkAppID}}, nil, "nonce-replay-1", clk.Wall())
	if resp, body := rawV1Post(t, srv.Endpoint(), q, nil); resp.StatusCode != 200 {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	resp, body := rawV1Post(t, srv.Endpoint(), q, nil)
	if se := sdk1ParseError(resp, body); se.HttpStatus() != 400 || se.ErrorCode() != "SignatureNonceUsed" {
		t.Fatalf("replay: %d %s", se.HttpStatus(), se.ErrorCode())
	}
	// The same nonce from another AccessKeyId is another nonce.
	other := url.Values{"Action": {"DescribeDataPushResult"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {sdkAppID}}
	signature.SignV1(http.MethodPost, other, "denied-id", "denied-secret", "nonce-replay-1", clk.Wall())
	if resp, body := rawV1Post(t, srv.Endpoint(), other, nil); resp.StatusCode != 200 {
		t.Fatalf("same nonce, other key: %d %s", resp.StatusCode, body)
	}
	// Past the window the nonce is forgotten, but then the timestamp is expired
	// too: 16 minutes of the machine's time later (the mock's clock has not moved).
	wall.set(16 * time.Minute)
	resp, body = rawV1Post(t, srv.Endpoint(), q, nil)
	if se := sdk1ParseError(resp, body); se.ErrorCode() != "InvalidTimeStamp.Expired" {
		t.Fatalf("old replay: %d %s", se.HttpStatus(), se.ErrorCode())
	}
}

func TestRawV3NonceReplay(t *testing.T) {
	srv, clk := sdkMock(t)
	build := func() *http.Request {
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?AppId="+sdkAppID, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		signature.SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", "testid", "testsecret", "v3-nonce-1", clk.Wall())
		return req
	}
	if resp, body := rawSend(t, build()); resp.StatusCode != 200 {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	resp, body := rawSend(t, build())
	if se := sdk1ParseError(resp, body); se.HttpStatus() != 400 || se.ErrorCode() != "SignatureNonceUsed" {
		t.Fatalf("replay: %d %s", se.HttpStatus(), se.ErrorCode())
	}
}

// TestRawV1EmptyAndOddParametersAreSigned: SignatureType= (empty) and
// EnsRegionIds=null, as SDK1 sends them, count in the string-to-sign: signed,
// they pass; added or dropped after signing, they break the signature.
func TestRawV1EmptyAndOddParametersAreSigned(t *testing.T) {
	srv, clk := sdkMock(t)
	odd := url.Values{"AppId": {sdkAppID}, "SignatureType": {""}, "EnsRegionIds": {"null"}, "RegionId": {"cn-hangzhou"}}
	nonce := 0
	next := func() string { nonce++; return fmt.Sprintf("odd-%d", nonce) }

	q := rawSignedV1("DescribeDataPushResult", odd, nil, next(), clk.Wall())
	if !strings.Contains(q.Encode(), "SignatureType=&") || !strings.Contains(q.Encode(), "EnsRegionIds=null") {
		t.Fatalf("query %s", q.Encode())
	}
	if resp, body := rawV1Post(t, srv.Endpoint(), q, nil); resp.StatusCode != 200 {
		t.Fatalf("signed with the odd parameters: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"SignatureType", "EnsRegionIds"} {
		t.Run("dropped "+p, func(t *testing.T) {
			q := rawSignedV1("DescribeDataPushResult", odd, nil, next(), clk.Wall())
			q.Del(p)
			resp, body := rawV1Post(t, srv.Endpoint(), q, nil)
			if se := sdk1ParseError(resp, body); se.ErrorCode() != "SignatureDoesNotMatch" {
				t.Fatalf("%d %s", se.HttpStatus(), se.ErrorCode())
			}
		})
		t.Run("added "+p, func(t *testing.T) {
			plain := url.Values{"AppId": {sdkAppID}}
			q := rawSignedV1("DescribeDataPushResult", plain, nil, next(), clk.Wall())
			q[p] = odd[p]
			resp, body := rawV1Post(t, srv.Endpoint(), q, nil)
			se := sdk1ParseError(resp, body)
			if se.ErrorCode() != "SignatureDoesNotMatch" {
				t.Fatalf("%d %s", se.HttpStatus(), se.ErrorCode())
			}
			// The server string-to-sign names the parameter, even with an empty value.
			if want := signature.PercentEncode(p + "=" + signature.PercentEncode(odd.Get(p))); !strings.Contains(se.Message(), want) {
				t.Errorf("server string-to-sign lacks %s: %s", want, se.Message())
			}
		})
	}
}

// TestRawV1FormBody: V1 parameters in a form body are verified (a body changed
// after signing fails) and used (the pushed data comes from the body).
func TestRawV1FormBody(t *testing.T) {
	srv, clk := sdkMock(t)
	form := url.Values{"Data": {sdkData}}
	q := rawSignedV1("PushApplicationData", url.Values{"AppId": {sdkAppID}}, form, "form-1", clk.Wall())

	tampered := url.Values{"Data": {strings.Replace(sdkData, "app01", "app02", 1)}}
	resp, body := rawV1Post(t, srv.Endpoint(), q, tampered)
	if se := sdk1ParseError(resp, body); se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("tampered body: %d %s", se.HttpStatus(), se.ErrorCode())
	}
	if n := dataFilesIn(srv); n != 0 {
		t.Fatalf("a tampered push changed state: %d files", n)
	}
	resp, body = rawV1Post(t, srv.Endpoint(), q, form)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Name":"app01"`) {
		t.Fatalf("form push: %d %s", resp.StatusCode, body)
	}
	files := srv.Engine().Snapshot("testid").Accounts[0].Apps[0].Files
	if len(files) != 1 || files[0].Name != "app01" || files[0].Size != 100 {
		t.Fatalf("state %+v", files)
	}
}

// TestRawV3TamperedBody: a V3 form body that does not match x-acs-content-sha256
// fails, and one that does is used.
func TestRawV3TamperedBody(t *testing.T) {
	srv, clk := sdkMock(t)
	form := []byte(url.Values{"Data": {sdkData}}.Encode())
	build := func(nonce string, sent []byte) *http.Request {
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?AppId="+sdkAppID, bytes.NewReader(sent))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		signature.SignV3(req, form, "PushApplicationData", "2017-11-10", "testid", "testsecret", nonce, clk.Wall())
		return req
	}
	bad := bytes.Replace(form, []byte("app01"), []byte("app02"), 1)
	resp, body := rawSend(t, build("body-1", bad))
	if se := sdk1ParseError(resp, body); se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("tampered body: %d %s", se.HttpStatus(), se.ErrorCode())
	}
	if n := dataFilesIn(srv); n != 0 {
		t.Fatalf("a tampered push changed state: %d files", n)
	}
	if resp, body := rawSend(t, build("body-2", form)); resp.StatusCode != 200 {
		t.Fatalf("V3 form push: %d %s", resp.StatusCode, body)
	}
	if n := dataFilesIn(srv); n != 1 {
		t.Fatalf("engine holds %d files, want 1", n)
	}
}

// TestDaraUnsupportedAlgorithm: DARA can sign with ACS3-HMAC-SM3; the mock,
// which verifies only ACS3-HMAC-SHA256, answers InvalidSignatureMethod.
func TestDaraUnsupportedAlgorithm(t *testing.T) {
	srv, _ := sdkMock(t)
	_, err := daraPush(daraClient(t, srv.Endpoint(), "ACS3-HMAC-SM3", "testid", "testsecret", ""))
	if se := daraError(t, err); tea.StringValue(se.Code) != "InvalidSignatureMethod" || tea.IntValue(se.StatusCode) != 400 {
		t.Fatalf("%s %d", tea.StringValue(se.Code), tea.IntValue(se.StatusCode))
	}
	if n := dataFilesIn(srv); n != 0 {
		t.Fatalf("state changed: %d files", n)
	}
}
