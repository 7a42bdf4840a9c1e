package mock

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"
)

// ensmock's own limits: bounds the official documentation does not state.
//
// spec/ens.yaml holds only what the documentation says (required parameters,
// JSON-ness, documented types, formats and ranges); those are refused in every
// mode. Each bound ensmock adds is one entry of the table below. By default a
// request that breaks one is accepted, handled as the entry's Lenient says, and
// answered with a warning (X-Ensmock-Warning header, journal, log); with
// Options.Strict it is refused with InvalidParameter.<Param>. docs/decisions.md
// lists every entry by its ID (a test checks it).
//
// Bounds that protect the process (request bytes, account holdings) are not
// here: they hold in both modes.
type limit struct {
	ID      string // stable name, quoted in warnings and in docs/decisions.md
	Params  string // the parameters it applies to (a strict refusal names the one broken)
	Rule    string // the bound
	Lenient string // what the mock does with a request that breaks it, by default
}

var (
	limDataItems = &limit{"data-items", "Data", "at most 100 data files",
		"every data file is pushed"}
	limDataEmpty = &limit{"data-empty", "Data", "at least 1 data file",
		"the push answers an empty PushResults"}
	limDataDuplicate = &limit{"data-duplicate", "Data", "each (name, version) once",
		"one data file, one result per item: a repeated item answers as a repeated push (200 while pushing)"}
	limNameLength = &limit{"name-length", "Data, DataName", "a data file name of at most 512 characters",
		"the name is kept as given"}
	limVersionLength = &limit{"version-length", "Data, DataVersion", "a version of at most 128 characters",
		"the version is kept as given"}
	limAppIDLength = &limit{"appid-length", "AppId", "at most 128 characters",
		"the AppId is kept as given"}
	limURL = &limit{"url", "Data", "each data file has a url, a string of at most 2048 characters",
		"a url that is absent or not a string counts as none (fetch mode then answers 300); a long one is kept"}
	limSizeString = &limit{"size-string", "Data", "size is a JSON number",
		"a string of decimal digits is read as that number"}
	limSizeInteger = &limit{"size-integer", "Data", "size is an integer of bytes, 0 or more",
		"a fraction is rounded up; a negative or unreadable size counts as unknown (0)"}
	limSizeMax = &limit{"size-max", "Data", "size at most 1 TiB (1099511627776 bytes)",
		"the size counts as 1 TiB for transfer times"}
	limTimeoutString = &limit{"timeout-string", "Data", "timeout is a JSON number",
		"a string of decimal digits is read as that number"}
	limTimeoutRange = &limit{"timeout-range", "Data", "timeout is an integer number of seconds from 1 to 86400",
		"above 86400 the timeout applies as given; 0, negative or unreadable means no per-file limit; a fraction is rounded up"}
	limMD5 = &limit{"md5", "Data", "md5 is a string of at most 32 letters or digits",
		"a string is kept (in fetch mode a value that is not 32 hex digits never matches); any other JSON value counts as none"}
	limArchiveType = &limit{"archive-type", "Data", "archiveType is one of tar.gz, tgz, tar, zip, gz, raw (case-sensitive)",
		`another letter case of a known type is that type; "" or a non-string is raw; an unknown type is kept and not checked in fetch mode`}
	limStrategyCount = &limit{"strategy-count", "PushStrategy, ServerFilterStrategy", "1 to 10 strategies",
		"an empty array is no strategy (every file server); more than 10 must all hold, as any list"}
	limStrategyName = &limit{"strategy-name", "PushStrategy, ServerFilterStrategy", "the strategy name ScheduleToRegionId (the only one ensmock emulates)",
		"a strategy with another name is ignored (it selects every file server)"}
	limStrategyOperator = &limit{"strategy-operator", "PushStrategy, ServerFilterStrategy", "the operator In or NotIn",
		"a strategy with another operator is ignored (it selects every file server)"}
	limStrategyValues = &limit{"strategy-values", "PushStrategy, ServerFilterStrategy", "1 to 200 region ids of 1 to 128 characters",
		"the values apply as given (In [] selects no file server, NotIn [] all; an unknown id matches no region)"}
	limPageSize = &limit{"page-size", "PageSize", "PageSize from 1 to 1000",
		"below 1 the page size is 10 (the documented default); above 1000 it applies as given (the answer is streamed)"}
	limDateOrder = &limit{"date-order", "MaxDate", "MaxDate not before MinDate",
		"nothing matches (no data file, application or distribution): the answer is empty"}
	limDistStrategyName = &limit{"dist-strategy-name", "DistStrategy", "the strategy name ScheduleToAllByMatchExpressions or ScheduleToRegionId",
		"a strategy with another name is ignored (it selects every instance, the documented default)"}
	limDistStrategyKey = &limit{"dist-strategy-key", "DistStrategy", "ScheduleToAllByMatchExpressions has match_expressions, each with the key region_id or instance_id",
		"an expression with another key is ignored, as is a strategy without expressions (they select every instance)"}
	limDistStrategyOperator = &limit{"dist-strategy-operator", "DistStrategy", "the operator In or NotIn",
		"an expression (or ScheduleToRegionId strategy) with another operator is ignored (it selects every instance)"}
	limDistDuplicate = &limit{"dist-duplicate", "Data", "each (name, version) once in a DistApplicationData",
		"one distribution, with the first item's keys; each repeated item answers the first one's result"}
	limTemplateAppName = &limit{"template-app-name", "Template", "appMetaData.appName is a non-empty string",
		"the application is named by its AppId, as an app made by a push"}
	limTemplateSelector = &limit{"template-selector", "Template", "resourceSelector has an item; each count is 1 or more and each regionCode an ENS node of the topology",
		"no item: one instance per ENS node (as an app made by a push); a count under 1 adds no instance; an unknown regionCode spreads its count over every ENS node, as an item without regionCode"}
)

