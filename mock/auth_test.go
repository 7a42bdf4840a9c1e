package mock

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/signature"
)

var authNonce atomic.Int64

const authTestApp = "e76f8985-7965-41fc-925b-9648bb6bf650"

const authTestData = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz"}]`

// authTestServer is a mock on a loopback port with a manual clock set in the
// past: signatures are checked against the machine's time (the default), which
// authCall signs with, as the official SDKs do.
func authTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.New(clock.Manual, 0, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	opts.CheckResponses = true
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// authCall sends action with params as a POST query. With a secret it is signed
// V1 by keyID; without, it carries AccessKeyId=keyID (when not empty) unsigned.
// It returns the status and the JSON body.
func authCall(t *testing.T, srv *Server, keyID, secret, action string, params url.Values) (int, map[string]any) {
	t.Helper()
	q := url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
	for k, v := range params {
		q[k] = v
	}
	switch {
	case secret != "":
		nonce := fmt.Sprintf("n-%d", authNonce.Add(1))
		signature.SignV1(http.MethodPost, q, keyID, secret, nonce, srv.Clock().Wall())
	case keyID != "":
		q.Set("AccessKeyId", keyID)
	}
	resp, err := testClient.Post(srv.URL()+"/?"+q.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s: %v: %s", action, err, raw)
	}
	return resp.StatusCode, body
}

func authPush(t *testing.T, srv *Server, keyID, secret, app string) (int, map[string]any) {
	t.Helper()
	return authCall(t, srv, keyID, secret, "PushApplicationData", url.Values{"AppId": {app}, "Data": {authTestData}})
}

// authTotal is DescribeDataPushResult's TotalCount for app as keyID sees it.
func authTotal(t *testing.T, srv *Server, keyID, secret, app string) float64 {
	t.Helper()
	status, body := authCall(t, srv, keyID, secret, "DescribeDataPushResult", url.Values{"AppId": {app}})
	if status != 200 {
		t.Fatalf("describe as %s: %d %v", keyID, status, body)
	}
	n, _ := body["TotalCount"].(float64)
	return n
}

// authFiles counts the data files of one account in the engine.
func authFiles(srv *Server, account string) int {
	n := 0
	for _, a := range srv.Engine().Snapshot(account).Accounts {
		for _, p := range a.Apps {
			n += len(p.Files)
		}
	}
	return n
}

// TestAccountsShareStateByAccount: two keys mapped to one account see the same
// pushes; a key of another account sees none of them, even for the same AppId.
func TestAccountsShareStateByAccount(t *testing.T) {
	srv := authTestServer(t, Options{Credentials: []Credential{
		{AccessKeyID: "team-a-ci", AccessKeySecret: "s1", Account: "team-a"},
		{AccessKeyID: "team-a-dev", AccessKeySecret: "s2", Account: "team-a", Allow: []string{"ens:Describe*"}},
		{AccessKeyID: "team-b", AccessKeySecret: "s3"}, // account defaults to the key id
	}})
	if status, body := authPush(t, srv, "team-a-ci", "s1", authTestApp); status != 200 {
		t.Fatalf("push: %d %v", status, body)
	}
	if got := authTotal(t, srv, "team-a-dev", "s2", authTestApp); got != 1 {
		t.Errorf("the other key of team-a sees %v pushes, want 1", got)
	}
	if got := authTotal(t, srv, "team-b", "s3", authTestApp); got != 0 {
		t.Errorf("team-b sees %v pushes of team-a, want 0", got)
	}
	// The same name and version is a first push in team-b's own account.
	if code := authPushCode(t, srv, "team-b", "s3"); code != 0 {
		t.Errorf("team-b's first push answers ResultCode %v, want 0", code)
	}
	for account, want := range map[string]int{"team-a": 1, "team-b": 1, "team-a-ci": 0, "team-a-dev": 0} {
		if got := authFiles(srv, account); got != want {
			t.Errorf("account %s holds %d files, want %d", account, got, want)
		}
	}
	// Permissions are per key, not per account.
	if status, body := authPush(t, srv, "team-a-dev", "s2", authTestApp); status != 400 || body["Code"] != "NoPermission" || body["Message"] != "Permission denied." {
		t.Errorf("team-a-dev push: %d %v, want 400 NoPermission", status, body)
	}
}

func authPushCode(t *testing.T, srv *Server, keyID, secret string) float64 {
	t.Helper()
	_, body := authPush(t, srv, keyID, secret, authTestApp)
	r, _ := body["PushResults"].(map[string]any)
	list, _ := r["PushResult"].([]any)
	if len(list) != 1 {
		t.Fatalf("push results %v", body)
	}
	code, _ := list[0].(map[string]any)["ResultCode"].(float64)
	return code
}

// TestAuthOff: unsigned requests are accepted; a known AccessKeyId selects its
// account and its permissions; an unknown or absent one is the default account.
func TestAuthOff(t *testing.T) {
	srv := authTestServer(t, Options{AuthOff: true, Credentials: append(DefaultCredentials(),
		Credential{AccessKeyID: "team-key", AccessKeySecret: "team-secret", Account: "team"})})

	cases := []struct {
		name, keyID, secret string
		status              int
		code                string
		account             string
	}{
		{name: "no key", status: 200, account: DefaultAccount},
		{name: "unknown key", keyID: "who", status: 200, account: DefaultAccount},
		{name: "known key, unsigned", keyID: "team-key", status: 200, account: "team"},
		{name: "known key, wrong secret", keyID: "team-key", secret: "wrong", status: 200, account: "team"},
		{name: "denied key", keyID: "denied-id", status: 400, code: "NoPermission", account: "denied-id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.Engine().Reset("")
			status, body := authPush(t, srv, tc.keyID, tc.secret, authTestApp)
			if status != tc.status || (tc.code != "" && body["Code"] != tc.code) {
				t.Fatalf("push: %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			want := 1
			if tc.code != "" {
				want = 0
			}
			if got := authFiles(srv, tc.account); got != want {
				t.Errorf("account %s holds %d files, want %d (state %+v)", tc.account, got, want, srv.Engine().Snapshot(""))
			}
			// Reading is allowed to every key, and sees the same account.
			if got := authTotal(t, srv, tc.keyID, tc.secret, authTestApp); got != float64(want) {
				t.Errorf("describe sees %v pushes, want %d", got, want)
			}
		})
	}

	t.Run("V3 header names the key", func(t *testing.T) {
		srv.Engine().Reset("")
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?"+url.Values{"AppId": {authTestApp}, "Data": {authTestData}}.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("x-acs-action", "PushApplicationData")
		req.Header.Set("x-acs-version", "2017-11-10")
		req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=team-key,SignedHeaders=host,Signature=00")
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || authFiles(srv, "team") != 1 {
			t.Fatalf("status %d, state %+v", resp.StatusCode, srv.Engine().Snapshot(""))
		}
	})
}

// TestAuthOnRefusesUnsigned is the counterpart of TestAuthOff. Every refusal
// of an unsigned request says that --auth=off exists, in X-Ensmock-Detail and
// in the journal entry (issue 13 item 5); a signed request that fails does not.
func TestAuthOnRefusesUnsigned(t *testing.T) {
	srv := authTestServer(t, Options{})
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct{ keyID, code string }{
		{"", "MissingParameter"},
		{"testid", "MissingParameter"},
		{"nosuch-key", "InvalidAccessKeyId.NotFound"},
	} {
		q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"}, "AppId": {authTestApp}, "Data": {authTestData}}
		if tc.keyID != "" {
			q.Set("AccessKeyId", tc.keyID)
		}
		resp, err := client.Post(srv.URL()+"/?"+q.Encode(), "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode == 200 || body["Code"] != tc.code {
			t.Errorf("unsigned push with key %q: %d %v, want %s", tc.keyID, resp.StatusCode, body, tc.code)
		}
		if d := resp.Header.Get("X-Ensmock-Detail"); !strings.Contains(d, "--auth=off") || !strings.Contains(d, "not signed") {
			t.Errorf("key %q: X-Ensmock-Detail %q does not mention --auth=off", tc.keyID, d)
		}
		last := srv.Requests(control.Filter{Limit: 1})
		if len(last) != 1 || last[0].ErrorCode != tc.code || !strings.Contains(last[0].Detail, "--auth=off") {
			t.Errorf("key %q: journal %+v", tc.keyID, last)
		}
	}
	if n := authFiles(srv, ""); n != 0 {
		t.Errorf("unsigned pushes changed state: %d files", n)
	}
	// A signed request with the wrong secret is not told about --auth=off.
	if status, body := authPush(t, srv, "testid", "wrong", authTestApp); status != 400 || body["Code"] != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %d %v", status, body)
	}
	if last := srv.Requests(control.Filter{Limit: 1}); len(last) != 1 || strings.Contains(last[0].Detail, "--auth=off") {
		t.Errorf("a signed request's refusal mentions --auth=off: %+v", last)
	}
}

func TestCredentialAllows(t *testing.T) {
	a := newAuthenticator(false, []Credential{
		{AccessKeyID: "all"}, // no Allow: every ens action
		{AccessKeyID: "none", Allow: []string{}},
		{AccessKeyID: "describe", Allow: []string{"ens:Describe*"}},
		{AccessKeyID: "push", Allow: []string{"ens:PushApplicationData"}},
		{AccessKeyID: "other-product", Allow: []string{"ecs:*"}},
	}, time.Now, 0)
	for _, tc := range []struct {
		key, action string
		want        bool
	}{
		{"all", "PushApplicationData", true},
		{"all", "DescribeDataDownloadURL", true},
		{"none", "DescribeDataPushResult", false},
		{"describe", "DescribeDataPushResult", true},
		{"describe", "DescribeDataDownloadURL", true},
		{"describe", "PushApplicationData", false},
		{"push", "PushApplicationData", true},
		{"push", "PushApplicationDataX", false},
		{"push", "DescribeDataPushResult", false},
		{"other-product", "PushApplicationData", false},
	} {
		if got := a.creds[tc.key].allows(tc.action); got != tc.want {
			t.Errorf("%s allows %s = %v, want %v", tc.key, tc.action, got, tc.want)
		}
	}
	if got := a.creds["all"].Account; got != "all" {
		t.Errorf("default account %q, want the key id", got)
	}
}

// TestUnsupportedV3Algorithm: ACS3-HMAC-SM3 (which DARA can send) is refused as
// an invalid signature method, not as an incomplete signature.
func TestUnsupportedV3Algorithm(t *testing.T) {
	srv := authTestServer(t, Options{})
	for _, alg := range []string{"ACS3-HMAC-SM3", "ACS3-RSA-SHA256"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?AppId="+authTestApp, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		signature.SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", "testid", "testsecret", "n-"+alg, srv.Clock().Wall())
		req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), signature.V3Algorithm, alg, 1))
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body["Code"] != "InvalidSignatureMethod" {
			t.Errorf("%s: %d %v", alg, resp.StatusCode, body)
		}
	}
}

