package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// Steps of the application and distribution features (apps.feature,
// dist.feature, workflow.feature): CreateApplication, DescribeApplication,
// ListApplications, DeleteApplication, DistApplicationData and
// DescribeDataDistResult.

// appWorld is what a scenario knows of its application beyond world.
type appWorld struct {
	instances map[string]string // instance id → ENS node, from DescribeApplication
	ordered   []string          // instance ids, sorted: {instance1}, {instance2}, …
	targets   map[string]bool   // the DistInstanceIds of every successful dist of the scenario
	lastDist  []string          // the Data names of the last dist
	distClock time.Time         // the target's clock just before the last dist (zero: unknown)
}

// aw returns the scenario's appWorld (godog gives each scenario its own world).
func (w *world) aw() *appWorld {
	if w.apps.targets == nil {
		w.apps.targets = map[string]bool{}
	}
	return &w.apps
}

// appSteps registers the steps (called from steps).
func (w *world) appSteps(sc *godog.ScenarioContext) {
	sc.Step(re(`^I create an application with the instances:$`), func(t *godog.Table) error { return w.createApp(t, false) })
	sc.Step(re(`^an application with the instances:$`), func(t *godog.Table) error { return w.createApp(t, true) })
	sc.Step(re(`^the answer has a non-empty AppId string$`), w.answerHasAppID)
	sc.Step(re(`^the Application is a JSON string$`), w.applicationIsJSON)
	sc.Step(re(`^the answer has the integers PageNumber, PageSize and TotalCount$`), w.pagingIntegers)
	sc.Step(re(`^the application is listed with an AppInfo string$`), func() error { return w.appListed(true) })
	sc.Step(re(`^the application is not listed$`), func() error { return w.appListed(false) })
	sc.Step(re(`^the application has (\d+) instances? in "([^"]*)" and (\d+) in "([^"]*)"$`), w.appHasInstances)
	sc.Step(re(`^I delete the application$`), func() error {
		w.send(call{Action: "DeleteApplication", Params: url.Values{"AppId": {w.app}}})
		return nil
	})
	sc.Step(re(`^the application's Phase is "([^"]*)"$`), w.appPhase)
	sc.Step(re(`^the application has been deleted$`), w.waitDeleted)

	sc.Step(re(`^I distribute "([^"]*)" version "([^"]*)"$`), func(a, v string) error { return w.dist([]string{a}, v, "", "") })
	sc.Step(re(`^I distribute the data files "([^"]*)" version "([^"]*)"$`), func(list, v string) error {
		return w.dist(strings.Split(list, ","), v, "", "")
	})
	sc.Step(re(`^I distribute "([^"]*)" version "([^"]*)" without the (\w+) parameter$`), func(a, v, p string) error {
		return w.dist([]string{a}, v, "", p)
	})
	sc.Step(re(`^I distribute "([^"]*)" version "([^"]*)" with the strategy:$`), func(a, v string, doc *godog.DocString) error {
		return w.dist([]string{a}, v, doc.Content, "")
	})
	sc.Step(re(`^I describe the dist results$`), func() error { return w.describeDistWith(nil) })
	sc.Step(re(`^I describe the dist results with:$`), w.describeDistWith)
	sc.Step(re(`^there is one DistResult per data file$`), w.oneDistResultPerFile)
	sc.Step(re(`^the DistInstanceTotalCount is the number of DistInstanceIds$`), func() error { return w.distTotal(-1) })
	sc.Step(re(`^the DistInstanceTotalCount is (\d+)$`), w.distTotal)
	sc.Step(re(`^the DistResult of "([^"]*)" has ResultCode (\d+)$`), w.distResultCode)
	sc.Step(re(`^the distributed instances are the instances in "([^"]*)"$`), w.distributedInRegion)
	sc.Step(re(`^the distributed instances are "([^"]*)"$`), w.distributedAre)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" has been distributed to every target instance$`), w.waitDistributed)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is (SUCCESS|DISTING|FAILED) on exactly the distributed instances$`), w.distStatusOnTargets)
	sc.Step(re(`^the dist results have the documented shape$`), w.distShape)
	sc.Step(re(`^the instance "([^"]*)" is down$`), w.instanceDown)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" has finished distributing$`), w.waitDistFinished)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is FAILED on "([^"]*)" and SUCCESS on the other distributed instances$`), w.failedOnlyOn)
	sc.Step(re(`^only the instances in "([^"]*)" are described$`), w.onlyInstancesInRegion)
	sc.Step(re(`^only the instances "([^"]*)" are described$`), w.onlyInstances)
	sc.Step(re(`^no dist result is described$`), w.noDistDescribed)
	sc.Step(re(`^the dist TotalCount is (\d+)$`), w.distTotalCount)
	sc.Step(re(`^the page holds (\d+) dist results?$`), w.distPageHolds)
}

