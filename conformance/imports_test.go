package conformance

import (
	"os/exec"
	"strings"
	"testing"
)

// TestJudgeSharesNoCodeWithTheMock: the conformance suite must not import the
// mock (nor anything under it), directly or through another package, in its
// code or its own tests; otherwise a bug could agree with itself. Shared on
// purpose: the signature package, pinned by published vectors, and the spec
// package, the documented surface every answer is judged against.
func TestJudgeSharesNoCodeWithTheMock(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}",
		"github.com/ensmock/ensmock/conformance", "github.com/ensmock/ensmock/features").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %d dependencies: %q", len(deps), deps)
	}
	sawSignature := false
	for _, d := range deps {
		if d == "github.com/ensmock/ensmock/mock" || strings.HasPrefix(d, "github.com/ensmock/ensmock/mock/") {
			t.Errorf("the conformance suite depends on %s", d)
		}
		sawSignature = sawSignature || d == "github.com/ensmock/ensmock/signature"
	}
	if !sawSignature {
		t.Errorf("the conformance suite should sign with github.com/ensmock/ensmock/signature; deps: %q", deps)
	}
}