func TestParseTimestampReusesOnlyTheSameText(t *testing.T) {
	a := newAuthenticator(false, nil, time.Now, 0)
	for _, v := range []string{"2026-11-27T04:41:03Z", "2026-11-27T04:41:03Z", "2026-11-27T04:41:04Z", "2026-11-27T04:41:04", "", "2026-11-27T04:41:03Z", "2026-13-27T04:41:03Z"} {
		got, gotErr := a.parseTimestamp(v)
		want, wantErr := time.Parse(signature.TimestampFormat, v)
		if !got.Equal(want) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: %v, %v; want %v, %v", v, got, gotErr, want, wantErr)
		}
	}
}

// authV3Send sends a V3 request built by build (signed with the machine's time)
// to srv and returns the status, the error code and the detail header.
func authV3Send(t *testing.T, srv *Server, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	code, _ := body["Code"].(string)
	return resp.StatusCode, code, resp.Header.Get("X-Ensmock-Detail")
}

// TestV3ThirtyThousandSignedHeadersRefused (issue 18 row 3): a V3 request naming
// 30,000 signed headers, and carrying them, is refused at once as an
// incomplete signature that says why (signature.MaxV3SignedHeaders).
func TestV3ThirtyThousandSignedHeadersRefused(t *testing.T) {
	srv := authTestServer(t, Options{NoListener: true})
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?AppId="+authTestApp, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	signature.SignV3(req, nil, "DescribeDataPushResult", "2017-11-10", "testid", "testsecret", "many-headers", srv.Clock().Wall())
	a, err := signature.ParseV3Authorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30_000 {
		name := fmt.Sprintf("x-acs-h%d", i)
		req.Header[name] = []string{"v"}
		a.SignedHeaders = append(a.SignedHeaders, name)
	}
	req.Header.Set("Authorization", a.String())
	status, code, detail := authV3Send(t, srv, req)
	if status != 400 || code != "IncompleteSignature" || !strings.Contains(detail, "at most 100") {
		t.Fatalf("%d %s %q, want 400 IncompleteSignature naming the cap", status, code, detail)
	}
}