// appCallDefaults completes defaults for the application and dist actions.
func (w *world) appCallDefaults(c *call) {
	switch c.Action {
	case "CreateApplication":
		c.Params.Del("AppId")
		c.Params.Set("Template", `{"appMetaData":{"appName":"conform"},"resourceSelector":[{"count":1}]}`)
	case "ListApplications":
		c.Params.Del("AppId")
	case "DistApplicationData":
		data, _ := json.Marshal([]map[string]string{{"name": w.name("app01"), "version": "1.0"}})
		c.Params.Set("Data", string(data))
	}
}

var instancePlaceholder = regexp.MustCompile(`\{instance(\d+)\}`)

// expandApp replaces {instanceN} with the Nth instance of the application
// (its ids sorted), then expands the rest as world.expand does.
func (w *world) expandApp(s string) (string, error) {
	var err error
	s = instancePlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(instancePlaceholder.FindStringSubmatch(m)[1])
		if e := w.loadInstances(); e != nil {
			err = e
			return m
		}
		ids := w.aw().ordered
		if n < 1 || n > len(ids) {
			err = fmt.Errorf("%s: the application has %d instances", m, len(ids))
			return m
		}
		return ids[n-1]
	})
	if err != nil {
		return "", err
	}
	return w.expand(s)
}

// ---- applications -------------------------------------------------------------

func (w *world) createApp(t *godog.Table, must bool) error {
	var sel []map[string]any
	for i, row := range t.Rows {
		if i == 0 {
			continue // header: region | count
		}
		if len(row.Cells) != 2 {
			return errors.New("the table has two columns: region and count")
		}
		region, err := w.expand(row.Cells[0].Value)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(row.Cells[1].Value)
		if err != nil {
			return fmt.Errorf("count %q: %v", row.Cells[1].Value, err)
		}
		sel = append(sel, map[string]any{"regionCode": region, "count": n})
	}
	tmpl, _ := json.Marshal(map[string]any{
		"appMetaData":       map[string]any{"appName": "conform-" + token(), "clusterName": "conform", "appType": "Common"},
		"resourceAttribute": map[string]any{"instanceSpec": "ens.sn1.tiny", "systemDiskSize": 20},
		"resourceSelector":  sel,
	})
	ex := w.send(call{Action: "CreateApplication", Params: url.Values{"Template": {string(tmpl)}}})
	id, _ := field(ex.Body().Doc, "AppId")
	if ex.Status == http.StatusOK && id != "" {
		w.app = id
		a := w.aw()
		a.instances, a.ordered = nil, nil
	}
	if !must {
		return nil
	}
	if err := w.requestSucceeds(); err != nil {
		return err
	}
	if id == "" {
		return w.failf(ex, "CreateApplication answered no AppId")
	}
	return nil
}

func (w *world) answerHasAppID() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if id, ok := b.Doc["AppId"].(string); !ok || id == "" {
		return w.failf(ex, "the answer has no non-empty AppId string")
	}
	return nil
}

// applicationDoc decodes the Application JSON string of a DescribeApplication answer.
func (w *world) applicationDoc(ex *exchange) (map[string]any, error) {
	b, err := w.parsed(ex)
	if err != nil {
		return nil, err
	}
	s, ok := b.Doc["Application"].(string)
	if !ok {
		return nil, w.failf(ex, "Application is not a string")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, w.failf(ex, "Application is not a JSON object: %v", err)
	}
	return doc, nil
}

