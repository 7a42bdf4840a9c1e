// Package conformance is the ensmock conformance suite: godog step definitions
// for the Gherkin features of package features, a client that signs requests
// like the official SDKs (V1 or V3), and the runner behind `ensmock conform`.
//
// The suite is a judge: it talks to the implementation under test only over
// HTTP (and, for @control scenarios, its control plane) and never imports the
// mock it is usually run against, so that a bug cannot agree with itself.
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/formatters"

	"github.com/ensmock/ensmock/features"
)

// Config says what to check and how.
type Config struct {
	// Endpoint is the base URL of the implementation under test, e.g.
	// http://127.0.0.1:8080 (a bare host:port means http).
	Endpoint string
	// AccessKeyID and AccessKeySecret sign every request; they need full
	// permission on the ens data-distribution actions.
	AccessKeyID, AccessKeySecret string
	// DeniedKeyID and DeniedKeySecret are a pair whose policy lacks
	// ens:PushApplicationData (NoPermission scenarios).
	DeniedKeyID, DeniedKeySecret string
	// AppID, when set, is the application every scenario pushes to (for targets
	// where applications must exist); by default each scenario uses a fresh one.
	AppID string
	// ControlURL is the base URL of an ensmock-compatible control plane
	// (/_ensmock/...). Without it, @control scenarios are not selected and
	// waiting is bounded polling instead of advancing the target's clock.
	// With it, the target's clock is put back on the wall time, in the mode
	// it had, when the run ends (POST /_ensmock/clock/reset).
	ControlURL string
	// ControlToken is the bearer token of a protected control plane.
	ControlToken string
	// Signing is "v1" (HMAC-SHA1, the default) or "v3" (ACS3-HMAC-SHA256).
	Signing string
	// Tags selects scenarios: "@a && @b" (or "@a and @b"), "@a,@b" (or
	// "@a || @b", "@a or @b"), "~@a" (or "not @a", "!@a"); AND binds tighter
	// than OR; no parentheses. Empty selects every scenario.
	Tags string
	// Formats are godog formatters, each "name" (written to Output) or
	// "name:FILE": pretty, progress, junit, cucumber, events, html. Default: progress.
	Formats []string
	// KnownFailing is a file of entries "feature file: scenario name", one a
	// line (# comments), each part a path.Match pattern ("*" for any; a line
	// without ":" is a scenario name in any feature file). A listed scenario
	// that fails is tolerated; one that passes fails the run, so the list
	// shrinks as the implementation improves; an entry that matches no
	// selected scenario stops the run before it starts (*NotJudgedError).
	KnownFailing string
	// Seed orders the scenarios of each feature at random: 0 picks a seed (and
	// prints it), a negative seed keeps the order of the files.
	Seed int64
	// Concurrency is how many scenarios run at once (default 1).
	Concurrency int
	// Output receives the formatters without a file and the summary (default os.Stdout).
	Output io.Writer
	// HTTPClient reaches the target and the control plane (e.g. an in-process
	// transport); default a client with a 30 s timeout.
	HTTPClient *http.Client
	// PollTimeout bounds each wait for an asynchronous state when there is no
	// control plane (default 2 minutes).
	PollTimeout time.Duration
	// Regions, when set, are the target's edge nodes that a push without a
	// strategy reaches ({region1}, {region2}, … in the features, in this
	// order); by default the suite discovers them from a probe push.
	Regions []string
	// Features replaces the embedded feature files (tests of the runner itself).
	Features fs.FS
	// FilesAddr is where the runner serves the scenarios' data files (default
	// 127.0.0.1:0); FilesURL is the base URL the target must download them
	// from, when it differs from the listener's (a target in a container).
	FilesAddr, FilesURL string
}

// Outcome of one scenario.
type Outcome string

// Outcomes.
const (
	Passed       Outcome = "passed"
	Failed       Outcome = "failed"
	KnownFailing Outcome = "known-failing" // failed, and listed as known to fail: tolerated
	Fixed        Outcome = "fixed"         // listed as known to fail, but passed: fails the run
)

