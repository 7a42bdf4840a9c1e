package ensmocktc_test

import (
	"io"
	"strings"
	"testing"

	"github.com/testcontainers/testcontainers-go"
	"gopkg.in/yaml.v3"

	"github.com/ensmock/ensmock/ensmocktc"
)

// These need no Docker: they check what each option puts in the request.

func customize(t *testing.T, opts ...testcontainers.ContainerCustomizer) testcontainers.GenericContainerRequest {
	t.Helper()
	var req testcontainers.GenericContainerRequest
	for _, o := range opts {
		if err := o.Customize(&req); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

func TestOptionsSetTheEnvironment(t *testing.T) {
	req := customize(t, ensmocktc.WithAuth(false), ensmocktc.WithClock("manual"), ensmocktc.WithApps("strict"),
		ensmocktc.WithSeed(42), ensmocktc.WithControlToken("tok"), ensmocktc.WithControlPort(9090))
	want := map[string]string{
		"ENSMOCK_AUTH": "off", "ENSMOCK_CLOCK": "manual", "ENSMOCK_APPS": "strict", "ENSMOCK_SEED": "42",
		"ENSMOCK_CONTROL_TOKEN": "tok", "ENSMOCK_CONTROL_ADDR": "0.0.0.0:9090",
	}
	for k, v := range want {
		if req.Env[k] != v {
			t.Errorf("%s=%q, want %q", k, req.Env[k], v)
		}
	}
	if on := customize(t, ensmocktc.WithAuth(true)); on.Env["ENSMOCK_AUTH"] != "on" {
		t.Errorf("WithAuth(true): %q", on.Env["ENSMOCK_AUTH"])
	}
}

func TestOptionsRejectUnknownModes(t *testing.T) {
	var req testcontainers.GenericContainerRequest
	for _, o := range []testcontainers.ContainerCustomizer{ensmocktc.WithClock("fast"), ensmocktc.WithApps("none")} {
		if err := o.Customize(&req); err == nil {
			t.Errorf("accepted a bad mode: %v", req.Env)
		}
	}
	if err := ensmocktc.WithScenario("/nonexistent/scenario.yaml").Customize(&req); err == nil {
		t.Error("WithScenario accepted a missing file")
	}
	if err := ensmocktc.WithCredentials().Customize(&req); err == nil {
		t.Error("WithCredentials accepted no credentials")
	}
}

func TestWithCredentialsWritesTheCredentialsFile(t *testing.T) {
	req := customize(t, ensmocktc.WithCredentials(
		ensmocktc.Credential{AccessKeyID: "a", AccessKeySecret: "b", Allow: []string{"ens:Describe*"}}))
	if req.Env["ENSMOCK_CREDENTIALS"] != ensmocktc.CredentialsPath || len(req.Files) != 1 {
		t.Fatalf("env %v files %v", req.Env, req.Files)
	}
	f := req.Files[0]
	if f.ContainerFilePath != ensmocktc.CredentialsPath || f.FileMode&0o004 == 0 {
		t.Fatalf("file %s mode %o: want %s, world-readable", f.ContainerFilePath, f.FileMode, ensmocktc.CredentialsPath)
	}
	b, err := io.ReadAll(f.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The shape `ensmock serve --credentials` reads (strictly: unknown keys fail).
	var file struct {
		Credentials []ensmocktc.Credential `yaml:"credentials"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	if len(file.Credentials) != 1 || file.Credentials[0].AccessKeyID != "a" || file.Credentials[0].AccessKeySecret != "b" {
		t.Fatalf("round trip: %+v", file.Credentials)
	}
}

func TestWithScenarioYAMLCopiesTheFile(t *testing.T) {
	req := customize(t, ensmocktc.WithScenarioYAML([]byte("faults: []\n")))
	if req.Env["ENSMOCK_SCENARIO"] != ensmocktc.ScenarioPath || len(req.Files) != 1 || req.Files[0].ContainerFilePath != ensmocktc.ScenarioPath {
		t.Fatalf("env %v files %+v", req.Env, req.Files)
	}
}