func (w *world) applicationIsJSON() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	_, err = w.applicationDoc(ex)
	return err
}

func (w *world) pagingIntegers() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if err := w.pagingInts(ex, b); err != nil {
		return err
	}
	if ex.Format == "JSON" {
		for _, k := range pagingKeys {
			if _, ok := b.Doc[k].(json.Number); !ok {
				return w.failf(ex, "%s is not a JSON number", k)
			}
		}
	}
	return nil
}

var pagingKeys = []string{"PageNumber", "PageSize", "TotalCount"}

// pagingInts checks that the answer has the integers PageNumber, PageSize and TotalCount.
func (w *world) pagingInts(ex *exchange, b *body) error {
	for _, k := range pagingKeys {
		if _, err := intField(b.Doc, k); err != nil {
			return w.failf(ex, "%v", err)
		}
	}
	return nil
}

func (w *world) appListed(want bool) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	if _, err := w.parsed(ex); err != nil {
		return err
	}
	// The account may hold more applications than a page (other scenarios'
	// too): look through every page, 100 at a time.
	found := false
	for page := 1; page <= 100 && !found; page++ {
		pex := w.check(call{Action: "ListApplications", Params: url.Values{"PageNumber": {strconv.Itoa(page)}, "PageSize": {"100"}}})
		if pex.Err != nil || pex.Status != http.StatusOK {
			return w.failf(pex, "ListApplications did not succeed")
		}
		b := pex.Body()
		n := 0
		for _, cl := range list(b.get("Applications", "Application")) {
			m, _ := cl.(map[string]any)
			apps, _ := m["AppList"].(map[string]any)
			for _, a := range list(apps["App"]) {
				n++
				if id, _ := field(a, "AppId"); id == w.app {
					found = true
					if am, _ := a.(map[string]any); want {
						if _, ok := am["AppInfo"].(string); !ok {
							return w.failf(pex, "the AppInfo of %s is not a string", w.app)
						}
					}
				}
			}
		}
		total, err := intField(b.Doc, "TotalCount")
		if err != nil {
			return w.failf(pex, "%v", err)
		}
		if n == 0 || int64(page*100) >= total {
			break
		}
	}
	switch {
	case want && !found:
		return w.failf(ex, "the application %s is not listed", w.app)
	case !want && found:
		return w.failf(ex, "the application %s is still listed", w.app)
	}
	return nil
}

// walkInstances collects every object of the Application JSON with an
// InstanceId and a RegionId (the InstanceStat entries of the official example).
func walkInstances(v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		id, _ := t["InstanceId"].(string)
		region, _ := t["RegionId"].(string)
		if id != "" && region != "" {
			out[id] = region
		}
		for _, c := range t {
			walkInstances(c, out)
		}
	case []any:
		for _, c := range t {
			walkInstances(c, out)
		}
	}
}

// loadInstances reads the application's instances with DescribeApplication.
func (w *world) loadInstances() error {
	a := w.aw()
	if a.instances != nil {
		return nil
	}
	ex := w.check(call{Action: "DescribeApplication", Params: url.Values{"AppId": {w.app}, "Level": {"RegionId"}}})
	if ex.Err != nil || ex.Status != http.StatusOK {
		return w.failf(ex, "DescribeApplication did not succeed")
	}
	doc, err := w.applicationDoc(ex)
	if err != nil {
		return err
	}
	a.instances = map[string]string{}
	walkInstances(doc, a.instances)
	a.ordered = nil
	for id := range a.instances {
		a.ordered = append(a.ordered, id)
	}
	slices.Sort(a.ordered)
	return nil
}

func (w *world) instancesIn(region string) ([]string, error) {
	r, err := w.expand(region)
	if err != nil {
		return nil, err
	}
	if err := w.loadInstances(); err != nil {
		return nil, err
	}
	var out []string
	for _, id := range w.aw().ordered {
		if w.aw().instances[id] == r {
			out = append(out, id)
		}
	}
	return out, nil
}

