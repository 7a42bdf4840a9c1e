package ensmocktc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/ensmock/ensmock/ensmocktc"
)

const appID = "e76f8985-7965-41fc-925b-9648bb6bf650"

// run starts the image under test and terminates it when the test ends.
func run(t *testing.T, opts ...testcontainers.ContainerCustomizer) *ensmocktc.Container {
	t.Helper()
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr, err := ensmocktc.Run(ctx, image, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			t.Errorf("terminate: %v", err)
		}
	})
	return ctr
}

func endpoint(t *testing.T, ctr *ensmocktc.Container) string {
	t.Helper()
	ep, err := ctr.Endpoint(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// sdk is the official SDK v1 client for ENS, signing with the key pair.
func sdk(t *testing.T, id, secret string) *ens.Client {
	t.Helper()
	c, err := ens.NewClientWithAccessKey("cn-hangzhou", id, secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	// Every request goes to the container: never to the SDK's location service
	// or a real endpoint.
	c.SetTransport(loopbackOnly{t})
	return c
}

type loopbackOnly struct{ t *testing.T }

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Host, "127.0.0.1:") || r.URL.Scheme != "http" {
		l.t.Errorf("the SDK called %s: want only http://127.0.0.1:PORT (the container)", r.URL)
		return nil, fmt.Errorf("refused: %s is not the container", r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func dataJSON(names ...string) string {
	var items []string
	for _, n := range names {
		items = append(items, fmt.Sprintf(`{"name":%q,"version":"1.0","size":1024,"archiveType":"tar.gz","md5":"","url":"http://example.invalid/%s.tar.gz","timeout":600}`, n, n))
	}
	return "[" + strings.Join(items, ",") + "]"
}

func push(t *testing.T, c *ens.Client, ep, data, strategy string) []ens.PushResult {
	t.Helper()
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = ep, "http"
	req.AppId = appID
	req.Data = data
	req.PushStrategy = strategy
	resp, err := c.PushApplicationData(req)
	if err != nil {
		t.Fatalf("PushApplicationData: %v", err)
	}
	if resp.RequestId == "" {
		t.Fatalf("no RequestId: %s", resp.GetHttpContentString())
	}
	return resp.PushResults.PushResult
}

func codes(rs []ens.PushResult) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprint(r.ResultCode))
	}
	return strings.Join(out, " ")
}

// TestSDKPushAndDescribeThroughContainer drives the container with the official
// SDK, signatures on: push, push again, describe, and the two refusals (a wrong
// secret, a key whose policy lacks the action).
func TestSDKPushAndDescribeThroughContainer(t *testing.T) {
	t.Parallel()
	ctr := run(t, ensmocktc.WithClock("manual"))
	ep := endpoint(t, ctr)
	if !strings.HasPrefix(ep, "127.0.0.1:") {
		t.Fatalf("Endpoint %q: want 127.0.0.1:PORT", ep)
	}
	c := sdk(t, "testid", "testsecret")
	a, b := uniq("sdk-a"), uniq("sdk-b")

	if got := codes(push(t, c, ep, dataJSON(a, b), "")); got != "0 0" {
		t.Fatalf("first push: ResultCodes %s, want 0 0", got)
	}
	// The manual clock does not move: the replicas are still PUSHING.
	if got := codes(push(t, c, ep, dataJSON(a, b), "")); got != "200 200" {
		t.Fatalf("second push: ResultCodes %s, want 200 200", got)
	}

	req := ens.CreateDescribeDataPushResultRequest()
	req.Domain, req.Scheme = ep, "http"
	req.AppId = appID
	req.DataNames = a
	req.PageNumber = "1"
	req.PageSize = "10"
	resp, err := c.DescribeDataPushResult(req)
	if err != nil {
		t.Fatalf("DescribeDataPushResult: %v", err)
	}
	rs := resp.PushResults.PushResult
	if resp.TotalCount != 1 || len(rs) != 1 || rs[0].Name != a || rs[0].Version != "1.0" {
		t.Fatalf("describe %s: %s", a, resp.GetHttpContentString())
	}
	stats := rs[0].StatusStatS.StatusStat
	if len(stats) == 0 || stats[0].Status != "PUSHING" {
		t.Fatalf("describe %s: want every replica PUSHING: %s", a, resp.GetHttpContentString())
	}

	// Signatures are checked: a wrong secret is refused.
	_, err = sdk(t, "testid", "wrong-secret").PushApplicationData(pushReq(ep, dataJSON(uniq("bad"))))
	if code := errorCode(err); code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: error code %q (%v), want SignatureDoesNotMatch", code, err)
	}
	// denied-id may describe but not push.
	_, err = sdk(t, "denied-id", "denied-secret").PushApplicationData(pushReq(ep, dataJSON(uniq("denied"))))
	if code := errorCode(err); code != "NoPermission" {
		t.Fatalf("denied-id: error code %q (%v), want NoPermission", code, err)
	}

	// The journal verifies what was called: two pushes carried a's name, one
	// push was refused for permission.
	ctx := context.Background()
	for f, want := range map[*ensmocktc.RequestFilter]int{
		{Action: "PushApplicationData", Status: 200, Params: map[string]string{"AppId": appID, "Data": dataJSON(a, b)}}: 2,
		{Action: "PushApplicationData", Code: "NoPermission"}:                                                           1,
		{Action: "DescribeDataPushResult", Params: map[string]string{"DataNames": a}}:                                   1,
	} {
		if n, err := ctr.CountRequests(ctx, *f); err != nil || n != want {
			t.Errorf("CountRequests(%+v) = %d, %v; want %d", *f, n, err, want)
		}
	}
}

