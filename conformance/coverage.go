package conformance

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/cucumber/godog"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ensmock/ensmock/spec"
)

// Coverage records what the scenarios of a run actually sent and received:
// each action parameter by HTTP method, placement (query or form body) and
// signature version; each response field; each error code. Compared with the
// documented surface (spec/ens.yaml and the error codes of the official pages),
// it shows what no @core scenario exercises.
type Coverage struct {
	mu      sync.Mutex
	entries map[string]map[string]bool // entry → scenario name → the scenario is @core
}

// coverageByClient maps the HTTP client of a run to its Coverage (see RecordCoverage).
var coverageByClient sync.Map

// RecordCoverage makes every run whose Config.HTTPClient is c record its
// coverage in the returned Coverage (several runs add up).
func RecordCoverage(c *http.Client) *Coverage {
	cov := &Coverage{entries: map[string]map[string]bool{}}
	actual, _ := coverageByClient.LoadOrStore(c, cov)
	return actual.(*Coverage)
}

func (c *Coverage) add(entry, scenario string, core bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.entries[entry]
	if m == nil {
		m = map[string]bool{}
		c.entries[entry] = m
	}
	m[scenario] = m[scenario] || core
}

// scenarioKey carries the running scenario in the step context.
type scenarioKey struct{}

type scenarioInfo struct {
	name string
	core bool
}

func withScenario(ctx context.Context, p *godog.Scenario) context.Context {
	info := scenarioInfo{name: p.Name}
	for _, t := range p.Tags {
		info.core = info.core || t.Name == "@core"
	}
	return context.WithValue(ctx, scenarioKey{}, info)
}

// observations of one scenario: the first response that deviated from the
// documented schema (it fails the step that received it).
type observations struct {
	mu  sync.Mutex
	err error
}

var worldObs sync.Map // *world → *observations

func (w *world) obs() *observations {
	o, _ := worldObs.LoadOrStore(w, &observations{})
	return o.(*observations)
}

// observe checks an answer against the documented response schema and records
// what the request and the answer covered. A deviation fails the current step.
func (w *world) observe(action string, ex *exchange) {
	if ex == nil {
		return
	}
	value, err := checkResponse(action, ex)
	if err != nil {
		o := w.obs()
		o.mu.Lock()
		if o.err == nil {
			o.err = w.failf(ex, "%v", err)
		}
		o.mu.Unlock()
	}
	cov, ok := coverageByClient.Load(w.s.cfg.HTTPClient)
	if !ok {
		return
	}
	info, _ := w.ctx.Value(scenarioKey{}).(scenarioInfo)
	c := cov.(*Coverage)
	params, placement, signing := requestShape(ex)
	for _, p := range params {
		c.add(paramEntry(action, p, ex.Method, placement, signing), info.name, info.core)
	}
	if ex.Err != nil || ex.Status == 0 {
		return
	}
	if ex.Status < 200 || ex.Status > 299 {
		if code := ex.Body().Code(); code != "" {
			c.add(fmt.Sprintf("error   %s (HTTP %d)", code, ex.Status), info.name, info.core)
		}
		action = "(error)"
	}
	if err == nil && value != nil {
		for _, f := range fieldPaths("", value) {
			c.add("field   "+action+" "+f, info.name, info.core)
		}
	}
}

// takeViolation returns (and forgets) the scenario's first schema deviation.
func (w *world) takeViolation() error {
	o := w.obs()
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.err
	o.err = nil
	return err
}

func paramEntry(action, param, method, placement, signing string) string {
	return fmt.Sprintf("param   %s %s %s %s %s", action, param, method, placement, signing)
}

// fieldPaths lists the leaves of a decoded body as dotted paths, arrays as "[]".
func fieldPaths(prefix string, v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, fieldPaths(p, child)...)
		}
	case []any:
		for _, child := range t {
			out = append(out, fieldPaths(prefix+"[]", child)...)
		}
	default:
		out = append(out, prefix)
	}
	return out
}

// schemaPaths lists the leaves a schema documents, as fieldPaths writes them.
func schemaPaths(prefix string, s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	switch {
	case s.Type.Is("object"):
		var out []string
		for k, p := range s.Properties {
			if k == "AccessDeniedDetail" { // only on some RAM denials; not in the metadata
				continue
			}
			child := k
			if prefix != "" {
				child = prefix + "." + k
			}
			out = append(out, schemaPaths(child, p.Value)...)
		}
		return out
	case s.Type.Is("array"):
		if s.Items == nil {
			return nil
		}
		return schemaPaths(prefix+"[]", s.Items.Value)
	}
	return []string{prefix}
}