func (w *world) appHasInstances(n1 int, r1 string, n2 int, r2 string) error {
	for _, c := range []struct {
		n      int
		region string
	}{{n1, r1}, {n2, r2}} {
		ids, err := w.instancesIn(c.region)
		if err != nil {
			return err
		}
		if len(ids) != c.n {
			return fmt.Errorf("the application has %d instances in %s (%s), want %d", len(ids), c.region, strings.Join(ids, ", "), c.n)
		}
	}
	return nil
}

func (w *world) appPhase(phase string) error {
	ex := w.check(call{Action: "DescribeApplication", Params: url.Values{"AppId": {w.app}}})
	if ex.Err != nil || ex.Status != http.StatusOK {
		return w.failf(ex, "DescribeApplication did not succeed")
	}
	doc, err := w.applicationDoc(ex)
	if err != nil {
		return err
	}
	st, _ := doc["AppStatus"].(map[string]any)
	if got, _ := st["Phase"].(string); got != phase {
		return w.failf(ex, "AppStatus.Phase is %q, want %q", got, phase)
	}
	return nil
}

func (w *world) waitDeleted() error {
	return w.waitUntil("the application "+w.app, "deleted", func() (*exchange, bool, string, error) {
		ex := w.check(call{Action: "DescribeApplication", Params: url.Values{"AppId": {w.app}}})
		switch {
		case ex.Err != nil:
			return ex, false, "no answer: " + ex.Err.Error(), nil
		case ex.Status == http.StatusOK:
			return ex, false, "DescribeApplication still answers", nil
		case ex.Status >= 400 && ex.Status < 500:
			return ex, true, "", nil
		}
		return ex, false, fmt.Sprintf("HTTP %d %s", ex.Status, ex.Body().Code()), nil
	})
}

// ---- distribution -----------------------------------------------------------------

func (w *world) dist(aliases []string, version, strategy, without string) error {
	var data []map[string]string
	a := w.aw()
	a.lastDist = nil
	for _, alias := range aliases {
		alias = strings.TrimSpace(alias)
		data = append(data, map[string]string{"name": w.name(alias), "version": version})
		a.lastDist = append(a.lastDist, w.name(alias))
	}
	raw, _ := json.Marshal(data)
	p := url.Values{"AppId": {w.app}, "Data": {string(raw)}}
	if strategy != "" {
		st, err := w.expandApp(strategy)
		if err != nil {
			return err
		}
		p.Set("DistStrategy", st)
	}
	if without != "" {
		if _, ok := p[without]; !ok {
			return fmt.Errorf("DistApplicationData has no parameter %s to leave out", without)
		}
		p.Del(without)
	}
	w.lastFiles = nil
	a.distClock = time.Time{}
	if w.s.control != nil {
		if st, err := w.s.control.clock(w.ctx); err == nil {
			a.distClock = st.Now
		}
	}
	ex := w.send(call{Action: "DistApplicationData", Params: p})
	if ex.Status == http.StatusOK {
		for _, id := range distInstanceIDs(ex.Body()) {
			a.targets[id] = true
		}
	}
	return nil
}

