package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/signature"
)

// serveOptions parses serve flags (and ENSMOCK_* variables) as `ensmock serve` does.
func serveOptions(args ...string) (mock.Options, error) {
	_, _, opts, err := parseServeArgs(args, io.Discard, io.Discard)
	return opts, err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const scenario = `faults:
  - id: wuxi-down
    match: {region: cn-wuxi-5}
    effect: region_down
`

func TestScenarioFlagLoadsFaultsAtStart(t *testing.T) {
	file := writeFile(t, "scenario.yaml", scenario)
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"--scenario", file, "--clock", "manual"}, nil},
		{"env", nil, map[string]string{"ENSMOCK_SCENARIO": file, "ENSMOCK_CLOCK": "manual"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			opts, err := serveOptions(append(c.args, "--auth", "off")...)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := mock.NewServer(opts)
			if err != nil {
				t.Fatal(err)
			}
			client := srv.HTTPClient()
			resp, err := client.Get("http://127.0.0.1/_ensmock/faults")
			if err != nil {
				t.Fatal(err)
			}
			var list struct{ Faults []struct{ ID, Effect string } }
			_ = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if len(list.Faults) != 1 || list.Faults[0].ID != "wuxi-down" || list.Faults[0].Effect != "region_down" {
				t.Fatalf("faults at start: %+v", list)
			}
			q := "/?Action=PushApplicationData&Version=2017-11-10&Format=JSON&AccessKeyId=testid&AppId=a" +
				"&Data=" + `[{"name":"n","version":"1","url":"http://127.0.0.1/n"}]` +
				"&PushStrategy=" + `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`
			req, _ := http.NewRequest("GET", "http://127.0.0.1"+strings.ReplaceAll(strings.ReplaceAll(q, `"`, "%22"), " ", "%20"), nil)
			resp, err = client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Contains(body, []byte(`"ResultCode":300`)) || !bytes.Contains(body, []byte("region cn-wuxi-5 is down (fault wuxi-down)")) {
				t.Fatalf("push: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestServeFlagErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "faults:\n  - effect: region_down\n    colour: red\n")
	invalid := writeFile(t, "invalid.yaml", "faults:\n  - effect: slow\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", bad}, "field colour not found"},
		{[]string{"--scenario", invalid}, "faults[0]: effect slow needs"},
		{[]string{"--scenario", "/nonexistent/scenario.yaml"}, "--scenario"},
		{[]string{"--source", "copy"}, "--source"},
		{[]string{"--fetch-max-bytes", "0"}, "--fetch-max-bytes"},
		{[]string{"--journal-size", "-1"}, "--journal-size"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		if code := run(append([]string{"serve"}, c.args...), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr.String(), c.want)
		}
	}
}

func TestServeFlagsBecomeOptions(t *testing.T) {
	t.Setenv("ENSMOCK_CONTROL_TOKEN", "tok")
	opts, err := serveOptions("--source", "fetch", "--fetch-max-bytes", "1024", "--journal-size", "10", "--control-addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Source != mock.SourceFetch || opts.FetchMaxBytes != 1024 || opts.JournalSize != 10 || !opts.ControlSeparate || opts.ControlToken != "tok" {
		t.Fatalf("%+v", opts)
	}
}

// --- credentials file and --auth ---------------------------------------------

const credYAML = `credentials:
  - accessKeyId: ci-key
    accessKeySecret: ci-secret
    account: team-a
  - accessKeyId: dev-key
    accessKeySecret: dev-secret
    account: team-a
    allow: ["ens:Describe*"]
  - accessKeyId: other-key
    accessKeySecret: other-secret
    account: team-b
    allow: ["ens:PushApplicationData", "ens:Describe*"]
  - accessKeyId: sts-key
    accessKeySecret: sts-secret
    securityToken: sts-token
`

func TestCredentialsFileParsedStrictly(t *testing.T) {
	opts, err := serveOptions("--credentials", writeFile(t, "credentials.yaml", credYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := []mock.Credential{
		{AccessKeyID: "ci-key", AccessKeySecret: "ci-secret", Account: "team-a"},
		{AccessKeyID: "dev-key", AccessKeySecret: "dev-secret", Account: "team-a", Allow: []string{"ens:Describe*"}},
		{AccessKeyID: "other-key", AccessKeySecret: "other-secret", Account: "team-b", Allow: []string{"ens:PushApplicationData", "ens:Describe*"}},
		{AccessKeyID: "sts-key", AccessKeySecret: "sts-secret", SecurityToken: "sts-token"},
	}
	if got, _ := json.Marshal(opts.Credentials); string(got) != mustJSON(t, want) {
		t.Errorf("credentials\n got %s\nwant %s", got, mustJSON(t, want))
	}

	for _, c := range []struct{ name, content, want string }{
		{"misspelt key", "credentials:\n  - accesKeyId: x\n    accessKeySecret: y\n", "field accesKeyId not found"},
		{"unknown key", "credentials:\n  - accessKeyId: x\n    accessKeySecret: y\n    role: admin\n", "field role not found"},
		{"unknown top-level key", "credentials: []\nusers: []\n", "field users not found"},
		{"allow not a list", "credentials:\n  - accessKeyId: x\n    accessKeySecret: y\n    allow: ens:*\n", "--credentials"},
		{"empty", "credentials: []\n", "no credentials listed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run([]string{"serve", "--credentials", writeFile(t, "credentials.yaml", c.content)}, io.Discard, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q, want 2 and %q", code, stderr.String(), c.want)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run([]string{"serve", "--credentials", "/nonexistent/credentials.yaml"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--credentials") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr.String())
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// credMock builds the mock the flags describe, reached in-process.
func credMock(t *testing.T, args ...string) *mock.Server {
	t.Helper()
	opts, err := serveOptions(append([]string{"--clock", "manual"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

var credNonce int

// credCall sends action to srv; signed V1 when secret is set, else unsigned
// with AccessKeyId=keyID (when set). It returns the status and JSON body.
func credCall(t *testing.T, srv *mock.Server, keyID, secret, token, action string, params url.Values) (int, map[string]any) {
	t.Helper()
	q := url.Values{"Action": {action}, "Version": {"2017-11-10"}, "Format": {"JSON"}}
	for k, v := range params {
		q[k] = v
	}
	if token != "" {
		q.Set("SecurityToken", token)
	}
	if secret != "" {
		credNonce++
		signature.SignV1(http.MethodPost, q, keyID, secret, fmt.Sprintf("cred-%d", credNonce), srv.Clock().Now())
	} else if keyID != "" {
		q.Set("AccessKeyId", keyID)
	}
	resp, err := srv.HTTPClient().Post("http://127.0.0.1/?"+q.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

const credApp = "e76f8985-7965-41fc-925b-9648bb6bf650"

func credPush(t *testing.T, srv *mock.Server, keyID, secret, token string) (int, map[string]any) {
	return credCall(t, srv, keyID, secret, token, "PushApplicationData", url.Values{"AppId": {credApp},
		"Data": {`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/a.tar.gz"}]`}})
}

func credTotal(t *testing.T, srv *mock.Server, keyID, secret string) any {
	t.Helper()
	status, body := credCall(t, srv, keyID, secret, "", "DescribeDataPushResult", url.Values{"AppId": {credApp}})
	if status != 200 {
		t.Fatalf("describe as %s: %d %v", keyID, status, body)
	}
	return body["TotalCount"]
}

// TestCredentialsFileAccounts: keys of one account share state; accounts are
// isolated; each key has its own permissions; an STS key needs its token.
func TestCredentialsFileAccounts(t *testing.T) {
	srv := credMock(t, "--credentials", writeFile(t, "credentials.yaml", credYAML))
	if status, body := credPush(t, srv, "ci-key", "ci-secret", ""); status != 200 {
		t.Fatalf("push: %d %v", status, body)
	}
	if got := credTotal(t, srv, "dev-key", "dev-secret"); got != float64(1) {
		t.Errorf("dev-key (same account) sees %v pushes, want 1", got)
	}
	if got := credTotal(t, srv, "other-key", "other-secret"); got != float64(0) {
		t.Errorf("other-key (team-b) sees %v pushes, want 0", got)
	}
	if status, body := credPush(t, srv, "dev-key", "dev-secret", ""); status != 400 || body["Code"] != "NoPermission" {
		t.Errorf("dev-key push: %d %v, want NoPermission", status, body)
	}
	if status, body := credPush(t, srv, "testid", "testsecret", ""); status != 404 || body["Code"] != "InvalidAccessKeyId.NotFound" {
		t.Errorf("the file replaces the default credentials; testid: %d %v", status, body)
	}
	for _, c := range []struct {
		token, code string
		status      int
	}{{"", "MissingParameter", 400}, {"forged", "InvalidSecurityToken.Malformed", 400}, {"sts-token", "", 200}} {
		status, body := credPush(t, srv, "sts-key", "sts-secret", c.token)
		if status != c.status || (c.code != "" && body["Code"] != c.code) {
			t.Errorf("sts-key with token %q: %d %v, want %d %s", c.token, status, body, c.status, c.code)
		}
	}
	files := map[string]int{}
	for _, a := range srv.Engine().Snapshot("").Accounts {
		for _, p := range a.Apps {
			files[a.Account] += len(p.Files)
		}
	}
	if files["team-a"] != 1 || files["team-b"] != 0 || files["sts-key"] != 1 || len(files) > 3 {
		t.Errorf("files per account %v, want team-a:1 sts-key:1", files)
	}
}

// TestAuthFlag: --auth / ENSMOCK_AUTH; with auth off unsigned requests pass, a
// known key keeps its account and permissions, an unknown one is "default".
func TestAuthFlag(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  string
		off  bool
	}{
		{"default", nil, "", false},
		{"flag off", []string{"--auth", "off"}, "", true},
		{"env off", nil, "off", true},
		{"flag wins over env", []string{"--auth", "on"}, "off", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("ENSMOCK_AUTH", c.env)
			}
			opts, err := serveOptions(c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if opts.AuthOff != c.off {
				t.Errorf("AuthOff = %v, want %v", opts.AuthOff, c.off)
			}
		})
	}
	if _, err := serveOptions("--auth", "maybe"); err == nil || !strings.Contains(err.Error(), "--auth") {
		t.Errorf("--auth maybe: %v", err)
	}

	srv := credMock(t, "--auth", "off", "--credentials", writeFile(t, "credentials.yaml", credYAML))
	for _, c := range []struct {
		keyID, account, code string
	}{
		{"", "default", ""},
		{"unknown-key", "default", ""},
		{"other-key", "team-b", ""},
		{"dev-key", "team-a", "NoPermission"},
	} {
		srv.Engine().Reset("")
		status, body := credPush(t, srv, c.keyID, "", "")
		if c.code != "" {
			if status != 400 || body["Code"] != c.code {
				t.Errorf("unsigned push as %q: %d %v, want %s", c.keyID, status, body, c.code)
			}
			continue
		}
		if status != 200 {
			t.Errorf("unsigned push as %q: %d %v", c.keyID, status, body)
		}
		if st := srv.Engine().Snapshot(c.account); len(st.Accounts) != 1 || len(st.Accounts[0].Apps) != 1 {
			t.Errorf("unsigned push as %q: state of %s is %+v", c.keyID, c.account, st)
		}
	}

	on := credMock(t)
	if status, body := credPush(t, on, "testid", "", ""); status != 400 {
		t.Errorf("unsigned push with auth on: %d %v", status, body)
	}
}

// TestExampleScenarioLoads guards examples/scenario.yaml, which the docs quote.
func TestExampleScenarioLoads(t *testing.T) {
	opts, err := serveOptions("--scenario", filepath.Join("..", "..", "examples", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Faults) != 8 {
		t.Fatalf("%d rules", len(opts.Faults))
	}
	if _, err := mock.NewServer(opts); err != nil {
		t.Fatal(err)
	}
}