// limits is the table of every ensmock limit.
var limits = []*limit{
	limDataItems, limDataEmpty, limDataDuplicate, limNameLength, limVersionLength, limAppIDLength, limURL,
	limSizeString, limSizeInteger, limSizeMax, limTimeoutString, limTimeoutRange, limMD5, limArchiveType,
	limStrategyCount, limStrategyName, limStrategyOperator, limStrategyValues, limPageSize, limDateOrder,
	limDistStrategyName, limDistStrategyKey, limDistStrategyOperator, limDistDuplicate, limTemplateAppName, limTemplateSelector,
}

// Bounds of the limits above, for the checks.
const (
	maxDataFiles     = 100
	maxNameLen       = 512
	maxVersionLen    = 128
	maxAppIDLen      = 128
	maxURLLen        = 2048
	maxTimeout       = 86400
	maxMD5Len        = 32
	maxStrategies    = 10
	maxRegionValues  = 200
	maxRegionIDLen   = 128
	maxPageSize      = 1000
	defaultPageSize  = 10
	maxWarnings      = 16  // per request; then one line says how many more
	maxWarningBytes  = 512 // per warning
	maxQuotedInLimit = 64  // bytes of a user value quoted in a warning or detail
)

// limitCheck applies the limits to one request: in strict mode the first
// broken limit becomes the request's error, else each becomes a warning.
type limitCheck struct {
	strict bool
	err    *wire.Error
	warn   []string
	more   int // warnings beyond maxWarnings
}

func (s *Server) limitCheck() *limitCheck { return &limitCheck{strict: s.opts.Strict} }

// broke records that param broke l; detail says how. It reports whether the
// request is refused (strict mode). The detail is formatted only when it is
// kept (the first refusal, the first maxWarnings warnings): a request of many
// broken items costs a counter increment per item beyond those.
func (c *limitCheck) broke(l *limit, param, format string, args ...any) bool {
	if c.strict {
		if c.err == nil {
			c.err = wire.InvalidParameter(param).WithDetail("%s: ensmock limit %s (%s; --strict)", fmt.Sprintf(format, args...), l.ID, l.Rule)
		}
		return true
	}
	if len(c.warn) >= maxWarnings {
		c.more++
		return false
	}
	w := fmt.Sprintf("%s: %s: over ensmock limit %s (%s); accepted: %s", param, fmt.Sprintf(format, args...), l.ID, l.Rule, l.Lenient)
	c.warn = append(c.warn, truncate(w, maxWarningBytes))
	return false
}

// warnings returns the request's warnings, with a last line counting those left out.
func (c *limitCheck) warnings() []string {
	if c.more > 0 {
		return append(c.warn, fmt.Sprintf("%d more ensmock limits broken (not listed)", c.more))
	}
	return c.warn
}

