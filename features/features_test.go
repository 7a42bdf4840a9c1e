package features_test

import (
	"testing"

	"github.com/cucumber/godog"

	"github.com/ensmock/ensmock/features"
)

// TestTagDiscipline: every scenario is either @core (guaranteed by the official
// documentation) or @extended (an ensmock decision), never both; @control
// and @strict scenarios are @extended; each has a capability tag; names are unique, as the
// known-failing list identifies scenarios by name.
func TestTagDiscipline(t *testing.T) {
	feats, err := godog.TestSuite{Options: &godog.Options{FS: features.FS, Paths: []string{"."}}}.RetrieveFeatures()
	if err != nil {
		t.Fatal(err)
	}
	capabilities := map[string]bool{"@auth": true, "@xml": true, "@download": true, "@validation": true,
		"@resultcode": true, "@strategy": true, "@describe": true, "@errors": true, "@parameters": true,
		"@apps": true, "@dist": true, "@workflow": true}
	names := map[string]string{}
	n := 0
	for _, f := range feats {
		for _, p := range f.Pickles {
			n++
			tags := map[string]bool{}
			capability := false
			for _, tag := range p.Tags {
				tags[tag.Name] = true
				capability = capability || capabilities[tag.Name]
			}
			where := f.Uri + ": " + p.Name
			if tags["@core"] == tags["@extended"] {
				t.Errorf("%s: want exactly one of @core and @extended", where)
			}
			if tags["@control"] && !tags["@extended"] {
				t.Errorf("%s: @control scenarios depend on ensmock's control plane, so they are @extended", where)
			}
			if tags["@strict"] && !tags["@extended"] {
				t.Errorf("%s: @strict scenarios pin ensmock's own limits, so they are @extended", where)
			}
			if !capability {
				t.Errorf("%s: no capability tag", where)
			}
			if prev, dup := names[p.Name]; dup {
				t.Errorf("%s: the name is also used in %s", where, prev)
			}
			names[p.Name] = f.Uri
		}
	}
	if len(feats) < 7 || n < 80 {
		t.Errorf("%d features with %d scenarios: the suite has shrunk", len(feats), n)
	}
}