// ScenarioResult is the outcome of one scenario.
type ScenarioResult struct {
	Name    string
	Feature string // the feature file
	Tags    []string
	Outcome Outcome
	Error   string // why it failed
}

// TagCount counts the scenarios carrying one tag by outcome.
type TagCount struct {
	Total, Passed, Failed, KnownFailing, Fixed int
}

// Result is the outcome of a run.
type Result struct {
	Seed      int64 // the random order's seed (0: the order of the files)
	Scenarios []ScenarioResult
	ByTag     map[string]TagCount
	// Passed is true when every selected scenario passed, or failed and is listed
	// as known to fail, and none listed passed.
	Passed bool
}

// Count returns how many scenarios had the outcome.
func (r Result) Count(o Outcome) int {
	n := 0
	for _, s := range r.Scenarios {
		if s.Outcome == o {
			n++
		}
	}
	return n
}

func (c *Config) defaults() error {
	if c.Endpoint == "" {
		return errors.New("conformance: no target endpoint (--target / ENS_ENDPOINT)")
	}
	c.Endpoint = baseURL(c.Endpoint)
	if c.ControlURL != "" {
		c.ControlURL = baseURL(c.ControlURL)
	}
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return errors.New("conformance: AccessKeyID and AccessKeySecret are required")
	}
	switch strings.ToLower(c.Signing) {
	case "", "v1":
		c.Signing = "v1"
	case "v3":
		c.Signing = "v3"
	default:
		return fmt.Errorf("conformance: signing %q: want v1 or v3", c.Signing)
	}
	if len(c.Formats) == 0 {
		c.Formats = []string{"progress"}
	}
	for _, f := range c.Formats {
		name, _, _ := strings.Cut(f, ":")
		if formatters.FindFmt(name) == nil {
			names := slices.Sorted(maps.Keys(formatters.AvailableFormatters()))
			return fmt.Errorf("conformance: format %q: want one of %s, optionally with :FILE", f, strings.Join(names, ", "))
		}
	}
	if c.Concurrency < 1 {
		c.Concurrency = 1
	}
	if c.Output == nil {
		c.Output = os.Stdout
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 2 * time.Minute
	}
	var regions []string
	for _, r := range c.Regions {
		for _, one := range strings.Split(r, ",") {
			if one = strings.TrimSpace(one); one != "" && !slices.Contains(regions, one) {
				regions = append(regions, one)
			}
		}
	}
	c.Regions = regions
	if c.Features == nil {
		c.Features = features.FS
	}
	return nil
}

var (
	orWord  = regexp.MustCompile(`\s+or\s+|\s*\|\|\s*`)
	andWord = regexp.MustCompile(`\s+and\s+`)
	notWord = regexp.MustCompile(`(^|[\s,&])(?:not\s+|!)`)
	tagName = regexp.MustCompile(`^~?@[^\s,&~@()]+$`)
)

// tagFilter turns a tag expression into godog's syntax (OR ",", AND "&&", NOT
// "~"), checking it, and adds "~@control" to each alternative when there is
// no control plane.
// strictWanted matches a tag expression that selects @strict (not ~@strict).
var strictWanted = regexp.MustCompile(`(^|[^~])@strict\b`)

