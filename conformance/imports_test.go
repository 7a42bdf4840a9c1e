package conformance

import (
	"os/exec"
	"strings"
	"testing"
)

// TestJudgeSharesNoCodeWithTheMock: the conformance suite must not import the
// mock (nor anything under it), directly or through another package, in its
// code or its own tests; otherwise a bug could agree with itself. Only the
// signature package, pinned by published vectors, is shared on purpose.
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
		if d == "github.com/ensmock/ensmock/spec" {
			t.Errorf("the conformance suite depends on the mock's spec package")
		}
		sawSignature = sawSignature || d == "github.com/ensmock/ensmock/signature"
	}
	if !sawSignature {
		t.Errorf("the conformance suite should sign with github.com/ensmock/ensmock/signature; deps: %q", deps)
	}
}