func distInstanceIDs(b *body) []string {
	var out []string
	for _, v := range list(b.get("DistInstanceIds", "DistInstanceId")) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// distResults reads DistApplicationData's DistResults.DistResult.
func (w *world) distResults() (*exchange, []pushResult, error) {
	ex, err := w.answer()
	if err != nil {
		return nil, nil, err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return nil, nil, err
	}
	if b.get("DistResults") == nil {
		return nil, nil, w.failf(ex, "the body has no DistResults")
	}
	var out []pushResult
	for i, v := range list(b.get("DistResults", "DistResult")) {
		var r pushResult
		var ok bool
		if r.Name, ok = field(v, "Name"); !ok {
			return nil, nil, w.failf(ex, "DistResult %d has no Name", i+1)
		}
		if r.Version, ok = field(v, "Version"); !ok {
			return nil, nil, w.failf(ex, "DistResult %d has no Version", i+1)
		}
		if r.Code, err = intField(v, "ResultCode"); err != nil {
			return nil, nil, w.failf(ex, "DistResult %d: %v", i+1, err)
		}
		if _, ok := field(v, "ResultDescrip"); !ok {
			return nil, nil, w.failf(ex, "DistResult %d has no ResultDescrip", i+1)
		}
		out = append(out, r)
	}
	return ex, out, nil
}

func (w *world) oneDistResultPerFile() error {
	ex, rs, err := w.distResults()
	if err != nil {
		return err
	}
	// The documentation does not say the DistResults follow the order of
	// Data (as with the push results), so they are compared as a set.
	want := slices.Clone(w.aw().lastDist)
	if len(rs) != len(want) {
		return w.failf(ex, "%d DistResults for %d data files", len(rs), len(want))
	}
	got := make([]string, 0, len(rs))
	for _, r := range rs {
		got = append(got, r.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return w.failf(ex, "the DistResults are for %v, want one for each of %v", got, want)
	}
	return nil
}

func (w *world) distTotal(n int) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	got, err := intField(b.Doc, "DistInstanceTotalCount")
	if err != nil {
		return w.failf(ex, "%v", err)
	}
	ids := distInstanceIDs(b)
	if got != int64(len(ids)) {
		return w.failf(ex, "DistInstanceTotalCount %d but %d DistInstanceIds", got, len(ids))
	}
	if n >= 0 && got != int64(n) {
		return w.failf(ex, "DistInstanceTotalCount %d, want %d", got, n)
	}
	return nil
}

func (w *world) distResultCode(alias string, code int) error {
	ex, rs, err := w.distResults()
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Name == w.name(alias) {
			if r.Code != int64(code) {
				return w.failf(ex, "the ResultCode of %s is %d, want %d", alias, r.Code, code)
			}
			return nil
		}
	}
	return w.failf(ex, "no DistResult for %s", alias)
}

func (w *world) lastDistIDs() (*exchange, []string, error) {
	ex, err := w.answer()
	if err != nil {
		return nil, nil, err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return nil, nil, err
	}
	ids := distInstanceIDs(b)
	slices.Sort(ids)
	return ex, ids, nil
}

func (w *world) distributedInRegion(region string) error {
	return w.instancesInRegion("distributed", w.lastDistIDs, region)
}

func (w *world) distributedAre(listText string) error {
	return w.instancesAre("distributed", w.lastDistIDs, listText)
}

// instancesInRegion checks that the instances get reads (what: "distributed"
// or "described") are exactly the app's instances in region, and not none.
func (w *world) instancesInRegion(what string, get func() (*exchange, []string, error), region string) error {
	want, err := w.instancesIn(region)
	if err != nil {
		return err
	}
	ex, got, err := get()
	if err != nil {
		return err
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		return w.failf(ex, "the %s instances are %v, want the instances in %s: %v", what, got, region, want)
	}
	return nil
}

// instancesAre checks that the instances get reads are exactly the listed ones.
func (w *world) instancesAre(what string, get func() (*exchange, []string, error), listText string) error {
	s, err := w.expandApp(listText)
	if err != nil {
		return err
	}
	want := splitTrim(s)
	slices.Sort(want)
	ex, got, err := get()
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return w.failf(ex, "the %s instances are %v, want %v", what, got, want)
	}
	return nil
}

