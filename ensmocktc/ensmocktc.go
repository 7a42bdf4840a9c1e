// Package ensmocktc runs the ensmock container image from Go tests with
// testcontainers-go, in the shape of a testcontainers-go module:
//
//	ctr, err := ensmocktc.Run(ctx, "ensmock:dev", ensmocktc.WithClock("manual"))
//	defer testcontainers.TerminateContainer(ctr)
//	endpoint, _ := ctr.Endpoint(ctx, "") // "127.0.0.1:PORT", the SDKs' Domain / Endpoint
//
// The container's port is published on the host's loopback only (127.0.0.1), and
// Run returns once /_ensmock/health answers 200. A container whose start-up fails
// is terminated before Run returns the error.
//
// Build the image with `make image` (scripts/image.sh); it is FROM scratch, so
// nothing is pulled.
package ensmocktc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"gopkg.in/yaml.v3"
)

const (
	// DefaultImage is the tag `make image` builds.
	DefaultImage = "ensmock:dev"
	// Port is the mock's port inside the container (the API, downloads and,
	// unless WithControlPort, the control plane).
	Port = "8080/tcp"
	// HealthPath answers 200 once the mock serves.
	HealthPath = "/_ensmock/health"

	// Paths inside the container of the files the options copy in.
	CredentialsPath = "/etc/ensmock/credentials.yaml"
	ScenarioPath    = "/etc/ensmock/scenario.yaml"
	TopologyPath    = "/etc/ensmock/topology.yaml"

	// StartupTimeout bounds the wait for /_ensmock/health.
	StartupTimeout = 30 * time.Second

	envControlAddr  = "ENSMOCK_CONTROL_ADDR"
	envControlToken = "ENSMOCK_CONTROL_TOKEN"
)

// loopback is where published ports listen on the Docker host: never on every interface.
var loopback = netip.MustParseAddr("127.0.0.1")

// Credential is one access key the mock accepts (an entry of the --credentials
// file). It is this package's own type, so that importing ensmocktc does not
// compile the mock itself.
type Credential struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	AccessKeySecret string `yaml:"accessKeySecret"`
	// Account owns the state; default: the AccessKeyId.
	Account string `yaml:"account,omitempty"`
	// Allow lists RAM-style action patterns ("ens:Describe*"). nil: every
	// action; an empty, non-nil list: none.
	Allow []string `yaml:"allow,omitempty"`
	// SecurityToken makes it an STS credential: every request must carry it.
	SecurityToken string `yaml:"securityToken,omitempty"`
}

// credentialEntry is how a Credential is written: allow is left out only when
// nil, and written as [] when empty (no permission).
type credentialEntry struct {
	AccessKeyID     string    `yaml:"accessKeyId"`
	AccessKeySecret string    `yaml:"accessKeySecret"`
	Account         string    `yaml:"account,omitempty"`
	Allow           *[]string `yaml:"allow,omitempty"`
	SecurityToken   string    `yaml:"securityToken,omitempty"`
}

// Container is a running ensmock container.
type Container struct {
	testcontainers.Container

	controlPort  string // "" when the control plane shares Port
	controlToken string
}

// Run starts img (e.g. DefaultImage) with the options and waits until it is healthy.
// Options are this package's With* functions and any testcontainers.ContainerCustomizer.
//
// On error no container is left running: a half-started one is terminated first.
//
// The image must be present on the Docker engine: Run never pulls (the image is
// built locally with `make image`), and fails at once when it is missing.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	if err := imagePresent(ctx, img); err != nil {
		return nil, err
	}
	c := &Container{}
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(Port),
		testcontainers.WithEnv(map[string]string{"ENSMOCK_ADDR": "0.0.0.0:8080"}),
		testcontainers.WithWaitStrategy(wait.ForHTTP(HealthPath).WithPort(Port).
			WithStartupTimeout(StartupTimeout).WithPollInterval(50 * time.Millisecond)),
	}
	moduleOpts = append(moduleOpts, opts...)
	// Last: publish every exposed port on the host's loopback only, and learn the
	// settings (control listener, token) from the final environment, whichever
	// option set them.
	moduleOpts = append(moduleOpts, testcontainers.CustomizeRequestOption(c.finish))

	ctr, err := testcontainers.Run(ctx, img, moduleOpts...)
	if ctr != nil {
		c.Container = ctr
	}
	if err != nil {
		if ctr != nil {
			// Use a fresh context: ctx may be the one that expired.
			tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if terr := ctr.Terminate(tctx); terr != nil {
				err = errors.Join(err, fmt.Errorf("terminate the half-started container: %w", terr))
			}
		}
		return nil, fmt.Errorf("ensmocktc: run %s: %w", img, err)
	}
	return c, nil
}

