package conformance

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/ensmock/ensmock/signature"
)

// steps registers every step definition of the suite on sc for the scenario w.
func (w *world) steps(sc *godog.ScenarioContext) {
	// Every answer is checked against the documented response schema as it
	// arrives (world.observe); a deviation fails the step that received it.
	sc.Before(func(c context.Context, p *godog.Scenario) (context.Context, error) {
		w.ctx = withScenario(c, p)
		return w.ctx, nil
	})
	sc.StepContext().After(func(c context.Context, _ *godog.Step, _ godog.StepResultStatus, err error) (context.Context, error) {
		if v := w.takeViolation(); v != nil && err == nil {
			return c, v
		}
		return c, nil
	})
	sc.After(func(c context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		worldObs.Delete(w)
		return c, nil
	})

	w.appSteps(sc) // steps_apps.go
	// Setup.
	sc.Step(re(`^a fresh application$`), w.aFreshApplication)
	sc.Step(re(`^responses are requested in (JSON|XML)$`), w.responsesIn)
	sc.Step(re(`^the client uses the denied credentials$`), w.useDenied)
	sc.Step(re(`^the client uses an unknown AccessKeyId$`), w.useUnknownKey)
	sc.Step(re(`^the client signs with a wrong AccessKeySecret$`), w.useWrongSecret)
	sc.Step(re(`^the request time is (\d+) minutes in the past$`), w.requestTimeInPast)
	sc.Step(re(`^the target's regions are known$`), w.regionsKnown)
	sc.Step(re(`^the target has at least (\d+) regions$`), w.atLeastRegions)

	// Pushing.
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)"$`), func(a, v string) error { return w.pushOne(a, v, "1 KB", "") })
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" of (\d+ ?[A-Za-z]*)$`), func(a, v, size string) error { return w.pushOne(a, v, size, "") })
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" of (\d+ ?[A-Za-z]*) with Timeout "([^"]*)"$`), w.pushOne)
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" with Timeout "([^"]*)"$`), func(a, v, t string) error { return w.pushOne(a, v, "1 KB", t) })
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" again$`), w.pushAgain)
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" with the push strategy:$`), w.pushWithStrategy)
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" with the API version "([^"]*)"$`), w.pushWithVersion)
	sc.Step(re(`^I push the data files:$`), w.pushTable)
	sc.Step(re(`^I have pushed the data files:$`), w.havePushedTable)
	sc.Step(re(`^I push with the Data:$`), w.pushRawData)
	sc.Step(re(`^I push (\d+) data files at once$`), w.pushMany)

	// Raw calls.
	sc.Step(re(`^I call (\w+) without the (\w+) parameter$`), w.callWithout)
	sc.Step(re(`^I call (\w+) with:$`), w.callWith)
	sc.Step(re(`^I call (\w+) with the HTTP method (GET|POST)$`), w.callWithMethod)
	sc.Step(re(`^I call the action "([^"]*)"$`), w.callAction)
	sc.Step(re(`^I send exactly the same request again$`), w.replay)
	sc.Step(re(`^I send a request that provokes (\S+)$`), w.provoke)
	sc.Step(re(`^I push "([^"]*)" version "([^"]*)" without any signature parameter$`), w.pushUnsigned)
	sc.Step(re(`^I call (\w+) with every documented parameter by (GET|POST) in the (query|form body)$`), w.callEveryParam)

	// Describing and downloading.
	sc.Step(re(`^I describe the push results$`), func() error { return w.callWith("DescribeDataPushResult", nil) })
	sc.Step(re(`^I describe the push results with:$`), func(t *godog.Table) error { return w.callWith("DescribeDataPushResult", t) })
	sc.Step(re(`^I ask for the download URL of "([^"]*)" version "([^"]*)"$`), w.askDownloadURL)

	// Waiting.
	sc.Step(re(`^"([^"]*)" version "([^"]*)" has been pushed to every target file server$`), w.waitPushed)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" has finished pushing$`), w.waitFinished)

	// Control plane.
	sc.Step(re(`^the region "([^"]*)" is down for "([^"]*)"$`), w.regionDown)
	sc.Step(re(`^the transfers of "([^"]*)" are corrupted$`), w.corrupt)
	sc.Step(re(`^the transfers of "([^"]*)" take hours$`), w.slowTransfers)
	sc.Step(re(`^the (?:region )?fault is removed$`), w.removeFaults)

	// Outcomes.
	sc.Step(re(`^the request succeeds$`), w.requestSucceeds)
	sc.Step(re(`^the request fails with HTTP (\d{3}(?: or \d{3})*) and code ("[^"]+"(?: or "[^"]+")*)$`), w.requestFails)
	sc.Step(re(`^the request fails with HTTP (\d{3}(?: or \d{3})*) and an InvalidParameter code$`), w.requestFailsInvalidParameter)
	sc.Step(re(`^the request is refused for lack of permission$`), w.refusedForPermission)
	sc.Step(re(`^the request is refused with an HTTP 4xx error$`), w.refused4xx)
	sc.Step(re(`^the error message is "([^"]*)"$`), w.errorMessage)
	sc.Step(re(`^the error has the string fields (.+)$`), w.errorStringFields)
	sc.Step(re(`^the RequestId in the body matches the x-acs-request-id header, if there is one$`), w.requestIDHeader)
	sc.Step(re(`^the response is XML with the root element "([^"]*)"$`), w.xmlRoot)
	sc.Step(re(`^there is one push result per data file, in order$`), func() error { return w.oneResultPerFile(true) })
	sc.Step(re(`^there is one push result per data file$`), func() error { return w.oneResultPerFile(false) })
	sc.Step(re(`^the ResultCode of "([^"]*)" is (\d+(?: or \d+)*)$`), w.resultCodeOf)
	sc.Step(re(`^every ResultCode is (\d+)$`), w.everyResultCode)
	sc.Step(re(`^the ResultDescrip of "([^"]*)" is not empty$`), func(a string) error { return w.resultDescrip(a, "") })
	sc.Step(re(`^the ResultDescrip of "([^"]*)" mentions "([^"]*)"$`), w.resultDescrip)
	sc.Step(re(`^the push results are:$`), func(t *godog.Table) error { return w.pushResultsAre(t, true) })
	sc.Step(re(`^the push results are, in any order:$`), func(t *godog.Table) error { return w.pushResultsAre(t, false) })
	sc.Step(re(`^the described data files are "([^"]*)"$`), w.describedFilesAre)
	sc.Step(re(`^the answer describes no data file$`), w.answerDescribesNone)
	sc.Step(re(`^no data file is described$`), w.noDataFileDescribed)
	sc.Step(re(`^the TotalCount is (\d+)$`), w.totalCount)
	sc.Step(re(`^the page holds (\d+) data files?$`), w.pageHolds)
	sc.Step(re(`^the pages together describe "([^"]*)"$`), w.pagesTogether)
	sc.Step(re(`^only the regions "([^"]*)" are described$`), w.onlyRegionsDescribed)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is described in exactly the regions "([^"]*)"$`), w.describedInExactly)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is described in every known region$`), func(a, v string) error { return w.describedInAllBut(a, v, "") })
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is described in every known region except "([^"]*)"$`), w.describedInAllBut)
	sc.Step(re(`^"([^"]*)" version "([^"]*)" is (PUSHING|SUCCESS|FAILED) in every region it is described in$`), w.statusEverywhere)
	sc.Step(re(`^the answer has a download URL and at least one file server with a Host and a RegionId$`), w.downloadAnswer)
	sc.Step(re(`^every listed file server is in a region where "([^"]*)" version "([^"]*)" was pushed$`), w.serversInPushedRegions)
	sc.Step(re(`^every listed file server is in the regions "([^"]*)"$`), w.serversInRegions)
	sc.Step(re(`^the download link serves the bytes of "([^"]*)" version "([^"]*)"$`), w.linkServes)
}