func splitTrim(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// distStat is one StatusStat of DescribeDataDistResult, read strictly.
type distStat struct {
	Status    string
	Instances []string
}

// distFile is one DistResult of DescribeDataDistResult.
type distFile struct {
	Name, Version string
	Stats         []distStat
}

var distStatuses = []string{"SUCCESS", "FAILED", "DISTING", "POD_RESTARTING", "DELETED"}

// distFiles reads DescribeDataDistResult's answer with the documented names:
// StatusStats (lower-case s), InstanceCount a string equal to the number of
// Instances.Instance entries, each with InstanceId, StartTime, StatusDescrip, UpdateTime.
func distFiles(b *body) ([]distFile, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	if b.get("DistResults") == nil {
		return nil, errors.New("the body has no DistResults")
	}
	var out []distFile
	for i, v := range list(b.get("DistResults", "DistResult")) {
		var f distFile
		var ok bool
		if f.Name, ok = field(v, "Name"); !ok {
			return nil, fmt.Errorf("DistResult %d has no Name", i+1)
		}
		if f.Version, ok = field(v, "Version"); !ok {
			return nil, fmt.Errorf("DistResult %d has no Version", i+1)
		}
		m := v.(map[string]any)
		stats, ok := m["StatusStats"].(map[string]any)
		if !ok {
			if _, upper := m["StatusStatS"]; upper {
				return nil, fmt.Errorf("DistResult %d has StatusStatS (DescribeDataPushResult's spelling), not StatusStats", i+1)
			}
			if s, _ := m["StatusStats"].(string); s == "" && m["StatusStats"] != nil {
				stats = map[string]any{} // an empty XML container
			} else {
				return nil, fmt.Errorf("DistResult %d has no StatusStats object", i+1)
			}
		}
		for j, st := range list(stats["StatusStat"]) {
			status, ok := field(st, "Status")
			if !ok || !slices.Contains(distStatuses, status) {
				return nil, fmt.Errorf("DistResult %d StatusStat %d: Status %q is none of %s", i+1, j+1, status, strings.Join(distStatuses, ", "))
			}
			sm, _ := st.(map[string]any)
			count, isString := sm["InstanceCount"].(string)
			if !isString {
				return nil, fmt.Errorf("DistResult %d StatusStat %s: InstanceCount is %T, the metadata says a string", i+1, status, sm["InstanceCount"])
			}
			insts, _ := sm["Instances"].(map[string]any)
			entries := list(insts["Instance"])
			if n, err := strconv.Atoi(count); err != nil || n != len(entries) {
				return nil, fmt.Errorf("DistResult %d StatusStat %s: InstanceCount %q but %d Instances", i+1, status, count, len(entries))
			}
			ds := distStat{Status: status}
			for _, e := range entries {
				id, ok := field(e, "InstanceId")
				if !ok || id == "" {
					return nil, fmt.Errorf("DistResult %d StatusStat %s: an Instance has no InstanceId", i+1, status)
				}
				for _, k := range []string{"StartTime", "UpdateTime", "StatusDescrip"} {
					if _, ok := field(e, k); !ok {
						return nil, fmt.Errorf("DistResult %d StatusStat %s: instance %s has no %s", i+1, status, id, k)
					}
				}
				ds.Instances = append(ds.Instances, id)
			}
			f.Stats = append(f.Stats, ds)
		}
		out = append(out, f)
	}
	return out, nil
}

func (w *world) distShape() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	files, err := distFiles(b)
	if err != nil {
		return w.failf(ex, "%v", err)
	}
	if len(files) == 0 {
		return w.failf(ex, "no DistResult is described")
	}
	return w.pagingInts(ex, b)
}

// describeDist reads the dist status of one data file: instance → status.
func (w *world) describeDist(name, version string) (*exchange, map[string]string, error) {
	p := url.Values{"AppId": {w.app}, "DataNames": {name}, "DataVersions": {version}}
	ex := w.check(call{Action: "DescribeDataDistResult", Params: p})
	if ex.Err != nil || ex.Status != http.StatusOK {
		return ex, nil, w.failf(ex, "DescribeDataDistResult did not succeed")
	}
	files, err := distFiles(ex.Body())
	if err != nil {
		return ex, nil, w.failf(ex, "%v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		if f.Name != name || f.Version != version {
			continue
		}
		for _, st := range f.Stats {
			for _, id := range st.Instances {
				if prev, dup := out[id]; dup {
					return ex, nil, w.failf(ex, "instance %s is both %s and %s", id, prev, st.Status)
				}
				out[id] = st.Status
			}
		}
	}
	return ex, out, nil
}

func (w *world) waitDistributed(alias, version string) error {
	name := w.name(alias)
	return w.waitUntil(name+" version "+version, "SUCCESS on every distributed instance", func() (*exchange, bool, string, error) {
		ex, st, err := w.describeDist(name, version)
		if err != nil {
			return ex, false, "", err
		}
		for id := range w.aw().targets {
			switch st[id] {
			case "SUCCESS":
			case "FAILED":
				return ex, false, "", fmt.Errorf("instance %s is FAILED", id)
			default:
				return ex, false, fmt.Sprintf("instance %s is %q", id, st[id]), nil
			}
		}
		return ex, true, "", nil
	})
}

