package mock

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// Every operation of the embedded spec has a handler, and every handler an
// operation (NewServer refuses a spec operation without a handler).
func TestEveryHandlerHasAnOperation(t *testing.T) {
	s, err := NewServer(Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	handlers := slices.Sorted(maps.Keys(s.actionTable()))
	if got, want := fmt.Sprint(handlers), fmt.Sprint(s.validator.Actions()); got != want {
		t.Fatalf("handlers %s, spec operations %s", got, want)
	}
}