// stepRE caches the compiled step expressions: godog registers the steps once
// per scenario, and compiling them each time would dominate a run.
var stepRE sync.Map

func re(expr string) *regexp.Regexp {
	if r, ok := stepRE.Load(expr); ok {
		return r.(*regexp.Regexp)
	}
	r, _ := stepRE.LoadOrStore(expr, regexp.MustCompile(expr))
	return r.(*regexp.Regexp)
}

// ---- setup ------------------------------------------------------------------

func (w *world) aFreshApplication() error {
	w.freshApp()
	return nil
}

func (w *world) responsesIn(format string) error {
	w.format = format
	return nil
}

func (w *world) useDenied() error {
	if w.s.denied.id == "" {
		return errors.New("no denied credentials are configured (--denied-key-id / ENS_DENIED_ACCESS_KEY_ID)")
	}
	w.cred = w.s.denied
	return nil
}

func (w *world) useUnknownKey() error {
	w.cred = credential{id: "conform-unknown-" + token(), secret: "conform-secret"}
	return nil
}

func (w *world) useWrongSecret() error {
	w.cred = credential{id: w.s.main.id, secret: w.s.main.secret + "-wrong"}
	return nil
}

func (w *world) requestTimeInPast(minutes int) error {
	w.skew = -time.Duration(minutes) * time.Minute
	return nil
}

func (w *world) regionsKnown() error {
	_, err := w.s.knownRegions(w.ctx)
	return err
}

func (w *world) atLeastRegions(n int) error {
	regions, err := w.s.knownRegions(w.ctx)
	if err != nil {
		return err
	}
	if len(regions) < n {
		return fmt.Errorf("this scenario needs a target with at least %d regions; it has %d (%s)", n, len(regions), strings.Join(regions, ", "))
	}
	return nil
}

// ---- pushing ----------------------------------------------------------------

var sizeRE = regexp.MustCompile(`^(\d+) ?([A-Za-z]*)$`)

// parseSize reads "100", "100 bytes", "1 KB", "300 MB", "1 TB" (binary units).
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("size %q: want a number and an optional unit (B, KB, MB, GB, TB)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	shift := map[string]uint{"": 0, "B": 0, "BYTE": 0, "BYTES": 0, "KB": 10, "MB": 20, "GB": 30, "TB": 40}
	sh, ok := shift[strings.ToUpper(m[2])]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, m[2])
	}
	return n << sh, nil
}

func (w *world) newFile(alias, version, size string) (dataFile, error) {
	n, err := parseSize(size)
	if err != nil {
		return dataFile{}, err
	}
	if n > maxFileBytes {
		// A real ENS downloads every url: a declared size that is not the size
		// of the bytes served would fail the push, not make it slow.
		return dataFile{}, fmt.Errorf("size %q: the runner serves data files of at most %d bytes (a scenario must not rely on a declared size to make a transfer slow: use the control plane)", size, maxFileBytes)
	}
	return w.s.files.Add(w.name(alias), version, "tar.gz", n)
}

// pushFiles pushes files (and extra parameters such as PushStrategy) to the app.
func (w *world) pushFiles(files []dataFile, extra url.Values) *exchange {
	data, _ := json.Marshal(files)
	p := url.Values{"AppId": {w.app}, "Data": {string(data)}}
	for k, v := range extra {
		p[k] = v
	}
	c := call{Action: "PushApplicationData", Params: p}
	for _, f := range files {
		w.pushes[f.Name] = c
	}
	w.lastFiles = files
	return w.send(c)
}

func (w *world) pushOne(alias, version, size, timeout string) error {
	f, err := w.newFile(alias, version, size)
	if err != nil {
		return err
	}
	var extra url.Values
	if timeout != "" {
		extra = url.Values{"Timeout": {timeout}}
	}
	w.pushFiles([]dataFile{f}, extra)
	return nil
}

func (w *world) pushAgain(alias, version string) error {
	c, ok := w.pushes[w.name(alias)]
	if !ok {
		return fmt.Errorf("%q has not been pushed in this scenario", alias)
	}
	var files []dataFile
	_ = json.Unmarshal([]byte(c.Params.Get("Data")), &files)
	w.lastFiles = files
	w.send(c)
	return nil
}

func (w *world) pushWithStrategy(alias, version string, doc *godog.DocString) error {
	f, err := w.newFile(alias, version, "1 KB")
	if err != nil {
		return err
	}
	st, err := w.expand(doc.Content)
	if err != nil {
		return err
	}
	w.pushFiles([]dataFile{f}, url.Values{"PushStrategy": {st}})
	return nil
}

func (w *world) pushWithVersion(alias, version, apiVersion string) error {
	f, err := w.newFile(alias, version, "1 KB")
	if err != nil {
		return err
	}
	data, _ := json.Marshal([]dataFile{f})
	w.send(call{Action: "PushApplicationData", Version: apiVersion, Params: url.Values{"AppId": {w.app}, "Data": {string(data)}}})
	return nil
}