// distStatusOnTargets checks the status of every instance distributed to.
// DISTING is only required when the target's clock provably did not move
// since the dist (other scenarios running at once may advance it): with a
// control plane whose clock reads the same before the dist and after the
// describe; otherwise a transfer may have finished, and SUCCESS is accepted too.
func (w *world) distStatusOnTargets(alias, version, status string) error {
	ex, st, err := w.describeDist(w.name(alias), version)
	if err != nil {
		return err
	}
	a := w.aw()
	targets := a.targets
	if len(targets) == 0 {
		return errors.New("no instance was distributed to in this scenario")
	}
	accept := []string{status}
	if status == "DISTING" {
		still := false
		if w.s.control != nil && !a.distClock.IsZero() {
			if c, err := w.s.control.clock(w.ctx); err == nil && c.Now.Equal(a.distClock) {
				still = true
			}
		}
		if !still {
			accept = append(accept, "SUCCESS")
		}
	}
	for id := range targets {
		if !slices.Contains(accept, st[id]) {
			return w.failf(ex, "instance %s is %q, want %s", id, st[id], strings.Join(accept, " or "))
		}
	}
	for id := range st {
		if !targets[id] {
			return w.failf(ex, "instance %s is described but was never distributed to", id)
		}
	}
	return nil
}

// describedInstances lists the instances of the last DescribeDataDistResult answer.
func (w *world) describedInstances() (*exchange, []string, error) {
	ex, err := w.answer()
	if err != nil {
		return nil, nil, err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return nil, nil, err
	}
	files, err := distFiles(b)
	if err != nil {
		return nil, nil, w.failf(ex, "%v", err)
	}
	var ids []string
	for _, f := range files {
		for _, st := range f.Stats {
			ids = append(ids, st.Instances...)
		}
	}
	slices.Sort(ids)
	return ex, slices.Compact(ids), nil
}

func (w *world) onlyInstancesInRegion(region string) error {
	return w.instancesInRegion("described", w.describedInstances, region)
}

func (w *world) onlyInstances(listText string) error {
	return w.instancesAre("described", w.describedInstances, listText)
}

func (w *world) noDistDescribed() error {
	ex := w.check(call{Action: "DescribeDataDistResult", Params: url.Values{"AppId": {w.app}}})
	if ex.Err != nil || ex.Status != http.StatusOK {
		return w.failf(ex, "DescribeDataDistResult did not succeed")
	}
	files, err := distFiles(ex.Body())
	if err != nil {
		return w.failf(ex, "%v", err)
	}
	for _, f := range files {
		for _, st := range f.Stats {
			if len(st.Instances) > 0 {
				return w.failf(ex, "%s version %s is described on %d instances", f.Name, f.Version, len(st.Instances))
			}
		}
	}
	return nil
}

func (w *world) distTotalCount(n int) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	return w.intIs(ex, "TotalCount", n)
}

func (w *world) distPageHolds(n int) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	files, err := distFiles(ex.Body())
	if err != nil {
		return w.failf(ex, "%v", err)
	}
	if len(files) != n {
		return w.failf(ex, "%d DistResults on the page, want %d", len(files), n)
	}
	return nil
}

// describeDistWith sends DescribeDataDistResult for the application with the
// parameters of the table (name | value; {instanceN} placeholders allowed).
func (w *world) describeDistWith(t *godog.Table) error {
	p := url.Values{"AppId": {w.app}}
	if t != nil {
		for _, row := range t.Rows {
			if len(row.Cells) != 2 {
				return errors.New("the parameter table has two columns: name and value")
			}
			v, err := w.expandApp(row.Cells[1].Value)
			if err != nil {
				return err
			}
			p.Set(row.Cells[0].Value, v)
		}
	}
	w.lastFiles = nil
	w.send(call{Action: "DescribeDataDistResult", Params: p})
	return nil
}

