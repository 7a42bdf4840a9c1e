// Package features embeds the Gherkin feature files of the ensmock conformance
// suite: behaviour as data, judged by the step definitions in package conformance.
package features

import "embed"

// FS holds every *.feature file of this directory.
//
//go:embed *.feature
var FS embed.FS