// tableFiles reads a table with the columns name, version and optionally size
// and timeout (seconds).
func (w *world) tableFiles(t *godog.Table) ([]dataFile, error) {
	if len(t.Rows) < 2 {
		return nil, errors.New("the table needs a header row and at least one data file")
	}
	col := map[string]int{}
	for i, c := range t.Rows[0].Cells {
		col[c.Value] = i
	}
	for _, need := range []string{"name", "version"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the table has no %q column", need)
		}
	}
	var files []dataFile
	for _, row := range t.Rows[1:] {
		size := "1 KB"
		if i, ok := col["size"]; ok {
			size = row.Cells[i].Value
		}
		f, err := w.newFile(row.Cells[col["name"]].Value, row.Cells[col["version"]].Value, size)
		if err != nil {
			return nil, err
		}
		if i, ok := col["timeout"]; ok {
			if f.Timeout, err = strconv.ParseInt(row.Cells[i].Value, 10, 64); err != nil {
				return nil, fmt.Errorf("timeout %q: %v", row.Cells[i].Value, err)
			}
		}
		files = append(files, f)
	}
	return files, nil
}

func (w *world) pushTable(t *godog.Table) error {
	files, err := w.tableFiles(t)
	if err != nil {
		return err
	}
	w.pushFiles(files, nil)
	return nil
}

func (w *world) havePushedTable(t *godog.Table) error {
	if err := w.pushTable(t); err != nil {
		return err
	}
	if err := w.requestSucceeds(); err != nil {
		return err
	}
	return w.everyResultCode(0)
}

