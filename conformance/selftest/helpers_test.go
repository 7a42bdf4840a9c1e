// Package selftest proves the conformance suite: all green against the mock,
// stable across random orders, and able to catch deliberately broken
// implementations. It is test-only; unlike package conformance it may import
// the mock.
package selftest

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ensmock/ensmock/conformance"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// newMock starts an in-process mock on a manual clock (time moves only when the
// suite advances it through the control plane).
func newMock(t testing.TB, opts mock.Options) *mock.Server {
	t.Helper()
	opts.NoListener, opts.CheckResponses = true, true
	if opts.Clock == nil {
		opts.Clock = clock.New(clock.Manual, 1, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// config is a run against the handler h (the mock, or a broken wrapper of it).
func config(h http.Handler, out *bytes.Buffer) conformance.Config {
	return conformance.Config{
		Endpoint:        "http://127.0.0.1",
		ControlURL:      "http://127.0.0.1",
		AccessKeyID:     "testid",
		AccessKeySecret: "testsecret",
		DeniedKeyID:     "denied-id",
		DeniedKeySecret: "denied-secret",
		Concurrency:     4,
		Output:          out,
		HTTPClient:      mock.HandlerClient(h),
	}
}

func run(t testing.TB, cfg conformance.Config) conformance.Result {
	t.Helper()
	res, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
