package mock

import (
	"net/http"
	"time"
)

// testClient is the client of the tests in package mock that reach a listener:
// with a Timeout, a regression fails the test instead of hanging it until the
// go test deadline. (Clients from Server.HTTPClient() answer in-process and
// need none.)
var testClient = &http.Client{Timeout: 30 * time.Second}