// instanceDown injects an instance_down fault (ensmock's control plane) for
// one instance of the application.
func (w *world) instanceDown(instance string) error {
	if err := w.needControl(); err != nil {
		return err
	}
	id, err := w.expandApp(instance)
	if err != nil {
		return err
	}
	return w.addFault(faultRule{Match: map[string]string{"instance": id}, Effect: "instance_down"})
}

func (w *world) waitDistFinished(alias, version string) error {
	name := w.name(alias)
	return w.waitUntil(name+" version "+version, "finished distributing", func() (*exchange, bool, string, error) {
		ex, st, err := w.describeDist(name, version)
		if err != nil {
			return ex, false, "", err
		}
		for id := range w.aw().targets {
			if s := st[id]; s != "SUCCESS" && s != "FAILED" {
				return ex, false, fmt.Sprintf("instance %s is %q", id, s), nil
			}
		}
		return ex, true, "", nil
	})
}

func (w *world) failedOnlyOn(alias, version, instance string) error {
	failed, err := w.expandApp(instance)
	if err != nil {
		return err
	}
	ex, st, err := w.describeDist(w.name(alias), version)
	if err != nil {
		return err
	}
	for id := range w.aw().targets {
		want := "SUCCESS"
		if id == failed {
			want = "FAILED"
		}
		if st[id] != want {
			return w.failf(ex, "instance %s is %q, want %s", id, st[id], want)
		}
	}
	return nil
}

// appEveryParam is everyParam for the application and dist actions: a valid
// call with every documented parameter (ok is false for another action).
func (w *world) appEveryParam(action, region string) (url.Values, bool, error) {
	wide := url.Values{"MinDate": {"2000-01-01"}, "MaxDate": {"2999-12-31"}} // any clock, any time zone
	out := `{"appInfo":true,"detailStat":true,"appVersionStat":true,"districtStat":true,"instanceStat":true,"podCountStat":true}`
	canary := fmt.Sprintf(`{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":[%q]}]}}`, region)
	name := w.name("app01")
	var p url.Values
	switch action {
	case "CreateApplication":
		tmpl, _ := json.Marshal(map[string]any{
			"appMetaData":       map[string]any{"appName": "conform-" + token(), "clusterName": "conform", "appType": "Common", "description": "conform"},
			"resourceAttribute": map[string]any{"instanceSpec": "ens.sn1.tiny", "systemDiskSize": 20},
			"resourceSelector":  []any{map[string]any{"regionCode": region, "count": 1}},
		})
		p = url.Values{"Template": {string(tmpl)}, "Timeout": {"1800"}}
	case "DescribeApplication":
		sel, _ := json.Marshal([]any{map[string]any{"regionCode": region, "count": 1}})
		p = url.Values{"AppId": {w.app}, "AppVersions": {"All"}, "Level": {"RegionId"}, "OutDetailStatParams": {out}, "ResourceSelector": {string(sel)}}
	case "ListApplications":
		p = url.Values{"ClusterNames": {"conform"}, "AppVersions": {"All"}, "Level": {"National"}, "OutAppInfoParams": {out},
			"PageNumber": {"1"}, "PageSize": {"10"}, "MinDate": wide["MinDate"], "MaxDate": wide["MaxDate"]}
	case "DeleteApplication":
		p = url.Values{"AppId": {w.app}, "Timeout": {"300"}}
	case "DistApplicationData":
		data, _ := json.Marshal([]map[string]any{{"name": name, "version": "1.0", "destPath": "/root/installed", "decompress": false, "fileMode": 644, "timeout": 1000}})
		p = url.Values{"AppId": {w.app}, "Data": {string(data)}, "DistStrategy": {canary}}
	case "DescribeDataDistResult":
		if err := w.loadInstances(); err != nil {
			return nil, true, err
		}
		regions, _ := json.Marshal([]string{region})
		p = url.Values{"AppId": {w.app}, "DataNames": {name}, "DataVersions": {"1.0"}, "InstanceIds": {strings.Join(w.aw().ordered, ",")},
			"EnsRegionIds": {string(regions)}, "PageNumber": {"1"}, "PageSize": {"10"}, "MinDate": wide["MinDate"], "MaxDate": wide["MaxDate"]}
	default:
		return nil, false, nil
	}
	return p, true, nil
}