// documentedErrors are the error codes a client can provoke that the official
// pages document (the metadata of the three actions, and the gateway's
// authentication errors), as globs over "code (HTTP status)".
var documentedErrors = []string{
	"MissingParameter (HTTP 400)|Missing* (HTTP 400)",
	"InvalidParameter.* (HTTP 400)",
	"NoPermission (HTTP 400)|Forbidden.RAM (HTTP 403)",
	"InvalidAccessKeyId.NotFound (HTTP 40?)|InvalidAccessKeyId (HTTP 40?)",
	"SignatureDoesNotMatch (HTTP 40?)",
	"InvalidTimeStamp.Expired (HTTP 400)",
	"SignatureNonceUsed (HTTP 400)",
}

// Documented is the documented surface: every entry a complete suite covers.
func Documented() ([]string, error) {
	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, action := range spec.Actions(doc) {
		op := doc.Paths.Value("/" + action).Get
		for _, p := range op.Parameters {
			for _, m := range spec.Methods(doc, action) {
				placements := []string{"query"}
				if m == http.MethodPost {
					placements = append(placements, "form")
				}
				for _, pl := range placements {
					for _, sg := range []string{"v1", "v3"} {
						out = append(out, paramEntry(action, p.Value.Name, m, pl, sg))
					}
				}
			}
		}
		schema, err := responseSchema(action, 200)
		if err != nil {
			return nil, err
		}
		for _, f := range schemaPaths("", schema) {
			out = append(out, "field   "+action+" "+f)
		}
	}
	errSchema, err := responseSchema("", 400)
	if err != nil {
		return nil, err
	}
	for _, f := range schemaPaths("", errSchema) {
		out = append(out, "field   (error) "+f)
	}
	for _, e := range documentedErrors {
		out = append(out, "error   "+e)
	}
	sort.Strings(out)
	return out, nil
}

// covering returns the scenarios that cover a documented entry (an error entry
// is a "|"-separated list of globs), and whether one of them is @core.
func (c *Coverage) covering(entry string) (names []string, core bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	match := func(got string) bool { return got == entry }
	if pats, ok := strings.CutPrefix(entry, "error   "); ok {
		match = func(got string) bool {
			g, isErr := strings.CutPrefix(got, "error   ")
			if !isErr {
				return false
			}
			for _, p := range strings.Split(pats, "|") {
				if ok, _ := path.Match(p, g); ok {
					return true
				}
			}
			return false
		}
	}
	for got, scen := range c.entries {
		if !match(got) {
			continue
		}
		for n, isCore := range scen {
			core = core || isCore
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names, core
}

// Missing lists the documented entries that no @core scenario covered.
func (c *Coverage) Missing() ([]string, error) {
	doc, err := Documented()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range doc {
		if _, core := c.covering(e); !core {
			out = append(out, e)
		}
	}
	return out, nil
}

// WriteTable writes the coverage table: each documented entry, how many
// scenarios cover it (@core among them) and a few of their names; then what
// was seen beyond the documented surface.
func (c *Coverage) WriteTable(w io.Writer) error {
	doc, err := Documented()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\tentry\tscenarios\tcore\texamples")
	for _, e := range doc {
		names, core := c.covering(e)
		kind, rest, _ := strings.Cut(e, " ")
		ex := names
		if len(ex) > 2 {
			ex = append(slices.Clone(ex[:2]), fmt.Sprintf("… %d more", len(names)-2))
		}
		mark := "no"
		if core {
			mark = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", kind, strings.TrimSpace(rest), len(names), mark, strings.Join(ex, "; "))
	}
	documented := map[string]bool{}
	for _, e := range doc {
		documented[e] = true
	}
	c.mu.Lock()
	extra := slices.Sorted(maps.Keys(c.entries))
	c.mu.Unlock()
	for _, e := range extra {
		if documented[e] || strings.HasPrefix(e, "error   ") {
			continue
		}
		kind, rest, _ := strings.Cut(e, " ")
		fmt.Fprintf(tw, "%s\t%s (beyond the documented surface)\t%d\t\t\n", kind, strings.TrimSpace(rest), len(c.entries[e]))
	}
	return tw.Flush()
}