// pushMany pushes n small data files in one request.
func (w *world) pushMany(n int) error {
	files := make([]dataFile, 0, n)
	for i := range n {
		f, err := w.newFile(fmt.Sprintf("many%03d", i), "1.0", "100")
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	w.pushFiles(files, nil)
	return nil
}

func (w *world) pushRawData(doc *godog.DocString) error {
	content := doc.Content
	if strings.Contains(content, "{url}") {
		// {url} is the url of a data file the runner serves, so that no
		// scenario names an address nobody serves, even in a refused push.
		f, err := w.s.files.Add(w.name("served"), "1.0", "tar.gz", 1024)
		if err != nil {
			return err
		}
		content = strings.ReplaceAll(content, "{url}", f.URL)
	}
	data, err := w.expand(content)
	if err != nil {
		return err
	}
	w.lastFiles = nil
	w.send(call{Action: "PushApplicationData", Params: url.Values{"AppId": {w.app}, "Data": {data}}})
	return nil
}

// ---- raw calls --------------------------------------------------------------

// defaults are the parameters of a valid call of action, for steps that change one.
func (w *world) defaults(action string) (call, error) {
	c := call{Action: action, Params: url.Values{"AppId": {w.app}}}
	switch action {
	case "PushApplicationData":
		f, err := w.newFile("app01", "1.0", "1 KB")
		if err != nil {
			return c, err
		}
		data, _ := json.Marshal([]dataFile{f})
		c.Params.Set("Data", string(data))
	case "DescribeDataDownloadURL":
		c.Method = http.MethodGet
		c.Params.Set("DataName", w.name("app01"))
		c.Params.Set("DataVersion", "1.0")
	default:
		w.appCallDefaults(&c) // steps_apps.go
	}
	return c, nil
}

func (w *world) callWithout(action, param string) error {
	c, err := w.defaults(action)
	if err != nil {
		return err
	}
	if _, ok := c.Params[param]; !ok {
		return fmt.Errorf("%s has no default parameter %s to leave out", action, param)
	}
	c.Params.Del(param)
	w.lastFiles = nil
	w.send(c)
	return nil
}

// callWith sends a valid call of action with the parameters of the table
// (two columns: name and value; the value <absent> leaves a parameter out).
func (w *world) callWith(action string, t *godog.Table) error {
	c, err := w.defaults(action)
	if err != nil {
		return err
	}
	if t != nil {
		for _, row := range t.Rows {
			if len(row.Cells) != 2 {
				return errors.New("the parameter table has two columns: name and value")
			}
			k, v := row.Cells[0].Value, row.Cells[1].Value
			if v == "<absent>" {
				c.Params.Del(k)
				continue
			}
			if v, err = w.expand(v); err != nil {
				return err
			}
			c.Params.Set(k, v)
		}
	}
	w.lastFiles = nil
	w.send(c)
	return nil
}

func (w *world) callWithMethod(action, method string) error {
	c, err := w.defaults(action)
	if err != nil {
		return err
	}
	c.Method = method
	w.send(c)
	return nil
}

func (w *world) callAction(action string) error {
	w.send(call{Action: action, Params: url.Values{"AppId": {w.app}}})
	return nil
}

func (w *world) replay() error {
	if w.last == nil {
		return errors.New("no request has been sent in this scenario")
	}
	action := ""
	if w.last.call != nil {
		action = w.last.call.Action
	}
	w.last = w.s.target.replay(w.ctx, w.last)
	w.observe(action, w.last)
	return nil
}

// provoke sends a request that should answer the error code.
func (w *world) provoke(code string) error {
	switch code {
	case "MissingParameter":
		return w.callWithout("PushApplicationData", "AppId")
	case "InvalidParameter.Data":
		return w.pushRawData(&godog.DocString{Content: "not JSON"}) // documented: "must be a JSON string"
	case "InvalidParameter.AppId":
		c, _ := w.defaults("PushApplicationData")
		c.Params.Set("AppId", strings.Repeat("a", 300))
		w.send(c)
		return nil
	case "NoPermission":
		if err := w.useDenied(); err != nil {
			return err
		}
	case "InvalidAccessKeyId.NotFound":
		_ = w.useUnknownKey()
	case "SignatureDoesNotMatch":
		_ = w.useWrongSecret()
	case "InvalidTimeStamp.Expired":
		_ = w.requestTimeInPast(30)
	case "SignatureNonceUsed":
		if err := w.pushOne("app01", "1.0", "1 KB", ""); err != nil {
			return err
		}
		if err := w.requestSucceeds(); err != nil {
			return err
		}
		return w.replay()
	case "InvalidAction.NotFound":
		return w.callAction("PushApplicationDatum")
	case "InvalidVersion":
		return w.pushWithVersion("app01", "1.0", "2099-01-01")
	default:
		return fmt.Errorf("the suite knows no request that provokes %s", code)
	}
	return w.pushOne("app01", "1.0", "1 KB", "")
}

// ---- describing and downloading -----------------------------------------------

func (w *world) askDownloadURL(alias, version string) error {
	w.send(call{Action: "DescribeDataDownloadURL", Method: http.MethodGet,
		Params: url.Values{"AppId": {w.app}, "DataName": {w.name(alias)}, "DataVersion": {version}}})
	return nil
}

// ---- waiting ------------------------------------------------------------------

func (w *world) waitPushed(alias, version string) error {
	return w.waitFor(alias, version, "SUCCESS on every file server", func(regions map[string]string) (bool, error) {
		done := true
		for r, st := range regions {
			switch st {
			case "FAILED":
				return false, fmt.Errorf("region %s is FAILED", r)
			case "PUSHING":
				done = false
			}
		}
		return done, nil
	})
}

func (w *world) waitFinished(alias, version string) error {
	return w.waitFor(alias, version, "finished (no region PUSHING)", func(regions map[string]string) (bool, error) {
		for _, st := range regions {
			if st == "PUSHING" {
				return false, nil
			}
		}
		return true, nil
	})
}

// ---- control plane ---------------------------------------------------------------

func (w *world) needControl() error {
	if w.s.control == nil {
		return errors.New("this scenario needs the control plane: give its URL (--control / ENSMOCK_CONTROL_URL) or deselect @control")
	}
	return nil
}

func (w *world) regionDown(region, alias string) error {
	if err := w.needControl(); err != nil {
		return err
	}
	r, err := w.expand(region)
	if err != nil {
		return err
	}
	return w.addFault(faultRule{Match: map[string]string{"region": r, "name": w.name(alias)}, Effect: "region_down"})
}

// corrupt makes every transfer of the data file end FAILED with an md5 mismatch.
func (w *world) corrupt(alias string) error {
	if err := w.needControl(); err != nil {
		return err
	}
	return w.addFault(faultRule{Match: map[string]string{"name": w.name(alias)}, Effect: "corrupt"})
}

// addFault injects r through the control plane, to be removed after the scenario.
func (w *world) addFault(r faultRule) error {
	id, err := w.s.control.addFault(w.ctx, r)
	if err != nil {
		return err
	}
	w.faults = append(w.faults, id)
	return nil
}

func (w *world) removeFaults() error {
	if err := w.needControl(); err != nil {
		return err
	}
	if len(w.faults) == 0 {
		return errors.New("no fault was injected in this scenario")
	}
	for len(w.faults) > 0 {
		if err := w.s.control.removeFault(w.ctx, w.faults[0]); err != nil {
			return err
		}
		w.faults = w.faults[1:]
	}
	return nil
}

// ---- outcomes -------------------------------------------------------------------

// answer returns the last exchange, or an error when there is none or it
// has no HTTP response.
func (w *world) answer() (*exchange, error) {
	if w.last == nil {
		return nil, errors.New("no request has been sent in this scenario")
	}
	if w.last.Err != nil {
		return nil, w.failf(w.last, "the request got no answer: %v", w.last.Err)
	}
	return w.last, nil
}

// parsed checks that the answer is in the format the request asked for.
func (w *world) parsed(ex *exchange) (*body, error) {
	b := ex.Body()
	if b.Err != nil {
		return nil, w.failf(ex, "%v", b.Err)
	}
	if b.Format != ex.Format {
		return nil, w.failf(ex, "the request asked for %s, the answer is %s", ex.Format, b.Format)
	}
	return b, nil
}

func (w *world) requestSucceeds() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	if ex.Status != http.StatusOK {
		return w.failf(ex, "expected HTTP 200, got %d", ex.Status)
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if id, ok := b.Doc["RequestId"].(string); !ok || id == "" {
		return w.failf(ex, "the answer has no RequestId string")
	}
	return nil
}

func parseStatuses(s string) []int {
	var out []int
	for _, part := range strings.Split(s, " or ") {
		n, _ := strconv.Atoi(strings.TrimSpace(part))
		out = append(out, n)
	}
	return out
}

var quoted = regexp.MustCompile(`"([^"]+)"`)

func (w *world) failure(statuses string) (*exchange, *body, error) {
	ex, err := w.answer()
	if err != nil {
		return nil, nil, err
	}
	want := parseStatuses(statuses)
	if !slices.Contains(want, ex.Status) {
		return nil, nil, w.failf(ex, "expected HTTP %s, got %d", statuses, ex.Status)
	}
	b, err := w.parsed(ex)
	if err != nil {
		return nil, nil, err
	}
	return ex, b, nil
}

func (w *world) requestFails(statuses, codes string) error {
	ex, b, err := w.failure(statuses)
	if err != nil {
		return err
	}
	var want []string
	for _, m := range quoted.FindAllStringSubmatch(codes, -1) {
		want = append(want, m[1])
	}
	if got := b.Code(); !slices.Contains(want, got) {
		return w.failf(ex, "expected the code %s, got %q", strings.Join(want, " or "), got)
	}
	return nil
}

func (w *world) requestFailsInvalidParameter(statuses string) error {
	ex, b, err := w.failure(statuses)
	if err != nil {
		return err
	}
	if got := b.Code(); got != "InvalidParameter" && !strings.HasPrefix(got, "InvalidParameter.") {
		return w.failf(ex, "expected InvalidParameter or InvalidParameter.<Name>, got %q", got)
	}
	return nil
}

func (w *world) errorMessage(msg string) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if got, _ := b.Doc["Message"].(string); got != msg {
		return w.failf(ex, "expected the Message %q, got %q", msg, got)
	}
	return nil
}

// splitNames reads "A, B, C and D".
func splitNames(s string) []string {
	var out []string
	for _, part := range strings.Split(strings.ReplaceAll(s, " and ", ","), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (w *world) errorStringFields(list string) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if ex.Status < 400 {
		return w.failf(ex, "expected an error, got HTTP %d", ex.Status)
	}
	for _, f := range splitNames(list) {
		v, present := b.Doc[f]
		if !present {
			return w.failf(ex, "the error body has no %s", f)
		}
		s, ok := v.(string)
		if !ok {
			return w.failf(ex, "the error field %s is %T, not a string", f, v)
		}
		if (f == "RequestId" || f == "Code") && s == "" {
			return w.failf(ex, "the error field %s is empty", f)
		}
	}
	return nil
}

func (w *world) requestIDHeader() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	id, _ := b.Doc["RequestId"].(string)
	if id == "" {
		return w.failf(ex, "the body has no RequestId")
	}
	if h := ex.RespHeader.Get("x-acs-request-id"); h != "" && h != id {
		return w.failf(ex, "the body's RequestId %q differs from the x-acs-request-id header %q", id, h)
	}
	return nil
}

