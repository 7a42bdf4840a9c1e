package mock

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/internal/engine"
)

// FuzzDataFilesMatchesUnmarshal: the Data reader never panics, in either mode;
// a Data value that breaks no ensmock limit (no warning) reads exactly as
// json.Unmarshal into []engine.DataFile reads it; and strict mode refuses
// exactly what lenient mode warns about.
func FuzzDataFilesMatchesUnmarshal(f *testing.F) {
	for _, s := range []string{
		`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://xxxx","timeout":1000}]`,
		`[{"name":"a","version":"1","url":"u","size":9007199254740993}]`,
		`[{"name":"a","Size":5,"version":"1","url":"u"}]`,
		`[{"name":"a","version":"1","url":"u","size":1.5}]`,
		`[{"name":"a","version":"1","url":"u","size":"100","timeout":"20"}]`,
		`[{"name":"a","version":"1","url":"u","timeout":-3,"md5":7,"archiveType":"TAR.GZ"}]`,
		`[{"name":"a","version":"1","url":"u","size":1e300,"timeout":1e300}]`,
		`[1,2]`, `{}`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var generic any
		if json.Unmarshal([]byte(s), &generic) != nil {
			return
		}
		lenient := &limitCheck{}
		got := lenient.dataFiles(generic)
		strict := &limitCheck{strict: true}
		strict.dataFiles(generic)
		if (len(lenient.warn) > 0) != (strict.err != nil) {
			t.Fatalf("%q: lenient warnings %q, strict error %v", s, lenient.warn, strict.err)
		}
		for _, f := range got {
			if f.Size < 0 || f.Size > engine.MaxDeclaredSize || f.Timeout < 0 {
				t.Fatalf("%q: out of range %+v", s, f)
			}
		}
		items, _ := generic.([]any)
		if len(lenient.warn) > 0 || len(items) == 0 || caseVariants(items) {
			return
		}
		var want []engine.DataFile
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			return // e.g. a name that is not a string: the spec refuses it before the reader
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n dataFiles      %+v\n json.Unmarshal %+v", s, got, want)
		}
	})
}

// caseVariants reports whether an item has two keys equal but for letter case
// (json.Unmarshal takes the last, the reader the exact one).
func caseVariants(items []any) bool {
	for _, it := range items {
		m, _ := it.(map[string]any)
		seen := map[string]bool{}
		for k := range m {
			if seen[strings.ToLower(k)] {
				return true
			}
			seen[strings.ToLower(k)] = true
		}
	}
	return false
}
