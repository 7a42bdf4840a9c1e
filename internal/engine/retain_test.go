package engine

import (
	"context"
	"strings"
	"testing"
	"unsafe"
)

// An AppId the engine keeps is its own copy: a request's parameters are
// slices of the whole query or body (url.ParseQuery), and keeping one as a map
// key would keep that whole request alive as long as the app exists.
func TestAppIDIsKeptAsACopy(t *testing.T) {
	e, _ := newEngine(t, nil)
	request := "AppId=" + strings.Repeat("x", 1<<20) // the request the id was cut from
	id := request[6:16]
	if _, err := e.Push(context.Background(), "acct", id, []DataFile{dataFile("f", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(request)))
	end := start + uintptr(len(request))
	a := e.account("acct", false)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.apps {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(k))); p >= start && p < end {
			t.Fatalf("the app %q is keyed by a slice of the request", k)
		}
	}
}
