// Package js runs the official Alibaba Cloud Node clients (@alicloud/pop-core,
// @alicloud/openapi-client, pinned in package-lock.json) against a mock on a
// loopback port. `make test-js` installs them (npm ci) and runs this test;
// without node or node_modules it is skipped with the reason, unless
// ENSMOCK_REQUIRE_NODE=1 (set by `make test-js` and .ci/run), which makes that
// a failure.
package js

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// requireNode returns the node binary, or skips (fails under ENSMOCK_REQUIRE_NODE=1)
// when node or the installed clients are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	why := ""
	switch {
	case err != nil:
		why = "node is not installed (apt-get install nodejs npm)"
	default:
		if _, err := os.Stat("node_modules/@alicloud/pop-core/package.json"); err != nil {
			why = "the Node clients are not installed (npm ci in sdktests/js, or make test-js)"
		}
	}
	if why != "" {
		if os.Getenv("ENSMOCK_REQUIRE_NODE") == "1" {
			t.Fatalf("ENSMOCK_REQUIRE_NODE=1 but %s", why)
		}
		t.Skipf("skipping the Node client tests: %s", why)
	}
	return node
}

// startMock is a mock on 127.0.0.1 with auth on (default credentials), a
// manual clock at the machine's time and the default timestamp window.
func startMock(t *testing.T) *mock.Server {
	t.Helper()
	srv, err := mock.NewServer(mock.Options{Clock: clock.New(clock.Manual, 0, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.Endpoint(), "127.0.0.1:") {
		t.Fatalf("endpoint %q is not loopback", srv.Endpoint())
	}
	return srv
}

// runNode runs node with args in this directory, the mock's URL in
// ENS_ENDPOINT and no proxy settings, and returns its combined output.
func runNode(t *testing.T, node string, srv *mock.Server, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NODE_OPTIONS":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "ENS_ENDPOINT="+srv.URL(), "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestJSClients runs ensmock.test.js: push, repeat, describe, download URL,
// NoPermission, SignatureDoesNotMatch and InvalidParameter.Data through each
// client, after the manual clock was advanced by three days.
func TestJSClients(t *testing.T) {
	node := requireNode(t)
	srv := startMock(t)
	out := runNode(t, node, srv, "--test", "--test-reporter=tap", "ensmock.test.js")
	t.Log(out)
	count := func(name string) int {
		m := regexp.MustCompile(`(?m)^# ` + name + ` (\d+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q line in the TAP output", name)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	// 1 clock test + 3 clients × (1 + 7 subtests).
	if pass, fail := count("pass"), count("fail"); fail != 0 || pass != 1+3*8 {
		t.Fatalf("node --test: %d passed, %d failed; want %d passed", pass, fail, 1+3*8)
	}
	// The errors the clients parsed came from this mock.
	for _, code := range []string{"NoPermission", "SignatureDoesNotMatch", "InvalidParameter.Data"} {
		if got := srv.Requests(control.Filter{Code: code}); len(got) != 3 {
			t.Errorf("the journal holds %d %s refusals, want one per client (3)", len(got), code)
		}
	}
	if got := srv.Requests(control.Filter{Action: "DescribeDataDownloadURL", Status: 200}); len(got) != 3 {
		t.Errorf("%d successful DescribeDataDownloadURL calls, want 3", len(got))
	}
}

// TestREADMEExample runs the README's JavaScript example, which must appear in
// README.md verbatim, and checks what it prints.
func TestREADMEExample(t *testing.T) {
	snippet, err := os.ReadFile("readme-example.js")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, append(append([]byte("```js\n"), snippet...), "```\n"...)) {
		t.Fatal("README.md does not contain sdktests/js/readme-example.js verbatim in a ```js block")
	}
	node := requireNode(t)
	srv := startMock(t)
	out := runNode(t, node, srv, "readme-example.js")
	want := "app01 1.0: ResultCode 0\nrefused: InvalidParameter.Data\n"
	if out != want {
		t.Fatalf("the example printed %q, want %q", out, want)
	}
}