func tagFilter(expr string, noControl bool) (string, error) {
	expr = strings.TrimSpace(expr)
	if strings.ContainsAny(expr, "()") {
		return "", fmt.Errorf("conformance: tags %q: parentheses are not supported; write OR of ANDs, e.g. \"@core && ~@xml, @auth\"", expr)
	}
	expr = orWord.ReplaceAllString(expr, ",")
	expr = andWord.ReplaceAllString(expr, "&&")
	expr = notWord.ReplaceAllString(expr, "$1~")
	var alts []string
	if expr != "" {
		for _, alt := range strings.Split(expr, ",") {
			var terms []string
			for _, term := range strings.Split(alt, "&&") {
				term = strings.TrimSpace(term)
				if !tagName.MatchString(term) {
					return "", fmt.Errorf("conformance: tags: %q is not a tag (@name) or a negated tag (~@name)", term)
				}
				terms = append(terms, term)
			}
			alts = append(alts, strings.Join(terms, " && "))
		}
	}
	// Scenarios that cannot pass here are left out unless named: @control
	// without a control plane, and @strict (ensmock's limits as errors, which
	// only a mock started with --strict refuses) unless the tags ask for it.
	var off []string
	if noControl {
		off = append(off, "~@control")
	}
	if !strictWanted.MatchString(expr) {
		off = append(off, "~@strict")
	}
	if len(off) > 0 {
		if len(alts) == 0 {
			alts = []string{""}
		}
		for i := range alts {
			terms := []string{}
			if alts[i] != "" {
				terms = strings.Split(alts[i], " && ")
			}
			for _, o := range off {
				if !slices.Contains(terms, o) {
					terms = append(terms, o)
				}
			}
			alts[i] = strings.Join(terms, " && ")
		}
	}
	return strings.Join(alts, ","), nil
}

func baseURL(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	return s
}

// knownEntry is one line of the known-failing list.
type knownEntry struct {
	line              int
	text              string // the line as written
	feature, scenario string // path.Match patterns
}

// matches reports whether the entry names the scenario of the feature file
// uri (matched whole, or by its base name).
func (e knownEntry) matches(uri, name string) bool {
	ok, _ := path.Match(e.scenario, name)
	if !ok {
		return false
	}
	if ok, _ := path.Match(e.feature, uri); ok {
		return true
	}
	ok, _ = path.Match(e.feature, path.Base(uri))
	return ok
}

// readKnownFailing reads the entries "feature file: scenario name", one a
// line; blank lines and lines starting with # are ignored. A line without ":"
// names a scenario in any feature file. Both parts are path.Match patterns.
func readKnownFailing(file string) ([]knownEntry, error) {
	if file == "" {
		return nil, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("conformance: known-failing list: %w", err)
	}
	defer f.Close()
	var out []knownEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e := knownEntry{line: n, text: line, feature: "*", scenario: line}
		if feat, name, ok := strings.Cut(line, ":"); ok {
			e.feature, e.scenario = strings.TrimSpace(feat), strings.TrimSpace(name)
		}
		if e.feature == "" || e.scenario == "" {
			return nil, fmt.Errorf("conformance: known-failing list %s:%d: %q: want \"feature file: scenario name\"", file, n, line)
		}
		for _, p := range []string{e.feature, e.scenario} {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("conformance: known-failing list %s:%d: %q is not a valid pattern (escape [ ] * ? \\ with \\)", file, n, p)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("conformance: known-failing list: %w", err)
	}
	return out, nil
}

// unmatchedKnown returns the first entry that names none of the selected
// scenarios, as a *NotJudgedError.
func unmatchedKnown(known []knownEntry, selected [][2]string, file string) error {
	for _, e := range known {
		found := false
		for _, sc := range selected {
			if e.matches(sc[0], sc[1]) {
				found = true
				break
			}
		}
		if !found {
			return notJudged("known-failing", "%s:%d: %q matches no selected scenario: correct it (\"feature file: scenario name\", globs allowed) or remove it", file, e.line, e.text)
		}
	}
	return nil
}

func randomSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>2) + 1
}