func (w *world) xmlRoot(root string) error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b := ex.Body()
	if b.Err != nil || b.Format != "XML" {
		return w.failf(ex, "expected an XML body (%v)", b.Err)
	}
	if b.Root != root {
		return w.failf(ex, "expected the root element <%s>, got <%s>", root, b.Root)
	}
	return nil
}

func (w *world) results() (*exchange, []pushResult, error) {
	if err := w.requestSucceeds(); err != nil {
		return nil, nil, err
	}
	rs, err := w.last.Body().pushResults()
	if err != nil {
		return nil, nil, w.failf(w.last, "%v", err)
	}
	return w.last, rs, nil
}

// oneResultPerFile: one PushResult per pushed data file, Name and Version
// echoed; ordered also wants them in the order of Data (ensmock's choice: the
// documentation does not fix the order).
func (w *world) oneResultPerFile(ordered bool) error {
	ex, rs, err := w.results()
	if err != nil {
		return err
	}
	if w.lastFiles == nil {
		return errors.New("the last request was not a push of known data files")
	}
	if len(rs) != len(w.lastFiles) {
		return w.failf(ex, "pushed %d data files, got %d push results", len(w.lastFiles), len(rs))
	}
	if ordered {
		for i, f := range w.lastFiles {
			if rs[i].Name != f.Name || rs[i].Version != f.Version {
				return w.failf(ex, "push result %d is %s version %s, expected %s version %s (the order of Data)", i+1, rs[i].Name, rs[i].Version, f.Name, f.Version)
			}
		}
		return nil
	}
	var want, got []string
	for i, f := range w.lastFiles {
		want = append(want, f.Name+" "+f.Version)
		got = append(got, rs[i].Name+" "+rs[i].Version)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return w.failf(ex, "expected one push result for each of\n  %s\ngot\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
	return nil
}

func (w *world) resultOf(alias string) (*exchange, pushResult, error) {
	ex, rs, err := w.results()
	if err != nil {
		return nil, pushResult{}, err
	}
	name := w.name(alias)
	var found []pushResult
	for _, r := range rs {
		if r.Name == name {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return nil, pushResult{}, w.failf(ex, "expected one push result named %s, got %d", name, len(found))
	}
	return ex, found[0], nil
}

// resultCodeOf: the ResultCode of alias is one of codes ("100" or "200 or 100").
func (w *world) resultCodeOf(alias string, codes string) error {
	ex, r, err := w.resultOf(alias)
	if err != nil {
		return err
	}
	var want []int64
	for _, c := range parseStatuses(codes) {
		want = append(want, int64(c))
	}
	if !slices.Contains(want, r.Code) {
		return w.failf(ex, "expected ResultCode %s for %s, got %d (%q)", codes, r.Name, r.Code, r.Descrip)
	}
	return nil
}

func (w *world) everyResultCode(code int) error {
	ex, rs, err := w.results()
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return w.failf(ex, "the answer has no push result")
	}
	for _, r := range rs {
		if r.Code != int64(code) {
			return w.failf(ex, "expected ResultCode %d for every data file, got %d for %s version %s (%q)", code, r.Code, r.Name, r.Version, r.Descrip)
		}
	}
	return nil
}

func (w *world) resultDescrip(alias, mention string) error {
	ex, r, err := w.resultOf(alias)
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.Descrip) == "" {
		return w.failf(ex, "the ResultDescrip of %s is empty", r.Name)
	}
	if mention != "" && !strings.Contains(strings.ToLower(r.Descrip), strings.ToLower(mention)) {
		return w.failf(ex, "the ResultDescrip of %s, %q, does not mention %q", r.Name, r.Descrip, mention)
	}
	return nil
}

// pushResultsAre compares the push results with a table (name, version,
// ResultCode; a ResultCode cell may read "200 or 100"), in order or not.
func (w *world) pushResultsAre(t *godog.Table, ordered bool) error {
	ex, rs, err := w.results()
	if err != nil {
		return err
	}
	if len(t.Rows) < 1 {
		return errors.New("the table needs a header row")
	}
	var want []string
	for _, row := range t.Rows[1:] {
		if len(row.Cells) != 3 {
			return errors.New("the table has three columns: name, version and ResultCode")
		}
		want = append(want, fmt.Sprintf("%s %s %s", w.name(row.Cells[0].Value), row.Cells[1].Value, row.Cells[2].Value))
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %d", r.Name, r.Version, r.Code))
	}
	if !ordered {
		slices.Sort(want)
		slices.Sort(got)
	}
	match := len(want) == len(got)
	for i := 0; match && i < len(want); i++ {
		wn, wc, _ := strings.Cut(want[i], " ")
		gn, gc, _ := strings.Cut(got[i], " ")
		wv, wcodes, _ := strings.Cut(wc, " ")
		gv, gcode, _ := strings.Cut(gc, " ")
		match = wn == gn && wv == gv && slices.Contains(strings.Split(wcodes, " or "), gcode)
	}
	if !match {
		return w.failf(ex, "expected the push results\n  %s\ngot\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
	return nil
}

// lastDescribe is the last answer, which must be a successful DescribeDataPushResult.
func (w *world) lastDescribe() (*exchange, []fileStatus, error) {
	if err := w.requestSucceeds(); err != nil {
		return nil, nil, err
	}
	files, err := w.last.Body().fileStatuses()
	if err != nil {
		return nil, nil, w.failf(w.last, "%v", err)
	}
	return w.last, files, nil
}

// mine keeps the data files of this scenario (all of them for a fresh application).
func (w *world) mine(files []fileStatus) []fileStatus {
	if !w.fixedApp {
		return files
	}
	var out []fileStatus
	for _, f := range files {
		if w.own(f.Name) {
			out = append(out, f)
		}
	}
	return out
}

// fileKeys reads "app01 1.0, app02 1.1" into sorted "name version" keys.
func (w *world) fileKeys(list string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(list, ",") {
		parts := strings.Fields(item)
		if len(parts) != 2 {
			return nil, fmt.Errorf("%q: want a list of \"name version\"", list)
		}
		out = append(out, w.name(parts[0])+" "+parts[1])
	}
	sort.Strings(out)
	return out, nil
}

func keys(files []fileStatus) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.key())
	}
	sort.Strings(out)
	return out
}