func pushReq(ep, data string) *ens.PushApplicationDataRequest {
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = ep, "http"
	req.AppId = appID
	req.Data = data
	return req
}

func errorCode(err error) string {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return ""
}

// TestWithCredentials replaces the key pairs: the new one works, testid no longer does.
func TestWithCredentials(t *testing.T) {
	t.Parallel()
	ctr := run(t, ensmocktc.WithCredentials(ensmocktc.Credential{AccessKeyID: "ci-id", AccessKeySecret: "ci-secret"}))
	ep := endpoint(t, ctr)
	if got := codes(push(t, sdk(t, "ci-id", "ci-secret"), ep, dataJSON(uniq("cred")), "")); got != "0" {
		t.Fatalf("ResultCodes %s, want 0", got)
	}
	_, err := sdk(t, "testid", "testsecret").PushApplicationData(pushReq(ep, dataJSON(uniq("old"))))
	if code := errorCode(err); !strings.HasPrefix(code, "InvalidAccessKeyId") {
		t.Fatalf("testid after WithCredentials: error code %q (%v), want InvalidAccessKeyId*", code, err)
	}
}

// TestWithAuthOffAndURL: unsigned plain HTTP works with --auth=off; URL and
// ControlURL answer the health endpoint.
func TestWithAuthOffAndURL(t *testing.T) {
	t.Parallel()
	ctr := run(t, ensmocktc.WithAuth(false))
	ctx := context.Background()
	base, err := ctr.URL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	control, err := ctr.ControlURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{control + ensmocktc.HealthPath,
		base + "/?Action=PushApplicationData&Version=2017-11-10&Format=JSON&AppId=" + appID + "&Data=" + url.QueryEscape(dataJSON(uniq("unsigned")))} {
		resp, err := testClient.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", u, resp.Status, body)
		}
	}
}

// TestPortsPublishedOnLoopbackOnly guards the rule that nothing listens beyond 127.0.0.1.
func TestPortsPublishedOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	ctr := run(t)
	info, err := ctr.Inspect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.NetworkSettings.Ports) == 0 {
		t.Fatal("no published ports")
	}
	want := netip.MustParseAddr("127.0.0.1")
	for port, bindings := range info.NetworkSettings.Ports {
		if len(bindings) == 0 {
			t.Errorf("%s: not published", port)
		}
		for _, b := range bindings {
			if b.HostIP != want {
				t.Errorf("%s published on %s:%s, want 127.0.0.1 only", port, b.HostIP, b.HostPort)
			}
		}
	}
	if u := info.Config.User; u == "" || u == "0" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0:") {
		t.Errorf("container user %q: want non-root", u)
	}
}

