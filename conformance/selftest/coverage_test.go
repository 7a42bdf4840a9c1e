package selftest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
)

// TestCoreCoversTheDocumentedSurface runs @core against the mock, signed with
// V1 and with V3, prints what the scenarios actually sent and received
// (parameter × method × placement × signature, response field, error code →
// scenarios), and fails when an entry of the documented surface has no @core
// scenario.
func TestCoreCoversTheDocumentedSurface(t *testing.T) {
	srv := newMock(t, mock.Options{Clock: realClock(1000), TimestampClock: mock.TimestampWall})
	client := mock.HandlerClient(srv.HTTPHandler())
	cov := conformance.RecordCoverage(client)
	for _, signing := range []string{"v1", "v3"} {
		var out bytes.Buffer
		cfg := config(srv.HTTPHandler(), &out)
		cfg.HTTPClient, cfg.ControlURL, cfg.Tags, cfg.Signing = client, "", "@core", signing
		cfg.PollTimeout = 30 * time.Second
		if res := run(t, cfg); !res.Passed {
			t.Fatalf("@core fails against the mock (%s):\n%s", signing, out.String())
		}
	}
	var table bytes.Buffer
	if err := cov.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("coverage of the documented surface by @core:\n%s", table.String())
	missing, err := cov.Missing()
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("no @core scenario covers:\n  %s", strings.Join(missing, "\n  "))
	}
	if doc, _ := conformance.Documented(); len(doc) < 100 {
		t.Errorf("the documented surface has only %d entries", len(doc))
	}
}
