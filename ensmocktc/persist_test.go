package ensmocktc_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/ensmock/ensmock/ensmocktc"
)

// stateOf is GET /_ensmock/state?account=testid of a container.
func stateOf(t *testing.T, ctr *ensmocktc.Container) string {
	t.Helper()
	base, err := ctr.ControlURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(base + "/_ensmock/state?account=testid")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("state: %s %s", resp.Status, b)
	}
	return string(b)
}

// TestDataVolumeSurvivesRestart: `docker run -v VOLUME:/data -e
// ENSMOCK_DATA_DIR=/data ensmock:dev`, push, restart the container, and the
// push is still there; a new container on the same volume finds it too.
func TestDataVolumeSurvivesRestart(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	volume := uniq("ensmock-data")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			t.Errorf("docker client: %v", err)
			return
		}
		defer cli.Close()
		if _, err := cli.VolumeRemove(ctx, volume, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove volume %s: %v", volume, err)
		}
	})
	ctr := run(t, ensmocktc.WithDataVolume(volume), ensmocktc.WithClock("manual"))
	name := uniq("kept")
	if got := codes(push(t, sdk(t, "testid", "testsecret"), endpoint(t, ctr), dataJSON(name), "")); got != "0" {
		t.Fatalf("push: ResultCode %s, want 0", got)
	}
	before := stateOf(t, ctr)
	if !strings.Contains(before, name) {
		t.Fatalf("the push is not in the state: %s", before)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stop := 10 * time.Second
	if err := ctr.Stop(ctx, &stop); err != nil {
		t.Fatal(err)
	}
	if err := ctr.Start(ctx); err != nil { // waits for health again
		t.Fatal(err)
	}
	if after := stateOf(t, ctr); after != before {
		t.Fatalf("after a restart the state differs:\nbefore %s\nafter  %s", before, after)
	}
	// Described through the SDK: the same file, still known (a second push answers 200 or 100, not 0).
	if got := codes(push(t, sdk(t, "testid", "testsecret"), endpoint(t, ctr), dataJSON(name), "")); got == "0" {
		t.Fatalf("push after restart: ResultCode 0: the file was forgotten")
	}

	// A new container on the same volume (the first one removed first: one
	// process per data dir).
	if err := testcontainers.TerminateContainer(ctr); err != nil {
		t.Fatal(err)
	}
	again := run(t, ensmocktc.WithDataVolume(volume))
	if s := stateOf(t, again); !strings.Contains(s, name) {
		t.Fatalf("a new container on the volume lacks the push: %s", s)
	}
}

// TestWithStateSeeds: a seed file given with WithStateYAML is the state the
// container starts with.
func TestWithStateSeeds(t *testing.T) {
	t.Parallel()
	seed := []byte(`accounts:
  - account: testid
    apps:
      - appId: ` + appID + `
        files:
          - {name: seeded, version: "1.0", replicas: [{region: cn-wuxi-5, status: SUCCESS}]}
`)
	ctr := run(t, ensmocktc.WithStateYAML(seed), ensmocktc.WithClock("manual"))
	s := stateOf(t, ctr)
	if !strings.Contains(s, `"name":"seeded"`) || !strings.Contains(s, `"status":"SUCCESS"`) {
		t.Fatalf("the seeded file is missing: %s", s)
	}
	// The seeded file is known to the API: pushing it again to its region answers 100.
	wuxi := `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["cn-wuxi-5"]}}`
	data := `[{"name":"seeded","version":"1.0","size":100,"url":"http://127.0.0.1/seeded"}]`
	if got := codes(push(t, sdk(t, "testid", "testsecret"), endpoint(t, ctr), data, wuxi)); got != "100" {
		t.Fatalf("push of the seeded file: ResultCode %s, want 100", got)
	}
}
