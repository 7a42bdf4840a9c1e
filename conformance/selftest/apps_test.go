package selftest

import (
	"bytes"
	"testing"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
)

// TestAppsAndDistFeaturesAgainstMock runs the application, distribution and
// workflow features against the mock, V1 and V3.
func TestAppsAndDistFeaturesAgainstMock(t *testing.T) {
	for _, signing := range []string{"v1", "v3"} {
		t.Run(signing, func(t *testing.T) {
			srv := newMock(t, mock.Options{})
			var out bytes.Buffer
			cfg := config(srv.HTTPHandler(), &out)
			cfg.Signing = signing
			cfg.Tags = "@apps, @dist, @workflow"
			res := run(t, cfg)
			if !res.Passed {
				t.Fatalf("the application features fail against the mock:\n%s", out.String())
			}
			if n := res.Count(conformance.Passed); n < 25 {
				t.Errorf("only %d scenarios passed", n)
			}
		})
	}
}
