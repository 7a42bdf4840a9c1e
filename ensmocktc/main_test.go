package ensmocktc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The tests here need a Docker engine and the ensmock image.
//
//   - DOCKER_HOST names the engine; when it is unset and /var/run/docker.sock is
//     absent, scripts/dockerd.sh's private engine is used if it runs.
//   - ENSMOCK_IMAGE names an image to test as it is (CI: ensmock:dev, built just
//     before by scripts/image.sh). Unset, ensmock:dev is (re)built from this tree
//     with scripts/image.sh (FROM scratch: nothing is pulled).
//   - With no engine the tests skip, saying why; with ENSMOCK_REQUIRE_DOCKER=1 they fail.
//   - TESTCONTAINERS_RYUK_DISABLED defaults to true here (the reaper image cannot be
//     pulled offline; every test terminates its own containers), and
//     TESTCONTAINERS_HOST_OVERRIDE to 127.0.0.1 for a local engine.

var (
	dockerErr error  // why Docker cannot be used, nil when it can
	image     string // the image under test
)

const privateDockerSock = "/tmp/ensmock-dockerd/docker.sock" // scripts/dockerd.sh

func TestMain(m *testing.M) {
	dockerErr = setupDocker()
	os.Exit(m.Run())
}

func setupDocker() error {
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			if _, err := os.Stat(privateDockerSock); err == nil {
				os.Setenv("DOCKER_HOST", "unix://"+privateDockerSock)
			}
		}
	}
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	if h := os.Getenv("DOCKER_HOST"); h == "" || strings.HasPrefix(h, "unix://") {
		setDefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}

	image = os.Getenv("ENSMOCK_IMAGE")
	explicit := image != ""
	if !explicit {
		image = "ensmock:dev"
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("no Docker client (DOCKER_HOST=%q): %w", os.Getenv("DOCKER_HOST"), err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no Docker engine answers (DOCKER_HOST=%q; start one with scripts/dockerd.sh start): %w",
			os.Getenv("DOCKER_HOST"), err)
	}
	if explicit {
		// Use the tag as it is (CI builds it first with scripts/image.sh); never
		// build or pull a tag someone named.
		return nil
	}
	// The default tag is rebuilt from this source tree (a few seconds, go build is
	// cached), so a stale ensmock:dev never tests old code.
	return buildImage(image)
}

// buildImage runs scripts/image.sh (static binary + FROM scratch) without its smoke test.
func buildImage(tag string) error {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "scripts", "image.sh")
	fmt.Fprintf(os.Stderr, "ensmocktc: building %s from this tree with %s (set ENSMOCK_IMAGE to use an image as it is)\n", tag, script)
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "IMAGE="+tag, "SMOKE=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return errors.Join(errImageBuild, fmt.Errorf("scripts/image.sh: %w", err))
	}
	return nil
}

var errImageBuild = errors.New("building the ensmock image failed")

func setDefault(key, value string) {
	if _, ok := os.LookupEnv(key); !ok {
		os.Setenv(key, value)
	}
}

// requireDocker skips the test when no Docker engine can be used, or fails it
// when ENSMOCK_REQUIRE_DOCKER=1 (CI) or when the engine runs but the image build failed.
func requireDocker(tb testing.TB) {
	tb.Helper()
	if dockerErr == nil {
		return
	}
	if os.Getenv("ENSMOCK_REQUIRE_DOCKER") == "1" || errors.Is(dockerErr, errImageBuild) {
		tb.Fatalf("Docker is required: %v", dockerErr)
	}
	tb.Skipf("skipping: %v (set ENSMOCK_REQUIRE_DOCKER=1 to make this a failure)", dockerErr)
}