// TestV3BodyWithUnsignedContentType (issue 18 row 13): a V3 push whose form
// body's content-type is not signed is refused (IncompleteSignature, detail
// naming content-type) and changes nothing; signed, the same push works.
func TestV3BodyWithUnsignedContentType(t *testing.T) {
	srv := authTestServer(t, Options{NoListener: true})
	form := []byte(url.Values{"Data": {authTestData}}.Encode())
	build := func(nonce string, signCT bool) *http.Request {
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/?AppId="+authTestApp, strings.NewReader(string(form)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		if signCT {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		signature.SignV3(req, form, "PushApplicationData", "2017-11-10", "testid", "testsecret", nonce, srv.Clock().Wall())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	status, code, detail := authV3Send(t, srv, build("ct-1", false))
	if status != 400 || code != "IncompleteSignature" || !strings.Contains(detail, "content-type") {
		t.Fatalf("unsigned content-type: %d %s %q", status, code, detail)
	}
	if n := authFiles(srv, ""); n != 0 {
		t.Fatalf("a refused push changed state: %d files", n)
	}
	if status, code, detail := authV3Send(t, srv, build("ct-2", true)); status != 200 {
		t.Fatalf("signed content-type: %d %s %q", status, code, detail)
	}
	if n := authFiles(srv, ""); n != 1 {
		t.Fatalf("%d files after the signed push, want 1", n)
	}
}