func (w *world) describedFilesAre(list string) error {
	ex, files, err := w.lastDescribe()
	if err != nil {
		return err
	}
	want, err := w.fileKeys(list)
	if err != nil {
		return err
	}
	files, err = w.restOfPages(ex, files)
	if err != nil {
		return err
	}
	if got := keys(w.mine(files)); !slices.Equal(want, got) {
		return w.failf(ex, "expected the data files %s, got %s", strings.Join(want, ", "), strings.Join(got, ", "))
	}
	return nil
}

// restOfPages: with a fixed application (--app-id), which may hold many data
// files besides this scenario's, a describe that names no data file shows only
// its first page (the documented default PageSize is 10). It reads the
// following pages, with the same parameters, and returns every file described.
func (w *world) restOfPages(first *exchange, files []fileStatus) ([]fileStatus, error) {
	if !w.fixedApp || first.call == nil || first.call.Params.Get("DataNames") != "" || first.call.Params.Get("PageNumber") != "" {
		return files, nil
	}
	total, err := intField(first.Body().Doc, "TotalCount")
	if err != nil || int64(len(files)) >= total || len(files) == 0 {
		return files, nil
	}
	all := slices.Clone(files)
	for page := 2; int64(len(all)) < total && page <= 1000; page++ {
		c := *first.call
		c.Params = url.Values{}
		for k, v := range first.call.Params {
			c.Params[k] = v
		}
		c.Params.Set("PageNumber", strconv.Itoa(page))
		if size, err := intField(first.Body().Doc, "PageSize"); err == nil && size > 0 {
			c.Params.Set("PageSize", strconv.FormatInt(size, 10))
		}
		ex := w.check(c)
		if ex.Err != nil || ex.Status != http.StatusOK {
			return nil, w.failf(ex, "reading page %d of the application's data files did not succeed", page)
		}
		more, err := ex.Body().fileStatuses()
		if err != nil {
			return nil, w.failf(ex, "%v", err)
		}
		if len(more) == 0 {
			break
		}
		all = append(all, more...)
	}
	return all, nil
}

func (w *world) answerDescribesNone() error {
	ex, files, err := w.lastDescribe()
	if err != nil {
		return err
	}
	if got := w.mine(files); len(got) > 0 {
		return w.failf(ex, "expected no data file, got %s", strings.Join(keys(got), ", "))
	}
	if !w.fixedApp {
		if n, err := intField(ex.Body().Doc, "TotalCount"); err == nil && n != 0 {
			return w.failf(ex, "expected TotalCount 0, got %d", n)
		}
	}
	return nil
}

// noDataFileDescribed: none of this scenario's data files is described. It
// names them (DataNames), so that an application holding many other data
// files (--app-id) is read right.
func (w *world) noDataFileDescribed() error {
	var names []string
	for _, n := range w.names {
		names = append(names, n)
	}
	slices.Sort(names)
	ex, files, err := w.describe(strings.Join(names, ","), "")
	if err != nil {
		return err
	}
	if got := w.mine(files); len(got) > 0 {
		return w.failf(ex, "expected the application to hold no data file, got %s", strings.Join(keys(got), ", "))
	}
	return nil
}

func (w *world) totalCount(n int) error {
	ex, _, err := w.lastDescribe()
	if err != nil {
		return err
	}
	return w.intIs(ex, "TotalCount", n)
}

// intIs checks that the integer key of the answer ex is n.
func (w *world) intIs(ex *exchange, key string, n int) error {
	got, err := intField(ex.Body().Doc, key)
	if err != nil {
		return w.failf(ex, "%v", err)
	}
	if got != int64(n) {
		return w.failf(ex, "expected %s %d, got %d", key, n, got)
	}
	return nil
}

func (w *world) pageHolds(n int) error {
	ex, files, err := w.lastDescribe()
	if err != nil {
		return err
	}
	if len(files) != n {
		return w.failf(ex, "expected %d data files on the page, got %d (%s)", n, len(files), strings.Join(keys(files), ", "))
	}
	return nil
}

func (w *world) pagesTogether(list string) error {
	want, err := w.fileKeys(list)
	if err != nil {
		return err
	}
	var got []string
	for _, ex := range w.describes {
		files, err := ex.Body().fileStatuses()
		if err != nil {
			return w.failf(ex, "%v", err)
		}
		got = append(got, keys(w.mine(files))...)
	}
	sort.Strings(got)
	if !slices.Equal(want, got) {
		return w.failf(w.last, "expected the pages to describe each of %s exactly once, together they describe %s", strings.Join(want, ", "), strings.Join(got, ", "))
	}
	return nil
}

func (w *world) onlyRegionsDescribed(list string) error {
	ex, files, err := w.lastDescribe()
	if err != nil {
		return err
	}
	want, err := w.expandList(list)
	if err != nil {
		return err
	}
	seen := 0
	for _, f := range w.mine(files) {
		for r := range f.Regions {
			if !slices.Contains(want, r) {
				return w.failf(ex, "%s is described in region %s, expected only %s", f.key(), r, strings.Join(want, ", "))
			}
			seen++
		}
	}
	if seen == 0 {
		return w.failf(ex, "no region is described at all")
	}
	return nil
}

func (w *world) describedInExactly(alias, version, list string) error {
	want, err := w.expandList(list)
	if err != nil {
		return err
	}
	return w.describedIn(alias, version, want)
}

func (w *world) describedIn(alias, version string, want []string) error {
	ex, regions, err := w.regionsOf(alias, version)
	if err != nil {
		return err
	}
	sort.Strings(want)
	if got := slices.Sorted(maps.Keys(regions)); !slices.Equal(want, got) {
		return w.failf(ex, "expected %s version %s in the regions %s, got %s", w.name(alias), version, strings.Join(want, ", "), strings.Join(got, ", "))
	}
	return nil
}

func (w *world) describedInAllBut(alias, version, except string) error {
	all, err := w.s.knownRegions(w.ctx)
	if err != nil {
		return err
	}
	skip, err := w.expandList(except)
	if err != nil {
		return err
	}
	var want []string
	for _, r := range all {
		if !slices.Contains(skip, r) {
			want = append(want, r)
		}
	}
	return w.describedIn(alias, version, want)
}