// TestRunTerminatesHalfStartedContainer: a container that never gets healthy
// (the mock exits on a bad flag) is removed before Run returns its error.
func TestRunTerminatesHalfStartedContainer(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	label := uniq("halfstarted")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctr, err := ensmocktc.Run(ctx, image,
		testcontainers.WithEnv(map[string]string{"ENSMOCK_AUTH": "bogus"}),
		testcontainers.WithLabels(map[string]string{"ensmocktc.test": label}))
	if err == nil {
		_ = testcontainers.TerminateContainer(ctr)
		t.Fatal("Run succeeded with ENSMOCK_AUTH=bogus")
	}
	if ctr != nil {
		t.Errorf("Run returned a container with its error")
	}
	cli, cerr := testcontainers.NewDockerClientWithOpts(ctx)
	if cerr != nil {
		t.Fatal(cerr)
	}
	defer cli.Close()
	list, lerr := cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", "ensmocktc.test="+label)})
	if lerr != nil {
		t.Fatal(lerr)
	}
	if n := len(list.Items); n != 0 {
		t.Fatalf("%d container(s) left behind after a failed Run (%v)", n, err)
	}
}

// TestScenarioFileTakesEffect: a scenario file copied into the container is
// applied at start-up: region cn-wuxi-5 is down, so a push there answers 300.
func TestScenarioFileTakesEffect(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	scenario := filepath.Join(t.TempDir(), "scenario.yaml")
	err := os.WriteFile(scenario, []byte(`# cn-wuxi-5 is down for everyone
faults:
  - match: {region: "cn-wuxi-5"}
    effect: region_down
`), 0o600) // the option copies it world-readable: the image runs as 65532
	if err != nil {
		t.Fatal(err)
	}
	ctr := run(t, ensmocktc.WithScenario(scenario))
	ep := endpoint(t, ctr)
	c := sdk(t, "testid", "testsecret")
	down := `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`
	rs := push(t, c, ep, dataJSON(uniq("down")), down)
	if len(rs) != 1 || rs[0].ResultCode != 300 || rs[0].ResultDescrip == "" {
		t.Fatalf("push to the downed region: %+v, want ResultCode 300 with a description", rs)
	}
	up := `{"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":["cn-wuxi-5"]}}`
	if got := codes(push(t, c, ep, dataJSON(uniq("up")), up)); got != "0" {
		t.Fatalf("push elsewhere: ResultCode %s, want 0", got)
	}
}

// TestControlPortAndToken: the control plane on its own listener, published on
// loopback too, protected by a token; health stays open on the API port.
func TestControlPortAndToken(t *testing.T) {
	t.Parallel()
	ctr := run(t, ensmocktc.WithControlPort(8081), ensmocktc.WithControlToken("s3cret"), ensmocktc.WithClock("manual"))
	ctx := context.Background()
	base, err := ctr.URL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	control, err := ctr.ControlURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if control == base || !strings.HasPrefix(control, "http://127.0.0.1:") {
		t.Fatalf("ControlURL %q (URL %q): want its own loopback port", control, base)
	}
	if ctr.ControlToken() != "s3cret" {
		t.Fatalf("ControlToken %q", ctr.ControlToken())
	}
	get := func(u, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(base+ensmocktc.HealthPath, ""); got != 200 {
		t.Errorf("health on the API port: %d", got)
	}
	if got := get(control+"/_ensmock/clock", ctr.ControlToken()); got != 200 {
		t.Errorf("clock with the token: %d", got)
	}
	if got := get(control+"/_ensmock/clock", ""); got != 401 && got != 403 {
		t.Errorf("clock without the token: %d, want 401 or 403", got)
	}
}

// TestFetchModeInTheImage: fetch mode starts in the FROM scratch image (it
// needs a writable temporary folder, which a scratch image lacks unless the
// Dockerfile makes one) and runs its download path: a source nobody serves
// answers ResultCode 300 with the reason.
func TestFetchModeInTheImage(t *testing.T) {
	t.Parallel()
	ctr := run(t, testcontainers.WithEnv(map[string]string{"ENSMOCK_SOURCE": "fetch"}))
	ep := endpoint(t, ctr)
	name := uniq("fetch")
	data := fmt.Sprintf(`[{"name":%q,"version":"1.0","size":1024,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1:1/%s.tar.gz","timeout":5}]`, name, name)
	rs := push(t, sdk(t, "testid", "testsecret"), ep, data, "")
	if len(rs) != 1 || rs[0].ResultCode != 300 || !strings.Contains(rs[0].ResultDescrip, "unreachable") {
		t.Fatalf("a push from a source nobody serves: %+v, want ResultCode 300 (source unreachable)", rs)
	}
}