// imagePresent fails when the engine does not have img: testcontainers would
// otherwise try to pull it, and the ensmock image is never in a registry.
func imagePresent(ctx context.Context, img string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("ensmocktc: no Docker client: %w", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("ensmocktc: image %s is not on the Docker engine (run `make image` to build it; ensmocktc never pulls): %w", img, ErrImageNotFound)
		}
		return fmt.Errorf("ensmocktc: inspect image %s: %w", img, err)
	}
	return nil
}

// ErrImageNotFound: Run's image is not on the Docker engine (build it with `make image`).
var ErrImageNotFound = errors.New("image not found")

// finish runs after every option: it binds the exposed ports to 127.0.0.1 and
// records the control listener and token.
func (c *Container) finish(req *testcontainers.GenericContainerRequest) error {
	if addr := req.Env[envControlAddr]; addr != "" {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", envControlAddr, addr, err)
		}
		c.controlPort = port + "/tcp"
		if !containsPort(req.ExposedPorts, c.controlPort) {
			req.ExposedPorts = append(req.ExposedPorts, c.controlPort)
		}
	}
	c.controlToken = req.Env[envControlToken]

	ports := append([]string(nil), req.ExposedPorts...)
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = network.PortMap{}
		}
		for _, p := range ports {
			port, err := network.ParsePort(p)
			if err != nil || len(hc.PortBindings[port]) > 0 {
				continue // invalid (testcontainers reports it) or bound by the caller
			}
			hc.PortBindings[port] = []network.PortBinding{{HostIP: loopback, HostPort: ""}}
		}
	}).Customize(req)
}

func containsPort(ports []string, want string) bool {
	for _, p := range ports {
		if p == want || p+"/tcp" == want {
			return true
		}
	}
	return false
}

// Endpoint is the mock's API address: with proto "" it is host:port, the form the
// Alibaba Cloud SDKs take as request.Domain (SDK v1) or Config.Endpoint (SDK v2),
// with scheme http; with a proto it is proto://host:port.
//
// It keeps testcontainers.Container's signature (so a *Container still is one,
// e.g. for testcontainers.TerminateContainer), but always names the API port,
// not the lowest exposed one.
func (c *Container) Endpoint(ctx context.Context, proto string) (string, error) {
	return c.PortEndpoint(ctx, Port, proto)
}

// URL is the mock's base URL, http://host:port, without a trailing slash.
func (c *Container) URL(ctx context.Context) (string, error) {
	return c.Endpoint(ctx, "http")
}

// ControlURL is the base URL of the control plane: its endpoints are under
// ControlURL + "/_ensmock/". It is URL unless the control plane has its own
// listener (WithControlPort).
func (c *Container) ControlURL(ctx context.Context) (string, error) {
	if c.controlPort == "" {
		return c.URL(ctx)
	}
	return c.PortEndpoint(ctx, c.controlPort, "http")
}

// ControlToken is the control plane's bearer token ("" when unprotected).
func (c *Container) ControlToken() string { return c.controlToken }

// WithAuth turns signature checking on (the default) or off (--auth=off: unsigned
// requests are accepted).
func WithAuth(on bool) testcontainers.CustomizeRequestOption {
	v := "off"
	if on {
		v = "on"
	}
	return testcontainers.WithEnv(map[string]string{"ENSMOCK_AUTH": v})
}

// WithClock sets the clock mode: "real" (default) or "manual" (time moves only
// through the control plane).
func WithClock(mode string) testcontainers.CustomizeRequestOption {
	return envOption("ENSMOCK_CLOCK", mode, "real", "manual")
}