func (w *world) statusEverywhere(alias, version, status string) error {
	ex, regions, err := w.regionsOf(alias, version)
	if err != nil {
		return err
	}
	if len(regions) == 0 {
		return w.failf(ex, "%s version %s is described in no region", w.name(alias), version)
	}
	for _, r := range slices.Sorted(maps.Keys(regions)) {
		if regions[r] != status {
			return w.failf(ex, "expected %s version %s to be %s in every region, it is %s in %s", w.name(alias), version, status, regions[r], r)
		}
	}
	return nil
}

func (w *world) serverList() (*exchange, []any, error) {
	if err := w.requestSucceeds(); err != nil {
		return nil, nil, err
	}
	b := w.last.Body()
	return w.last, list(b.get("Data", "ServerList")), nil
}

func (w *world) downloadAnswer() error {
	ex, servers, err := w.serverList()
	if err != nil {
		return err
	}
	if u, _ := field(ex.Body().get("Data"), "Url"); strings.TrimSpace(u) == "" {
		return w.failf(ex, "Data.Url is missing or empty")
	}
	// The metadata: Message "响应消息，若成功请求为success" (success for a
	// successful request; its example is "Success").
	if m, _ := field(ex.Body().Doc, "Message"); !strings.EqualFold(m, "success") {
		return w.failf(ex, "the Message of a successful answer is %q; the documentation says success", m)
	}
	if len(servers) == 0 {
		return w.failf(ex, "Data.ServerList lists no file server")
	}
	for i, s := range servers {
		for _, k := range []string{"Host", "RegionId"} {
			if v, ok := field(s, k); !ok || v == "" {
				return w.failf(ex, "ServerList entry %d has no %s", i+1, k)
			}
		}
	}
	return nil
}

func (w *world) serversInPushedRegions(alias, version string) error {
	ex, servers, err := w.serverList()
	if err != nil {
		return err
	}
	dex, regions, err := w.regionsOf(alias, version)
	if err != nil {
		return err
	}
	for _, s := range servers {
		r, _ := field(s, "RegionId")
		if regions[r] != "SUCCESS" {
			return w.failf(ex, "the file server %v is in region %q, where %s version %s is not SUCCESS; DescribeDataPushResult said:\n\n%s", s, r, w.name(alias), version, dex.Dump())
		}
	}
	return nil
}

// ---- permission, signatures, every parameter ------------------------------------

// refusedForPermission accepts each documented form of a RAM denial: HTTP 400
// NoPermission "Permission denied." (the API's own error codes) or HTTP 403
// Forbidden.RAM (the gateway's).
func (w *world) refusedForPermission() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	switch code := b.Code(); {
	case ex.Status == http.StatusBadRequest && code == "NoPermission":
		if msg, _ := b.Doc["Message"].(string); msg != "Permission denied." {
			return w.failf(ex, "NoPermission comes with the Message %q; the documentation says \"Permission denied.\"", msg)
		}
	case ex.Status == http.StatusForbidden && code == "Forbidden.RAM":
	default:
		return w.failf(ex, "expected HTTP 400 NoPermission or HTTP 403 Forbidden.RAM, got HTTP %d %q", ex.Status, code)
	}
	return nil
}

// refused4xx: the request failed with a client error and the error envelope.
func (w *world) refused4xx() error {
	ex, err := w.answer()
	if err != nil {
		return err
	}
	if ex.Status < 400 || ex.Status > 499 {
		return w.failf(ex, "expected a 4xx refusal, got HTTP %d", ex.Status)
	}
	b, err := w.parsed(ex)
	if err != nil {
		return err
	}
	if b.Code() == "" {
		return w.failf(ex, "the refusal has no error Code")
	}
	return nil
}

// pushUnsigned sends a push that carries no signature parameter at all: no
// AccessKeyId, Signature*, Timestamp, nor V3 Authorization headers.
func (w *world) pushUnsigned(alias, version string) error {
	f, err := w.newFile(alias, version, "1 KB")
	if err != nil {
		return err
	}
	data, _ := json.Marshal([]dataFile{f})
	q := url.Values{"Action": {"PushApplicationData"}, "Version": {APIVersion}, "Format": {w.format},
		"AppId": {w.app}, "Data": {string(data)}}
	w.pushes[f.Name] = call{Action: "PushApplicationData", Params: url.Values{"AppId": {w.app}, "Data": {string(data)}}}
	w.lastFiles = nil
	ex := w.s.target.send(w.ctx, http.MethodPost, w.s.target.endpoint+"/?"+q.Encode(), http.Header{}, nil)
	ex.Format = w.format
	w.observe("PushApplicationData", ex)
	w.last = ex
	return nil
}

// everyParam returns a valid call of action with every documented parameter.
func (w *world) everyParam(action string) (url.Values, error) {
	regions, err := w.s.knownRegions(w.ctx)
	if err != nil {
		return nil, err
	}
	in := fmt.Sprintf(`{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[%q]}}`, regions[0])
	name := w.name("app01")
	switch action {
	case "PushApplicationData":
		f, err := w.newFile("app01", "1.0", "1 KB")
		if err != nil {
			return nil, err
		}
		data, _ := json.Marshal([]dataFile{f})
		w.lastFiles = []dataFile{f}
		return url.Values{"AppId": {w.app}, "Data": {string(data)}, "PushStrategy": {in}, "Timeout": {"1800"}}, nil
	case "DescribeDataPushResult":
		// Dates two days either side of the first push, as the target itself
		// dates it (StartTime): whatever its clock and time zone, they hold it.
		now, err := w.pushTime(name, "1.0")
		if err != nil {
			return nil, err
		}
		return url.Values{"AppId": {w.app}, "DataNames": {name}, "DataVersions": {"1.0"}, "RegionIds": {regions[0]},
			"MinDate": {now.AddDate(0, 0, -2).Format("2006-01-02")}, "MaxDate": {now.AddDate(0, 0, 2).Format("2006-01-02")},
			"PageNumber": {"1"}, "PageSize": {"10"}}, nil
	case "DescribeDataDownloadURL":
		return url.Values{"AppId": {w.app}, "DataName": {name}, "DataVersion": {"1.0"},
			"ServerFilterStrategy": {in}, "ExpireTimeout": {"600"}}, nil
	}
	if params, ok, err := w.appEveryParam(action, regions[0]); ok { // steps_apps.go
		return params, err
	}
	return nil, fmt.Errorf("the suite knows no parameters of %s", action)
}

