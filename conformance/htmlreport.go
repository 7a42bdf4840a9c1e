package conformance

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/formatters"
	messages "github.com/cucumber/messages/go/v34"
)

// The "html" format: `--format html:report.html` writes one self-contained
// HTML file (inline CSS and script, no network) with the counts by tag and by
// feature, every scenario with its steps, and each failure's error text, which
// carries the request and response the suite dumps. Run marks the scenarios of
// the known-failing list in it once the run is over (finishHTMLReports).
func init() {
	godog.Format("html", "a self-contained HTML report (use html:FILE)", newHTMLFormatter)
}

// Statuses of a scenario or a step in the report.
const (
	htmlPassed       = "passed"
	htmlFailed       = "failed"
	htmlSkipped      = "skipped"
	htmlUndefined    = "undefined"
	htmlPending      = "pending"
	htmlAmbiguous    = "ambiguous"
	htmlKnownFailing = "known-failing"
	htmlFixed        = "fixed"
)

// htmlReport is everything the report shows; it is also embedded in the file
// as JSON, from which finishHTMLReports re-renders it.
type htmlReport struct {
	Suite     string          `json:"suite"`
	Started   time.Time       `json:"started"`
	Duration  time.Duration   `json:"duration"`
	Features  []*htmlFeature  `json:"features"`
	Scenarios []*htmlScenario `json:"scenarios"`
	// Verdict is "" until Run has judged the run (PASS, FAIL or NOT JUDGED).
	Verdict string   `json:"verdict,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

type htmlFeature struct {
	URI         string `json:"uri"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type htmlScenario struct {
	ID       int           `json:"id"`
	Feature  string        `json:"feature"` // uri
	Name     string        `json:"name"`
	Line     int64         `json:"line,omitempty"`
	Tags     []string      `json:"tags"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"duration"`
	Steps    []*htmlStep   `json:"steps"`
	Error    string        `json:"error,omitempty"`

	pickleID string
	started  time.Time
	last     time.Time // the latest event of the scenario
}

type htmlStep struct {
	Keyword  string        `json:"keyword"`
	Text     string        `json:"text"`
	Arg      string        `json:"arg,omitempty"` // doc string or data table
	Status   string        `json:"status"`        // "" when it never ran
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`

	id string
}

// htmlFormatter collects the run and writes the report at the end.
type htmlFormatter struct {
	out io.Writer

	mu       sync.Mutex
	rep      htmlReport
	keywords map[string]string // gherkin step id → keyword
	byPickle map[string]*htmlScenario
}

func newHTMLFormatter(suite string, out io.Writer) formatters.Formatter {
	return &htmlFormatter{out: out, rep: htmlReport{Suite: suite}, keywords: map[string]string{}, byPickle: map[string]*htmlScenario{}}
}

func (f *htmlFormatter) TestRunStarted() {
	f.mu.Lock()
	f.rep.Started = time.Now().UTC()
	f.mu.Unlock()
}

func (f *htmlFormatter) Feature(doc *messages.GherkinDocument, uri string, _ []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if doc == nil || doc.Feature == nil {
		return
	}
	ft := doc.Feature
	f.rep.Features = append(f.rep.Features, &htmlFeature{URI: uri, Name: ft.Name, Description: strings.TrimSpace(ft.Description)})
	steps := func(ss []*messages.Step) {
		for _, s := range ss {
			f.keywords[s.Id] = strings.TrimSpace(s.Keyword)
		}
	}
	child := func(bg *messages.Background, sc *messages.Scenario) {
		if bg != nil {
			steps(bg.Steps)
		}
		if sc != nil {
			steps(sc.Steps)
		}
	}
	for _, c := range ft.Children {
		child(c.Background, c.Scenario)
		if c.Rule != nil {
			for _, rc := range c.Rule.Children {
				child(rc.Background, rc.Scenario)
			}
		}
	}
}

func (f *htmlFormatter) Pickle(p *messages.Pickle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	sc := &htmlScenario{ID: len(f.rep.Scenarios) + 1, Feature: p.Uri, Name: p.Name, Tags: []string{}, Status: htmlPassed,
		pickleID: p.Id, started: now, last: now}
	if p.Location != nil {
		sc.Line = p.Location.Line
	}
	for _, t := range p.Tags {
		sc.Tags = append(sc.Tags, t.Name)
	}
	for _, s := range p.Steps {
		st := &htmlStep{Text: s.Text, id: s.Id}
		if len(s.AstNodeIds) > 0 {
			st.Keyword = f.keywords[s.AstNodeIds[0]]
		}
		if a := s.Argument; a != nil {
			switch {
			case a.DocString != nil:
				st.Arg = a.DocString.Content
			case a.DataTable != nil:
				var b strings.Builder
				for _, r := range a.DataTable.Rows {
					b.WriteString("|")
					for _, c := range r.Cells {
						b.WriteString(" " + c.Value + " |")
					}
					b.WriteString("\n")
				}
				st.Arg = strings.TrimRight(b.String(), "\n")
			}
		}
		sc.Steps = append(sc.Steps, st)
	}
	f.rep.Scenarios = append(f.rep.Scenarios, sc)
	f.byPickle[p.Id] = sc
}

// step records a step's outcome; start marks the moment it was matched.
func (f *htmlFormatter) step(p *messages.Pickle, s *messages.PickleStep, status string, err error, start bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc := f.byPickle[p.Id]
	if sc == nil {
		return
	}
	now := time.Now()
	var st *htmlStep
	for _, x := range sc.Steps {
		if x.id == s.Id {
			st = x
		}
	}
	if st == nil {
		return
	}
	if start {
		sc.last = now
		return
	}
	st.Status, st.Duration = status, now.Sub(sc.last)
	sc.last = now
	sc.Duration = now.Sub(sc.started)
	if err != nil {
		st.Error = err.Error()
	}
	switch status {
	case htmlFailed, htmlUndefined, htmlPending, htmlAmbiguous: // the run is strict: all of these fail
		if sc.Status != htmlFailed {
			sc.Status = htmlFailed
			sc.Error = st.Error
			if sc.Error == "" {
				sc.Error = "step " + status + ": " + st.Keyword + " " + st.Text
			}
		}
	case htmlSkipped:
		if sc.Status == htmlPassed && !slices.ContainsFunc(sc.Steps, func(x *htmlStep) bool { return x.Status == htmlPassed }) {
			sc.Status = htmlSkipped
		}
	}
}

func (f *htmlFormatter) Defined(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, s, "", nil, true)
}

func (f *htmlFormatter) Failed(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	f.step(p, s, htmlFailed, err, false)
}

func (f *htmlFormatter) Passed(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, s, htmlPassed, nil, false)
}

func (f *htmlFormatter) Skipped(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, s, htmlSkipped, nil, false)
}

func (f *htmlFormatter) Undefined(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, s, htmlUndefined, nil, false)
}

func (f *htmlFormatter) Pending(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, s, htmlPending, nil, false)
}

func (f *htmlFormatter) Ambiguous(p *messages.Pickle, s *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	f.step(p, s, htmlAmbiguous, err, false)
}

// Summary writes the report.
func (f *htmlFormatter) Summary() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.rep.Started.IsZero() {
		f.rep.Duration = time.Since(f.rep.Started)
	}
	// a scenario whose first step was passed over (a scenario skipped by a hook) never became "skipped"
	for _, sc := range f.rep.Scenarios {
		if sc.Status == htmlPassed && !slices.ContainsFunc(sc.Steps, func(x *htmlStep) bool { return x.Status == htmlPassed }) && len(sc.Steps) > 0 {
			sc.Status = htmlSkipped
		}
	}
	var b bytes.Buffer
	if err := renderHTMLReport(&b, &f.rep); err != nil {
		fmt.Fprintf(f.out, "html report: %v\n", err)
		return
	}
	_, _ = f.out.Write(b.Bytes())
}

// finishHTMLReports re-renders each html:FILE report of formats once Run has
// judged the run: it marks the known-failing and fixed scenarios (the formatter
// cannot know the list: godog gives it no way to) and the verdict. res is nil
// when the run was not judged; notJudged then says why, and a report with no
// scenario is written with it.
func finishHTMLReports(formats []string, res *Result, notJudged error) error {
	var errs []error
	for _, f := range formats {
		name, file, ok := strings.Cut(f, ":")
		if name != "html" || !ok || file == "" {
			continue
		}
		errs = append(errs, finishHTMLReport(file, res, notJudged))
	}
	return errors.Join(errs...)
}

// reportNotJudged writes the html reports of a run that could not be judged
// (its reason in them) and returns err.
func reportNotJudged(formats []string, res *Result, err error) error {
	_ = finishHTMLReports(formats, res, err) // the run's error matters more than the report's
	return err
}

func finishHTMLReport(file string, res *Result, notJudged error) error {
	rep := &htmlReport{Suite: "ensmock-conformance", Started: time.Now().UTC()}
	if data, err := os.ReadFile(file); err == nil {
		if r, ok := extractHTMLReport(data); ok {
			rep = r
		}
	}
	if notJudged != nil {
		rep.Verdict = "NOT JUDGED"
		rep.Notes = append(rep.Notes, notJudged.Error())
		var nj *NotJudgedError
		if errors.As(notJudged, &nj) {
			rep.Notes[len(rep.Notes)-1] = "not judged (" + nj.Check + "): " + nj.Reason
		}
	}
	if res != nil {
		// outcomes by scenario, in the order each name ran
		outcomes := map[[2]string][]Outcome{}
		for _, s := range res.Scenarios {
			k := [2]string{s.Feature, s.Name}
			outcomes[k] = append(outcomes[k], s.Outcome)
		}
		used := map[[2]string]int{}
		for _, sc := range rep.Scenarios {
			k := [2]string{sc.Feature, sc.Name}
			list := outcomes[k]
			i := used[k]
			used[k]++
			if i >= len(list) {
				if len(list) == 0 {
					continue
				}
				i = len(list) - 1
			}
			switch list[i] {
			case KnownFailing:
				sc.Status = htmlKnownFailing
			case Fixed:
				sc.Status = htmlFixed
				sc.Error = "listed as known to fail, but it passed: remove it from the known-failing list"
			}
		}
		if notJudged == nil {
			rep.Verdict = "FAIL"
			if res.Passed {
				rep.Verdict = "PASS"
			}
			rep.Notes = append(rep.Notes, "pre-flight: passed (target, credentials, clock, control plane, data files: docs/conformance.md)")
		}
		if res.Seed != 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("scenarios ran in random order, seed %d (--seed %d repeats it)", res.Seed, res.Seed))
		}
	}
	var b bytes.Buffer
	if err := renderHTMLReport(&b, rep); err != nil {
		return fmt.Errorf("html report %s: %w", file, err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

const htmlDataOpen = `<script type="application/json" id="report-data">`

// extractHTMLReport reads back the data a report embeds.
func extractHTMLReport(page []byte) (*htmlReport, bool) {
	_, rest, ok := bytes.Cut(page, []byte(htmlDataOpen))
	if !ok {
		return nil, false
	}
	data, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		return nil, false
	}
	var rep htmlReport
	if json.Unmarshal(data, &rep) != nil {
		return nil, false
	}
	return &rep, true
}

// htmlCount counts scenarios by status, with their total duration.
type htmlCount struct {
	Name                                                string
	Total, Passed, Failed, Skipped, KnownFailing, Fixed int
	Duration                                            time.Duration
}

func (c *htmlCount) add(sc *htmlScenario) {
	c.Total++
	c.Duration += sc.Duration
	switch sc.Status {
	case htmlPassed:
		c.Passed++
	case htmlFailed:
		c.Failed++
	case htmlSkipped:
		c.Skipped++
	case htmlKnownFailing:
		c.KnownFailing++
	case htmlFixed:
		c.Fixed++
	}
}

// htmlView is what the template renders.
type htmlView struct {
	*htmlReport
	Total     htmlCount
	ByTag     []htmlCount
	ByFeature []htmlCount
	Tags      []string
	Statuses  []string
	FeatureOf map[string]string // uri → name
	Data      any
}

//go:embed htmlreport.tmpl
var htmlReportTemplate string

var htmlReportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "0s"
		case d < time.Millisecond:
			return d.Round(time.Microsecond).String()
		case d < time.Second:
			return d.Round(100 * time.Microsecond).String()
		}
		return d.Round(time.Millisecond).String()
	},
	"icon":  htmlIcon,
	"join":  strings.Join,
	"ts":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"isBad": func(s string) bool { return s == htmlFailed || s == htmlFixed || s == htmlKnownFailing },
}).Parse(htmlReportTemplate))

// htmlIcon is the symbol shown with a status: colour never carries it alone.
func htmlIcon(status string) string {
	switch status {
	case htmlPassed:
		return "✓"
	case htmlFailed, htmlUndefined, htmlPending, htmlAmbiguous:
		return "✗"
	case htmlSkipped:
		return "↷"
	case htmlKnownFailing:
		return "⚑"
	case htmlFixed:
		return "!"
	case "":
		return "·"
	}
	return "?"
}

func renderHTMLReport(w io.Writer, rep *htmlReport) error {
	v := htmlView{htmlReport: rep, Total: htmlCount{Name: "all"}, FeatureOf: map[string]string{},
		Statuses: []string{htmlPassed, htmlFailed, htmlSkipped, htmlKnownFailing, htmlFixed}, Data: rep}
	if rep.Scenarios == nil {
		rep.Scenarios = []*htmlScenario{}
	}
	if rep.Features == nil {
		rep.Features = []*htmlFeature{}
	}
	tags := map[string]*htmlCount{}
	feats := map[string]*htmlCount{}
	var order []string
	for _, ft := range rep.Features {
		v.FeatureOf[ft.URI] = ft.Name
	}
	for _, sc := range rep.Scenarios {
		v.Total.add(sc)
		for _, t := range sc.Tags {
			if tags[t] == nil {
				tags[t] = &htmlCount{Name: t}
			}
			tags[t].add(sc)
		}
		if feats[sc.Feature] == nil {
			feats[sc.Feature] = &htmlCount{Name: sc.Feature}
			order = append(order, sc.Feature)
		}
		feats[sc.Feature].add(sc)
	}
	v.Tags = slices.Sorted(maps.Keys(tags))
	for _, t := range v.Tags {
		v.ByTag = append(v.ByTag, *tags[t])
	}
	slices.Sort(order)
	for _, u := range order {
		v.ByFeature = append(v.ByFeature, *feats[u])
	}
	return htmlReportTmpl.Execute(w, v)
}
