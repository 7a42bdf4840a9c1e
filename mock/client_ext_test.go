package mock_test

import (
	"net/http"
	"time"
)

// testTimeout bounds every HTTP exchange (and every wait for an event) of the
// tests in package mock_test that go over a listener: a regression fails the
// test instead of hanging it until the go test deadline.
const testTimeout = 30 * time.Second

// testClient is the shared client of those tests. (Clients from
// Server.HTTPClient() answer in-process and need no Timeout.)
var testClient = &http.Client{Timeout: testTimeout}