// pushTime is the earliest StartTime the target reports for name/version.
func (w *world) pushTime(name, version string) (time.Time, error) {
	ex, _, err := w.describe(name, version)
	if err != nil {
		return time.Time{}, err
	}
	var first time.Time
	for _, r := range list(ex.Body().get("PushResults", "PushResult")) {
		stats, _ := r.(map[string]any)["StatusStatS"].(map[string]any)
		for _, st := range list(stats["StatusStat"]) {
			ids, _ := st.(map[string]any)["RegionIds"].(map[string]any)
			for _, id := range list(ids["RegionId"]) {
				s, _ := field(id, "StartTime")
				if t, err := time.Parse(time.RFC3339, s); err == nil && (first.IsZero() || t.Before(first)) {
					first = t
				}
			}
		}
	}
	if first.IsZero() {
		return first, w.failf(ex, "DescribeDataPushResult gives no StartTime for %s version %s", name, version)
	}
	return first, nil
}

// callEveryParam calls action with every documented parameter, by method, in
// the query or in a form body (application/x-www-form-urlencoded), signed
// with the run's signature version.
func (w *world) callEveryParam(action, method, placement string) error {
	params, err := w.everyParam(action)
	if err != nil {
		return err
	}
	if placement == "query" {
		if action != "PushApplicationData" {
			w.lastFiles = nil
		}
		w.send(call{Action: action, Method: method, Params: params})
		return nil
	}
	if method != http.MethodPost {
		return errors.New("a form body needs POST")
	}
	t := w.s.target
	cred, now, nonce := w.cred, time.Now().Add(w.skew), newNonce()
	body := []byte(params.Encode())
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	var rawURL string
	if t.v3 {
		// V3: the parameters in the body, hashed into x-acs-content-sha256.
		q := url.Values{}
		if w.format == "XML" {
			q.Set("Format", "XML")
		} else {
			h.Set("Accept", "application/json")
		}
		rawURL = t.endpoint + "/"
		if len(q) > 0 {
			rawURL += "?" + q.Encode()
		}
		req, _ := http.NewRequest(method, rawURL, nil)
		req.Header = h
		signature.SignV3(req, body, action, APIVersion, cred.id, cred.secret, nonce, now)
		h = req.Header.Clone()
		if req.Host != "" {
			h.Set("Host", req.Host)
		}
	} else {
		// V1: the common parameters in the query, the action's in the body;
		// the signature covers both.
		all := url.Values{"Action": {action}, "Version": {APIVersion}, "Format": {w.format}}
		for k, v := range params {
			all[k] = v
		}
		signature.SignV1(method, all, cred.id, cred.secret, nonce, now)
		q := url.Values{}
		for k, v := range all {
			if _, business := params[k]; !business {
				q[k] = v
			}
		}
		rawURL = t.endpoint + "/?" + q.Encode()
	}
	ex := t.send(w.ctx, method, rawURL, h, body)
	ex.Format = w.format
	ex.call = &call{Action: action, Method: method, Params: params, Format: w.format, Cred: cred}
	w.observe(action, ex)
	w.last = ex
	if action == "DescribeDataPushResult" {
		w.describes = append(w.describes, ex)
	}
	if action != "PushApplicationData" {
		w.lastFiles = nil
	}
	return nil
}

// slowTransfers makes every transfer of the data file take hours (a control
// plane "slow" fault), so that a push stays PUSHING for as long as a scenario needs.
func (w *world) slowTransfers(alias string) error {
	if err := w.needControl(); err != nil {
		return err
	}
	return w.addFault(faultRule{Match: map[string]string{"name": w.name(alias)}, Effect: "slow", Params: map[string]any{"latency": "6h"}})
}

// serversInRegions: every file server of the download answer is in one of the regions.
func (w *world) serversInRegions(list string) error {
	ex, servers, err := w.serverList()
	if err != nil {
		return err
	}
	want, err := w.expandList(list)
	if err != nil {
		return err
	}
	for _, s := range servers {
		if r, _ := field(s, "RegionId"); !slices.Contains(want, r) {
			return w.failf(ex, "the file server %v is in region %q, expected only %s", s, r, strings.Join(want, ", "))
		}
	}
	return nil
}

// linkServes downloads the link of the last DescribeDataDownloadURL answer
// (Data.Url on the first ServerList Host) and compares its bytes with the data
// file pushed: the same size, and the same md5 when the body is not ensmock's
// simulated content.
func (w *world) linkServes(alias, version string) error {
	ex, servers, err := w.serverList()
	if err != nil {
		return err
	}
	c, ok := w.pushes[w.name(alias)]
	if !ok {
		return fmt.Errorf("%q has not been pushed in this scenario", alias)
	}
	var files []dataFile
	_ = json.Unmarshal([]byte(c.Params.Get("Data")), &files)
	var f *dataFile
	for i := range files {
		if files[i].Name == w.name(alias) && files[i].Version == version {
			f = &files[i]
		}
	}
	if f == nil || len(servers) == 0 {
		return w.failf(ex, "no pushed data file %s version %s or no file server", w.name(alias), version)
	}
	link, _ := field(ex.Body().get("Data"), "Url")
	host, _ := field(servers[0], "Host")
	u := link
	if !strings.Contains(link, "://") {
		u = "http://" + host + link
	}
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, u, nil)
	if err != nil {
		return w.failf(ex, "the download link %q: %v", u, err)
	}
	resp, err := w.s.cfg.HTTPClient.Do(req)
	if err != nil {
		return w.failf(ex, "GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxFileBytes+1))
	if err != nil || resp.StatusCode != http.StatusOK {
		return w.failf(ex, "GET %s: HTTP %d, %v", u, resp.StatusCode, err)
	}
	if int64(len(got)) != f.Size {
		return w.failf(ex, "GET %s serves %d bytes; the data file has %d", u, len(got), f.Size)
	}
	if resp.Header.Get("X-Ensmock-Content") != "simulated" {
		sum := md5.Sum(got)
		if hex.EncodeToString(sum[:]) != f.MD5 {
			return w.failf(ex, "GET %s serves bytes whose md5 is %x; the data file's is %s", u, sum, f.MD5)
		}
	}
	return nil
}