// Run runs the selected scenarios against cfg.Endpoint and reports each
// outcome. The error is for a run that could not take place: a bad
// configuration, no scenario selected, or a *NotJudgedError (a failed
// pre-flight check, a stale known-failing entry, an interrupted run). Failing
// scenarios are in the Result, with Passed false.
//
// With a control plane, the target's clock is put back on the machine's time,
// in the mode it had, when the run ends however it ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	known, err := readKnownFailing(cfg.KnownFailing)
	if err != nil {
		return Result{}, err
	}
	tags, err := tagFilter(cfg.Tags, cfg.ControlURL == "")
	if err != nil {
		return Result{}, err
	}
	out := &lockedWriter{w: cfg.Output}
	opts := godog.Options{
		Format:         strings.Join(cfg.Formats, ","),
		Output:         out,
		Tags:           tags,
		Concurrency:    cfg.Concurrency,
		Strict:         true,
		NoColors:       true,
		FS:             cfg.Features,
		Paths:          []string{"."},
		DefaultContext: ctx,
	}
	feats, err := godog.TestSuite{Options: &opts}.RetrieveFeatures()
	if err != nil {
		return Result{}, fmt.Errorf("conformance: reading the features: %w", err)
	}
	var selected [][2]string
	for _, f := range feats {
		for _, p := range f.Pickles {
			selected = append(selected, [2]string{p.Uri, p.Name})
		}
	}
	if len(selected) == 0 {
		return Result{}, fmt.Errorf("conformance: no scenario matches the tags %q", tags)
	}
	if err := unmatchedKnown(known, selected, cfg.KnownFailing); err != nil {
		return Result{}, reportNotJudged(cfg.Formats, nil, err)
	}

	s := &suite{cfg: cfg, out: out,
		main:   credential{cfg.AccessKeyID, cfg.AccessKeySecret},
		denied: credential{cfg.DeniedKeyID, cfg.DeniedKeySecret},
		target: &target{endpoint: cfg.Endpoint, http: cfg.HTTPClient, v3: cfg.Signing == "v3"},
	}
	if cfg.ControlURL != "" {
		s.control = &control{base: cfg.ControlURL, token: cfg.ControlToken, http: cfg.HTTPClient}
	}
	s.files, err = newFileServer(cfg.FilesAddr, cfg.FilesURL)
	if err != nil {
		return Result{}, err
	}
	defer s.files.Close()
	found, err := s.preflight(ctx)
	if found != nil {
		defer s.restoreClock(*found)
	}
	if err == nil && ctx.Err() != nil { // the last pre-flight answer came in after the interrupt
		err = notJudged("interrupted", "interrupted before the first scenario")
	}
	if err != nil {
		return Result{}, reportNotJudged(cfg.Formats, nil, err)
	}
	if s.control == nil {
		fmt.Fprintln(out, "conformance: no control URL: @control scenarios are not selected, and waits poll the target")
	}

	seed := cfg.Seed
	switch {
	case seed == 0:
		seed = randomSeed()
	case seed < 0:
		seed = 0
	}
	if seed != 0 {
		fmt.Fprintf(out, "conformance: scenarios in random order, seed %d (--seed %d repeats it)\n", seed, seed)
	}
	opts.Randomize = seed

	rec := &recorder{known: known}
	status := godog.TestSuite{
		Name: "ensmock-conformance",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			// godog calls this once per scenario: each gets its own world.
			w := s.newWorld(ctx)
			sc.Before(func(c context.Context, _ *godog.Scenario) (context.Context, error) {
				w.ctx = c
				if ctx.Err() != nil {
					return c, godog.ErrSkip // interrupted: the rest is not run
				}
				return c, nil
			})
			w.steps(sc)
			sc.After(func(c context.Context, p *godog.Scenario, err error) (context.Context, error) {
				w.cleanup()
				if ctx.Err() == nil {
					rec.record(p, err)
				}
				return c, nil
			})
		},
		Options: &opts,
	}.Run()
	if status == 2 {
		return Result{}, errors.New("conformance: godog refused the options (see its message above)")
	}
	res := rec.result(seed)
	if ctx.Err() != nil {
		return res, reportNotJudged(cfg.Formats, &res, notJudged("interrupted", "interrupted after %d of %d scenarios had finished", len(res.Scenarios), len(selected)))
	}
	if err := finishHTMLReports(cfg.Formats, &res, nil); err != nil {
		fmt.Fprintln(cfg.Output, "conformance:", err)
	}
	if len(res.Scenarios) == 0 {
		return res, fmt.Errorf("conformance: no scenario matches the tags %q", tags)
	}
	printSummary(out, res)
	return res, nil
}

