package ensmocktc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/ensmocktc"
)

// testClient is the tests' HTTP client: a regression fails in seconds, not hangs.
var testClient = &http.Client{Timeout: 30 * time.Second}

// TestDoesNotCompileTheMock: container users do not compile the mock (its
// engine, kin-openapi, ...): ensmocktc does not import package mock.
func TestDoesNotCompileTheMock(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/ensmock/ensmock/mock") || strings.Contains(p, "kin-openapi") {
			t.Errorf("ensmocktc depends on %s", p)
		}
	}
}

// TestWithCredentialsAllowForms: allow is left out when nil (every action)
// and written as [] when empty (none), so the mock reads what the caller meant.
func TestWithCredentialsAllowForms(t *testing.T) {
	req := customize(t, ensmocktc.WithCredentials(
		ensmocktc.Credential{AccessKeyID: "all", AccessKeySecret: "s"},
		ensmocktc.Credential{AccessKeyID: "none", AccessKeySecret: "s", Allow: []string{}},
		ensmocktc.Credential{AccessKeyID: "some", AccessKeySecret: "s", Account: "team", Allow: []string{"ens:Describe*"}, SecurityToken: "tok"}))
	b, err := io.ReadAll(req.Files[0].Reader)
	if err != nil {
		t.Fatal(err)
	}
	want := `credentials:
    - accessKeyId: all
      accessKeySecret: s
    - accessKeyId: none
      accessKeySecret: s
      allow: []
    - accessKeyId: some
      accessKeySecret: s
      account: team
      allow:
        - ens:Describe*
      securityToken: tok
`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
}

// TestRunWithoutTheImageFailsAtOnce: an image that is not on the engine is an
// immediate error that says to run `make image`; nothing is pulled.
func TestRunWithoutTheImageFailsAtOnce(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := ensmocktc.Run(ctx, "ensmock:no-such-tag-for-this-test")
	if err == nil || !errors.Is(err, ensmocktc.ErrImageNotFound) || !strings.Contains(err.Error(), "make image") {
		t.Fatalf("err %v, want ErrImageNotFound saying to run `make image`", err)
	}
}