// WithApps sets the app mode: "auto" (default: any AppId exists on first use) or
// "strict" (only registered apps).
func WithApps(mode string) testcontainers.CustomizeRequestOption {
	return envOption("ENSMOCK_APPS", mode, "auto", "strict")
}

// WithSeed seeds transfer jitter and faults.
func WithSeed(seed uint64) testcontainers.CustomizeRequestOption {
	return testcontainers.WithEnv(map[string]string{"ENSMOCK_SEED": fmt.Sprint(seed)})
}

// WithCredentials replaces the default credentials (testid/testsecret and
// denied-id/denied-secret) with these: they are written as a --credentials file
// and copied into the container.
func WithCredentials(creds ...Credential) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if len(creds) == 0 {
			return errors.New("ensmocktc: WithCredentials: no credentials")
		}
		entries := make([]credentialEntry, len(creds))
		for i, c := range creds {
			entries[i] = credentialEntry{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, Account: c.Account, SecurityToken: c.SecurityToken}
			if c.Allow != nil {
				entries[i].Allow = &creds[i].Allow
			}
		}
		b, err := yaml.Marshal(struct {
			Credentials []credentialEntry `yaml:"credentials"`
		}{entries})
		if err != nil {
			return fmt.Errorf("ensmocktc: WithCredentials: %w", err)
		}
		return withFileBytes(req, "ENSMOCK_CREDENTIALS", CredentialsPath, b)
	}
}

// WithCredentialsFile copies a --credentials YAML file (a `credentials:` list) into
// the container and points ENSMOCK_CREDENTIALS at it.
func WithCredentialsFile(path string) testcontainers.CustomizeRequestOption {
	return fileOption("ENSMOCK_CREDENTIALS", CredentialsPath, path)
}

// WithScenario copies a --scenario file (faults, apps, clock... applied at start-up)
// into the container and points ENSMOCK_SCENARIO at it.
func WithScenario(path string) testcontainers.CustomizeRequestOption {
	return fileOption("ENSMOCK_SCENARIO", ScenarioPath, path)
}

// WithScenarioYAML is WithScenario with the file's content.
func WithScenarioYAML(content []byte) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		return withFileBytes(req, "ENSMOCK_SCENARIO", ScenarioPath, content)
	}
}

// WithTopology copies a --topology file (regions and file servers) into the
// container and points ENSMOCK_TOPOLOGY at it.
func WithTopology(path string) testcontainers.CustomizeRequestOption {
	return fileOption("ENSMOCK_TOPOLOGY", TopologyPath, path)
}

// WithControlToken protects the control plane with a bearer token
// (--control-token); ControlToken returns it.
func WithControlToken(token string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithEnv(map[string]string{envControlToken: token})
}

// WithControlPort serves the control plane on its own listener (--control-addr)
// at this container port, published like the API port; ControlURL points there.
func WithControlPort(port int) testcontainers.CustomizeRequestOption {
	return testcontainers.WithEnv(map[string]string{envControlAddr: fmt.Sprintf("0.0.0.0:%d", port)})
}

func envOption(key, value string, allowed ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		for _, a := range allowed {
			if value == a {
				return testcontainers.WithEnv(map[string]string{key: value}).Customize(req)
			}
		}
		return fmt.Errorf("ensmocktc: %s=%q: want one of %s", key, value, strings.Join(allowed, ", "))
	}
}

func fileOption(env, target, hostPath string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		// Read it now: a missing file is the caller's error, reported before any container exists.
		b, err := os.ReadFile(hostPath)
		if err != nil {
			return fmt.Errorf("ensmocktc: %s: %w", env, err)
		}
		return withFileBytes(req, env, target, b)
	}
}

// withFileBytes copies content to target in the container before it starts
// (a copy, not a bind mount, so a remote Docker engine works too) and sets env.
// The image runs as 65532, so the file is world-readable.
func withFileBytes(req *testcontainers.GenericContainerRequest, env, target string, content []byte) error {
	f := testcontainers.ContainerFile{
		Reader:            bytes.NewReader(content),
		ContainerFilePath: target,
		FileMode:          0o444,
	}
	if err := testcontainers.WithFiles(f).Customize(req); err != nil {
		return err
	}
	return testcontainers.WithEnv(map[string]string{env: target}).Customize(req)
}
