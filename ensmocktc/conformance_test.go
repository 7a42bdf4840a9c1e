package ensmocktc_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/ensmocktc"
)

// TestConformanceAgainstContainer runs the whole conformance suite (@core,
// @extended, @control) against the image, over real HTTP through the published
// loopback port, as `ensmock conform --target` would against any endpoint.
func TestConformanceAgainstContainer(t *testing.T) {
	t.Parallel()
	ctr := run(t, ensmocktc.WithClock("manual"), ensmocktc.WithControlToken("conformance-token"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	endpoint, err := ctr.URL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	control, err := ctr.ControlURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := conformance.Run(ctx, conformance.Config{
		Endpoint:        endpoint,
		ControlURL:      control,
		ControlToken:    ctr.ControlToken(),
		AccessKeyID:     "testid",
		AccessKeySecret: "testsecret",
		DeniedKeyID:     "denied-id",
		DeniedKeySecret: "denied-secret",
		Concurrency:     4,
		Output:          &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res.Scenarios) == 0 {
		t.Fatalf("no scenario ran\n%s", out.String())
	}
	if !res.Passed {
		for _, s := range res.Scenarios {
			if s.Outcome != conformance.Passed {
				t.Errorf("%s: %s (%s) %s", s.Feature, s.Name, s.Outcome, s.Error)
			}
		}
		t.Fatalf("the conformance suite failed against the container (seed %d)\n%s", res.Seed, out.String())
	}
	t.Logf("%d scenarios passed against %s (seed %d)", len(res.Scenarios), endpoint, res.Seed)
}

// TestConformCommandFromImage runs `ensmock conform` from the image against
// another container, as docs/docker.md shows: the judge gets the host's network
// (it only makes requests, so it opens no port) and targets the published
// loopback port.
func TestConformCommandFromImage(t *testing.T) {
	t.Parallel()
	target := run(t, ensmocktc.WithClock("manual"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	endpoint, err := target.URL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	judge, err := testcontainers.Run(ctx, image,
		testcontainers.WithCmd("conform", "--target", endpoint, "--control", endpoint, "--concurrency", "4"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.NetworkMode = "host" }),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(4*time.Minute)))
	t.Cleanup(func() {
		if err := testcontainers.TerminateContainer(judge); err != nil {
			t.Errorf("terminate the judge: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	state, err := judge.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := judge.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(logs)
	logs.Close()
	if state.ExitCode != 0 {
		t.Fatalf("ensmock conform exited %d:\n%s", state.ExitCode, out)
	}
	t.Logf("ensmock conform from the image: exit 0\n%s", lastLines(string(out), 5))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