// done hands the warnings to req and returns the strict refusal, if any.
func (c *limitCheck) done(req *wire.Request) *wire.Error {
	req.Warnings = append(req.Warnings, c.warnings()...)
	return c.err
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quote quotes a user value for a message, shortened to maxQuotedInLimit bytes.
func quote(s string) string {
	if len(s) > maxQuotedInLimit {
		return strconv.Quote(truncate(s, maxQuotedInLimit)) + fmt.Sprintf(" (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// checkAppID applies the AppId limit (every action has an AppId).
func (c *limitCheck) checkAppID(id string) {
	if n := utf8.RuneCountInString(id); n > maxAppIDLen {
		c.broke(limAppIDLength, "AppId", "AppId has %d characters", n)
	}
}

// checkNameVersion applies the name and version limits; item < 0 means the
// DataName / DataVersion parameters of DescribeDataDownloadURL.
func (c *limitCheck) checkNameVersion(item int, name, version string) {
	nameParam, versionParam, where := "DataName", "DataVersion", ""
	if item >= 0 {
		nameParam, versionParam, where = "Data", "Data", fmt.Sprintf("item %d ", item)
	}
	if n := utf8.RuneCountInString(name); n > maxNameLen {
		c.broke(limNameLength, nameParam, "%sname has %d characters", where, n)
	}
	if n := utf8.RuneCountInString(version); n > maxVersionLen {
		c.broke(limVersionLength, versionParam, "%sversion has %d characters", where, n)
	}
}

// dataFiles reads the validated Data value (a JSON array of objects whose name
// and version are non-empty strings, as spec/ens.yaml requires) into data
// files, applying the Data limits. Keys are matched exactly, else in any
// letter case (as encoding/json does).
func (c *limitCheck) dataFiles(v any) []engine.DataFile {
	items, _ := v.([]any)
	switch {
	case len(items) == 0:
		c.broke(limDataEmpty, "Data", "Data is an empty array")
	case len(items) > maxDataFiles:
		c.broke(limDataItems, "Data", "Data has %d items", len(items))
	}
	files := make([]engine.DataFile, len(items))
	var seen map[[2]string]int
	if len(items) > 1 {
		seen = make(map[[2]string]int, len(items))
	}
	for i, it := range items {
		m, _ := it.(map[string]any)
		f := &files[i]
		f.Name, _ = key(m, "name").(string)
		f.Version, _ = key(m, "version").(string)
		c.checkNameVersion(i, f.Name, f.Version)
		if seen != nil {
			k := [2]string{f.Name, f.Version}
			if j, dup := seen[k]; dup {
				c.broke(limDataDuplicate, "Data", "item %d repeats data file %s version %s of item %d", i, quote(f.Name), quote(f.Version), j)
			} else {
				seen[k] = i
			}
		}
		switch u := key(m, "url").(type) {
		case string:
			f.URL = u
			if n := utf8.RuneCountInString(u); n > maxURLLen {
				c.broke(limURL, "Data", "item %d url has %d characters", i, n)
			}
		case nil:
			c.broke(limURL, "Data", "item %d has no url", i)
		default:
			c.broke(limURL, "Data", "item %d url is not a string", i)
		}
		f.Size, _ = c.integer(i, "size", key(m, "size"), limSizeString, limSizeInteger)
		if f.Size > engine.MaxDeclaredSize {
			c.broke(limSizeMax, "Data", "item %d size is %d bytes", i, f.Size)
			f.Size = engine.MaxDeclaredSize
		}
		if f.Size < 0 {
			c.broke(limSizeInteger, "Data", "item %d size is negative (%d)", i, f.Size)
			f.Size = 0
		}
		if t := key(m, "timeout"); t != nil {
			n, ok := c.integer(i, "timeout", t, limTimeoutString, limTimeoutRange)
			if ok && (n < 1 || n > maxTimeout) {
				c.broke(limTimeoutRange, "Data", "item %d timeout is %d", i, n)
			}
			f.Timeout = max(n, 0)
		}
		switch x := key(m, "md5").(type) {
		case nil:
		case string:
			f.MD5 = x
			if len(x) > maxMD5Len || strings.IndexFunc(x, func(r rune) bool { return !isAlnum(r) }) >= 0 {
				c.broke(limMD5, "Data", "item %d md5 %s is not at most 32 letters or digits", i, quote(x))
			}
		default:
			c.broke(limMD5, "Data", "item %d md5 is not a string", i)
		}
		switch x := key(m, "archiveType").(type) {
		case nil:
		case string:
			f.ArchiveType = x
			if !knownArchive(x) {
				c.broke(limArchiveType, "Data", "item %d archiveType %s is not one of tar.gz, tgz, tar, zip, gz, raw", i, quote(x))
				f.ArchiveType = lenientArchive(x)
			}
		default:
			c.broke(limArchiveType, "Data", "item %d archiveType is not a string", i)
		}
	}
	return files
}

// integer reads a JSON integer key of item i: a number, or (breaking asString)
// a string of decimal digits. A fraction breaks notInt and is rounded up;
// anything else breaks notInt and reads as 0 with ok false. The result is
// clamped to ±2^62 (so later arithmetic cannot overflow).
func (c *limitCheck) integer(i int, name string, v any, asString, notInt *limit) (n int64, ok bool) {
	const bound = 1 << 62
	switch x := v.(type) {
	case nil:
		return 0, true
	case float64:
		if x != math.Trunc(x) {
			c.broke(notInt, "Data", "item %d %s %v is not an integer", i, name, x)
			x = math.Ceil(x)
		}
		return int64(max(min(x, bound), -bound)), true
	case string:
		u, err := strconv.ParseUint(x, 10, 64)
		if err != nil || x == "" || x[0] == '+' {
			c.broke(notInt, "Data", "item %d %s %s is not a number", i, name, quote(x))
			return 0, false
		}
		c.broke(asString, "Data", "item %d %s is the JSON string %s, not a number", i, name, quote(x))
		return int64(min(u, bound)), true
	}
	c.broke(notInt, "Data", "item %d %s is not a number", i, name)
	return 0, false
}

// key returns m[k], else the value of a key equal to k in another letter case.
func key(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

var archiveTypes = []string{"tar.gz", "tgz", "tar", "zip", "gz", "raw"}

func knownArchive(t string) bool {
	for _, a := range archiveTypes {
		if t == a {
			return true
		}
	}
	return false
}

// lenientArchive reads an archiveType outside the list: a known type in
// another letter case is that type, "" is raw, anything else is kept.
func lenientArchive(t string) string {
	if t == "" {
		return "raw"
	}
	for _, a := range archiveTypes {
		if strings.EqualFold(t, a) {
			return a
		}
	}
	return t
}

// strategy reads a validated strategy parameter (one object or an array of
// them, each with a name and parameters {operator, values}, as spec/ens.yaml
// requires) into an engine strategy, applying the strategy limits.
func (c *limitCheck) strategy(param string, v any) engine.Strategy {
	var policies []any
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		policies = x
		if len(x) == 0 || len(x) > maxStrategies {
			c.broke(limStrategyCount, param, "%s is an array of %d strategies", param, len(x))
		}
	default:
		policies = []any{x}
	}
	st := make(engine.Strategy, 0, len(policies))
	for i, p := range policies {
		m, _ := p.(map[string]any)
		name, _ := m["name"].(string)
		params, _ := m["parameters"].(map[string]any)
		op, _ := params["operator"].(string)
		raw, _ := params["values"].([]any)
		where := param
		if _, isArray := v.([]any); isArray {
			where = fmt.Sprintf("%s/%d", param, i)
		}
		if name != "ScheduleToRegionId" {
			c.broke(limStrategyName, param, "%s: strategy %s is not emulated", where, quote(name))
			continue
		}
		if op != "In" && op != "NotIn" {
			c.broke(limStrategyOperator, param, "%s: operator %s", where, quote(op))
			continue
		}
		if len(raw) == 0 || len(raw) > maxRegionValues {
			c.broke(limStrategyValues, param, "%s: %d region ids", where, len(raw))
		}
		values := make([]string, len(raw))
		for j, r := range raw {
			values[j], _ = r.(string)
			if n := utf8.RuneCountInString(values[j]); n == 0 || n > maxRegionIDLen {
				c.broke(limStrategyValues, param, "%s: region id %d has %d characters", where, j, n)
			}
		}
		st = append(st, engine.Selector{Operator: op, Values: values})
	}
	return st
}
