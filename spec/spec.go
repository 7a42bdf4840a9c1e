// Package spec embeds ens.yaml, the OpenAPI document of the emulated ENS operations, the single source of truth for parameters and response shapes.
package spec

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// YAML is the embedded OpenAPI 3.0 document (ens.yaml).
//
//go:embed ens.yaml
var YAML []byte

// MethodsExtension is the path-item extension that lists the HTTP methods the real API
// accepts for an action (the document declares each operation under get only, because
// operation ids must be unique and the validator always sees a GET).
const MethodsExtension = "x-ensmock-methods"

var (
	loadOnce sync.Once
	loadDoc  *openapi3.T
	loadErr  error
)

// The embedded document is parsed in the background as soon as the package is
// initialised: a process that serves it (ensmock serve) overlaps the ~3 ms of
// parsing with the rest of its start-up (other packages' init, flag parsing,
// the listener) instead of paying it on the path to the first healthy answer.
// Load waits for that parse (sync.Once) rather than starting another.
func init() { go func() { _, _ = Load() }() }

// Load parses and validates the embedded document once (sync.Once) and returns it; callers must not modify it.
func Load() (*openapi3.T, error) {
	loadOnce.Do(func() {
		loadDoc, loadErr = Parse(YAML)
	})
	return loadDoc, loadErr
}

// Parse parses and validates an arbitrary document (used by tests that change a constraint and by Options that supply an alternate spec).
func Parse(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("spec: parse: %w", err)
	}
	ctx := loader.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("spec: invalid document: %w", err)
	}
	return doc, nil
}

// Actions returns the operation ids (= action names) in the document, sorted.
func Actions(doc *openapi3.T) []string {
	if doc == nil || doc.Paths == nil {
		return nil
	}
	seen := map[string]bool{}
	var ids []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op == nil || op.OperationID == "" || seen[op.OperationID] {
				continue
			}
			seen[op.OperationID] = true
			ids = append(ids, op.OperationID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Methods returns the HTTP methods (upper case, in document order) that the real API accepts
// for action, from the path item extension x-ensmock-methods of /{action}. Without the
// extension it returns the methods under which the operation is declared, sorted. It returns
// nil when the document has no such path.
func Methods(doc *openapi3.T, action string) []string {
	if doc == nil || doc.Paths == nil {
		return nil
	}
	item := doc.Paths.Value("/" + action)
	if item == nil {
		return nil
	}
	if raw, ok := item.Extensions[MethodsExtension]; ok {
		if list, ok := raw.([]any); ok {
			methods := make([]string, 0, len(list))
			for _, m := range list {
				if s, ok := m.(string); ok {
					methods = append(methods, strings.ToUpper(s))
				}
			}
			return methods
		}
	}
	var methods []string
	for m := range item.Operations() {
		methods = append(methods, strings.ToUpper(m))
	}
	sort.Strings(methods)
	return methods
}
