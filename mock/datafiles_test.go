package mock

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ensmock/ensmock/mock/engine"
)

// FuzzDataFilesMatchesUnmarshal: whenever dataFiles reads the generic value of a
// Data parameter, it gives exactly what json.Unmarshal into []engine.DataFile gives.
func FuzzDataFilesMatchesUnmarshal(f *testing.F) {
	for _, s := range []string{
		`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://xxxx","timeout":1000}]`,
		`[{"name":"a","version":"1","url":"u","size":9007199254740993}]`,
		`[{"name":"a","NAME":"b","version":"1","url":"u"}]`,
		`[{"name":"a","version":"1","url":"u","size":1.5}]`,
		`[{"name":null,"version":"1","url":"u","extra":{"x":[1,2]}}]`,
		`[{"name":"a","version":"1","url":"u","timeout":-3}]`,
		`[1,2]`, `{}`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var generic any
		if json.Unmarshal([]byte(s), &generic) != nil {
			return
		}
		got, ok := dataFiles(generic)
		if !ok {
			return
		}
		var want []engine.DataFile
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("dataFiles read %q, json.Unmarshal refused it: %v", s, err)
		}
		if len(want) == 0 && len(got) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n dataFiles      %+v\n json.Unmarshal %+v", s, got, want)
		}
	})
}

func TestDataFilesFallsBackOnCaseVariants(t *testing.T) {
	var generic any
	_ = json.Unmarshal([]byte(`[{"name":"a","Name":"b","version":"1","url":"u"}]`), &generic)
	if _, ok := dataFiles(generic); ok {
		t.Fatal("a key in another letter case must fall back to json.Unmarshal")
	}
}