// cleanup removes what a scenario left on the control plane.
func (w *world) cleanup() {
	if w.s.control == nil || len(w.faults) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range w.faults {
		_ = w.s.control.removeFault(ctx, id)
	}
	w.faults = nil
}

// recorder collects the outcome of each scenario from the After hook.
type recorder struct {
	known []knownEntry
	mu    sync.Mutex
	out   []ScenarioResult
}

func (r *recorder) record(p *godog.Scenario, err error) {
	res := ScenarioResult{Name: p.Name, Feature: p.Uri, Outcome: Passed}
	for _, t := range p.Tags {
		res.Tags = append(res.Tags, t.Name)
	}
	if err != nil && !errors.Is(err, godog.ErrSkip) {
		res.Outcome, res.Error = Failed, err.Error()
	}
	listed := false
	for _, e := range r.known {
		if e.matches(p.Uri, p.Name) {
			listed = true
			break
		}
	}
	switch {
	case listed && res.Outcome == Failed:
		res.Outcome = KnownFailing
	case listed:
		res.Outcome = Fixed
		res.Error = "listed as known to fail, but it passed: remove it from the known-failing list"
	}
	r.mu.Lock()
	r.out = append(r.out, res)
	r.mu.Unlock()
}

func (r *recorder) result(seed int64) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Seed: seed, Scenarios: append([]ScenarioResult(nil), r.out...), ByTag: map[string]TagCount{}, Passed: true}
	sort.SliceStable(res.Scenarios, func(i, j int) bool {
		a, b := res.Scenarios[i], res.Scenarios[j]
		if a.Feature != b.Feature {
			return a.Feature < b.Feature
		}
		return a.Name < b.Name
	})
	for _, s := range res.Scenarios {
		if s.Outcome == Failed || s.Outcome == Fixed {
			res.Passed = false
		}
		for _, t := range s.Tags {
			c := res.ByTag[t]
			c.Total++
			switch s.Outcome {
			case Passed:
				c.Passed++
			case Failed:
				c.Failed++
			case KnownFailing:
				c.KnownFailing++
			case Fixed:
				c.Fixed++
			}
			res.ByTag[t] = c
		}
	}
	if len(res.Scenarios) == 0 {
		res.Passed = false
	}
	return res
}

// printSummary writes the outcome by tag, and what failed.
func printSummary(w io.Writer, res Result) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nconformance: %d scenarios: %d passed, %d failed, %d known failing, %d fixed",
		len(res.Scenarios), res.Count(Passed), res.Count(Failed), res.Count(KnownFailing), res.Count(Fixed))
	if res.Seed != 0 {
		fmt.Fprintf(&b, " (seed %d)", res.Seed)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tag\tscenarios\tpassed\tfailed\tknown failing\tfixed")
	for _, t := range slices.Sorted(maps.Keys(res.ByTag)) {
		c := res.ByTag[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", t, c.Total, c.Passed, c.Failed, c.KnownFailing, c.Fixed)
	}
	_ = tw.Flush()
	var bad []ScenarioResult
	for _, s := range res.Scenarios {
		if s.Outcome == Failed || s.Outcome == Fixed {
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		b.WriteString("\nfailed:\n")
		for _, s := range bad {
			first, _, _ := strings.Cut(s.Error, "\n")
			fmt.Fprintf(&b, "  %s: %s\n    %s\n", s.Feature, s.Name, first)
		}
	}
	if res.Passed {
		b.WriteString("\nconformance: PASS\n")
	} else {
		b.WriteString("\nconformance: FAIL\n")
	}
	_, _ = w.Write(b.Bytes())
}
