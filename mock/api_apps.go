package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"
)

// The application and distribution actions (CreateApplication,
// DescribeApplication, ListApplications, DeleteApplication,
// DistApplicationData, DescribeDataDistResult), with the exact field names of
// the official metadata. See docs/decisions.md, "Applications and distribution".

type createApplicationResponse struct {
	RequestID string `json:"RequestId" xml:"RequestId"`
	AppID     string `json:"AppId" xml:"AppId"`
}

type deleteApplicationResponse struct {
	RequestID string `json:"RequestId" xml:"RequestId"`
}

type describeApplicationResponse struct {
	RequestID   string `json:"RequestId" xml:"RequestId"`
	Application string `json:"Application" xml:"Application"`
}

type listApplicationsResponse struct {
	RequestID    string `json:"RequestId" xml:"RequestId"`
	PageNumber   int    `json:"PageNumber" xml:"PageNumber"`
	PageSize     int    `json:"PageSize" xml:"PageSize"`
	TotalCount   int    `json:"TotalCount" xml:"TotalCount"`
	Applications struct {
		Application []clusterApps `json:"Application" xml:"Application"`
	} `json:"Applications" xml:"Applications"`
}

type clusterApps struct {
	ClusterName string `json:"ClusterName" xml:"ClusterName"`
	AppList     struct {
		App []appEntry `json:"App" xml:"App"`
	} `json:"AppList" xml:"AppList"`
}

type appEntry struct {
	AppID   string `json:"AppId" xml:"AppId"`
	AppInfo string `json:"AppInfo" xml:"AppInfo"`
}

type distApplicationDataResponse struct {
	RequestID              string `json:"RequestId" xml:"RequestId"`
	DistInstanceTotalCount int    `json:"DistInstanceTotalCount" xml:"DistInstanceTotalCount"`
	DistInstanceIDs        struct {
		DistInstanceID []string `json:"DistInstanceId" xml:"DistInstanceId"`
	} `json:"DistInstanceIds" xml:"DistInstanceIds"`
	DistResults struct {
		DistResult []distResult `json:"DistResult" xml:"DistResult"`
	} `json:"DistResults" xml:"DistResults"`
}

type distResult struct {
	Name          string `json:"Name" xml:"Name"`
	Version       string `json:"Version" xml:"Version"`
	ResultCode    int    `json:"ResultCode" xml:"ResultCode"`
	ResultDescrip string `json:"ResultDescrip" xml:"ResultDescrip"`
}

type describeDataDistResultResponse struct {
	RequestID   string `json:"RequestId" xml:"RequestId"`
	PageNumber  int    `json:"PageNumber" xml:"PageNumber"`
	PageSize    int    `json:"PageSize" xml:"PageSize"`
	TotalCount  int    `json:"TotalCount" xml:"TotalCount"`
	DistResults struct {
		DistResult []distStatus `json:"DistResult" xml:"DistResult"`
	} `json:"DistResults" xml:"DistResults"`
}

// distStatus: note StatusStats with a lower-case s (DescribeDataPushResult has StatusStatS).
type distStatus struct {
	Name        string `json:"Name" xml:"Name"`
	Version     string `json:"Version" xml:"Version"`
	StatusStats struct {
		StatusStat []distStatusStat `json:"StatusStat" xml:"StatusStat"`
	} `json:"StatusStats" xml:"StatusStats"`
}

// distStatusStat: InstanceCount is a string in the metadata.
type distStatusStat struct {
	Status        string `json:"Status" xml:"Status"`
	InstanceCount string `json:"InstanceCount" xml:"InstanceCount"`
	Instances     struct {
		Instance []instanceStatus `json:"Instance" xml:"Instance"`
	} `json:"Instances" xml:"Instances"`
}

type instanceStatus struct {
	InstanceID    string `json:"InstanceId" xml:"InstanceId"`
	StartTime     string `json:"StartTime" xml:"StartTime"`
	StatusDescrip string `json:"StatusDescrip" xml:"StatusDescrip"`
	UpdateTime    string `json:"UpdateTime" xml:"UpdateTime"`
}

// appError maps the application errors of the engine; others go to engineError.
func appError(err error, appID string) *wire.Error {
	switch {
	case errors.Is(err, engine.ErrAppDeleted):
		return wire.InvalidParameter("AppId").WithDetail("application %q has been deleted", appID)
	case errors.Is(err, engine.ErrAppDeleting):
		return wire.InvalidParameter("AppId").WithDetail("application %q is being deleted", appID)
	case errors.Is(err, engine.ErrAppNotFound):
		return wire.InvalidParameter("AppId").WithDetail("application %q does not exist", appID)
	}
	return engineError(err, appID)
}

func createApplication(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	raw := req.Get("Template")
	lc := s.limitCheck()
	lc.template(raw, s.regions)
	if e := lc.done(req); e != nil {
		return nil, e
	}
	id, err := s.engine.CreateApp(account, []byte(raw))
	if err != nil {
		return nil, appError(err, "")
	}
	return &createApplicationResponse{RequestID: req.RequestID, AppID: id}, nil
}

// template applies the Template limits. The documentation requires only a
// Template that is a JSON string (the spec checks it and the JSON types of the
// official example); what the mock reads beyond that is its own limit.
func (c *limitCheck) template(raw string, regions []string) {
	var t struct {
		AppMetaData struct {
			AppName string `json:"appName"`
		} `json:"appMetaData"`
		ResourceSelector []struct {
			RegionCode string `json:"regionCode"`
			Count      int    `json:"count"`
		} `json:"resourceSelector"`
	}
	if json.Unmarshal([]byte(raw), &t) != nil {
		return // not the example's types: the engine answers InvalidParameter.Template
	}
	if t.AppMetaData.AppName == "" {
		c.broke(limTemplateAppName, "Template", "the template has no appMetaData.appName")
	}
	if len(t.ResourceSelector) == 0 {
		c.broke(limTemplateSelector, "Template", "resourceSelector has no item")
	}
	for i, sel := range t.ResourceSelector {
		if sel.Count < 1 {
			c.broke(limTemplateSelector, "Template", "resourceSelector[%d].count is %d", i, sel.Count)
		}
		if _, ok := slices.BinarySearch(regions, sel.RegionCode); sel.RegionCode != "" && !ok {
			c.broke(limTemplateSelector, "Template", "resourceSelector[%d].regionCode %s is not an ENS node of this mock", i, quote(sel.RegionCode))
		}
	}
}

func deleteApplication(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	id := req.Get("AppId")
	if err := s.engine.DeleteApp(account, id); err != nil {
		return nil, appError(err, id)
	}
	return &deleteApplicationResponse{RequestID: req.RequestID}, nil
}

// outParams reads OutDetailStatParams / OutAppInfoParams: every switch
// defaults to true. versions is the AppVersions filter (nil: the stable version).
type outParams struct {
	appInfo, detailStat, appVersionStat, districtStat, instanceStat bool
	versions                                                        []string
}

// wantsVersion reports whether the AppVersions filter selects version v: by
// default only the stable one (every app of the mock has one version, v1,
// which is stable), "All" every version.
func wantsVersion(filter []string, v string) bool {
	return len(filter) == 0 || slices.Contains(filter, "All") || slices.Contains(filter, v)
}

func readOutParams(raw string) outParams {
	o := outParams{true, true, true, true, true, nil}
	if raw == "" {
		return o
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(raw), &m) // validated by the spec
	for k, dst := range map[string]*bool{"appInfo": &o.appInfo, "detailStat": &o.detailStat, "appVersionStat": &o.appVersionStat,
		"districtStat": &o.districtStat, "instanceStat": &o.instanceStat} {
		if b, ok := m[k].(bool); ok {
			*dst = b
		}
	}
	return o
}

const appTimeLayout = "2006-01-02 15:04:05"

// upperFirst turns the template's keys (instanceSpec) into the answer's (InstanceSpec).
func upperFirst(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		r, n := utf8.DecodeRuneInString(k)
		out[string(unicode.ToUpper(r))+k[n:]] = v
	}
	return out
}

// applicationJSON renders an application as the JSON string of DescribeApplication's
// Application (and ListApplications' AppInfo), in the shape of the official examples.
func applicationJSON(info engine.AppInfo, level string, o outParams, withMeta bool) string {
	type instanceStat struct {
		InstanceID     string `json:"InstanceId"`
		RegionID       string `json:"RegionId"`
		InstanceStatus string `json:"InstanceStatus"`
		CreateTime     string `json:"CreateTime"`
	}
	type districtStat struct {
		RegionIDs            []string       `json:"RegionIds"`
		InstanceTotalCount   int            `json:"InstanceTotalCount"`
		InstanceRunningCount int            `json:"InstanceRunningCount"`
		InstanceStat         []instanceStat `json:"InstanceStat,omitempty"`
	}
	type versionStat struct {
		AppVersion           string         `json:"AppVersion"`
		CreateTime           string         `json:"CreateTime"`
		InstanceTotalCount   int            `json:"InstanceTotalCount"`
		InstanceRunningCount int            `json:"InstanceRunningCount"`
		DistrictStat         []districtStat `json:"DistrictStat,omitempty"`
	}
	type detailStat struct {
		Level                string        `json:"Level"`
		InstanceTotalCount   int           `json:"InstanceTotalCount"`
		InstanceRunningCount int           `json:"InstanceRunningCount"`
		AppVersionStat       []versionStat `json:"AppVersionStat,omitempty"`
	}
	out := map[string]any{}
	created := info.Created.Format(appTimeLayout)
	if withMeta {
		meta := map[string]any{"AppId": info.AppID, "AppName": info.AppName, "ClusterName": info.ClusterName,
			"AppStableVersion": "v1", "AppType": "", "Description": "", "CreateTime": created}
		if t := info.Template; t != nil {
			meta["AppType"], meta["Description"] = t.AppMetaData.AppType, t.AppMetaData.Description
		}
		out["AppMetaData"] = meta
	}
	statusDescrip, _ := json.Marshal(map[string]string{"status": "CREATE_SUCCESS", "step": "DONE", "descrip": "create success", "start_time": created})
	if info.Phase == engine.PhaseDeleting {
		statusDescrip, _ = json.Marshal(map[string]string{"status": "DELETING", "step": "RELEASE", "descrip": "releasing resources", "start_time": created})
	}
	out["AppStatus"] = map[string]any{"Phase": info.Phase, "StatusDescrip": string(statusDescrip), "UpdateTime": created}
	if o.appInfo {
		var attr map[string]any
		workloads := []map[string]any{}
		if t := info.Template; t != nil {
			attr = t.ResourceAttribute
			for _, w := range t.Workload {
				workloads = append(workloads, upperFirst(w))
			}
		}
		out["ResourceAttribute"] = upperFirst(attr)
		out["WorkloadAttribute"] = workloads
	}
	if o.detailStat {
		running := 0
		if info.Phase == engine.PhaseRunning {
			running = len(info.Instances)
		}
		ds := detailStat{Level: level, InstanceTotalCount: len(info.Instances), InstanceRunningCount: running}
		if o.appVersionStat && wantsVersion(o.versions, "v1") {
			vs := versionStat{AppVersion: "v1", CreateTime: created, InstanceTotalCount: ds.InstanceTotalCount, InstanceRunningCount: running}
			if o.districtStat {
				var byRegion []districtStat
				for _, in := range info.Instances {
					if len(byRegion) == 0 || byRegion[len(byRegion)-1].RegionIDs[0] != in.RegionID {
						byRegion = append(byRegion, districtStat{RegionIDs: []string{in.RegionID}})
					}
					d := &byRegion[len(byRegion)-1]
					d.InstanceTotalCount++
					status := "Running"
					if info.Phase == engine.PhaseDeleting {
						status = "Releasing"
					} else {
						d.InstanceRunningCount++
					}
					if o.instanceStat {
						d.InstanceStat = append(d.InstanceStat, instanceStat{InstanceID: in.InstanceID, RegionID: in.RegionID,
							InstanceStatus: status, CreateTime: in.Created.Format(appTimeLayout)})
					}
				}
				vs.DistrictStat = byRegion
			}
			ds.AppVersionStat = []versionStat{vs}
		}
		out["DetailStat"] = ds
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func withVersions(o outParams, req *wire.Request) outParams {
	o.versions = req.List("AppVersions")
	return o
}

func levelOf(req *wire.Request) string {
	if l := req.Get("Level"); l != "" {
		return l
	}
	return "National"
}

func describeApplication(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	id := req.Get("AppId")
	var regions []string
	if raw := req.Get("ResourceSelector"); raw != "" {
		var sel []struct {
			RegionCode string `json:"regionCode"`
		}
		if err := json.Unmarshal([]byte(raw), &sel); err != nil {
			return nil, wire.InvalidParameter("ResourceSelector").WithDetail("%v", err)
		}
		for _, x := range sel {
			if x.RegionCode != "" {
				regions = append(regions, x.RegionCode)
			}
		}
		if len(regions) == 0 {
			regions = nil
		}
	}
	info, err := s.engine.DescribeApp(account, id, regions)
	if err != nil {
		return nil, appError(err, id)
	}
	return &describeApplicationResponse{RequestID: req.RequestID,
		Application: applicationJSON(info, levelOf(req), withVersions(readOutParams(req.Get("OutDetailStatParams")), req), true)}, nil
}

// dates reads MinDate and MaxDate (validated as yyyy-mm-dd by the spec),
// applying the date-order limit: a MaxDate before MinDate is accepted (nothing
// is at once after one and before the other, so nothing matches) unless strict.
func (c *limitCheck) dates(req *wire.Request) (minD, maxD time.Time, e *wire.Error) {
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"MinDate", &minD}, {"MaxDate", &maxD}} {
		if v := req.Get(d.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return minD, maxD, wire.InvalidParameter(d.name).WithDetail("%s %q is not a date in the documented format yyyy-MM-dd (2006-01-02)", d.name, v)
			}
			*d.dst = t
		}
	}
	if !minD.IsZero() && !maxD.IsZero() && maxD.Before(minD) {
		c.broke(limDateOrder, "MaxDate", "MaxDate %s is before MinDate %s", req.Get("MaxDate"), req.Get("MinDate"))
	}
	return minD, maxD, nil
}

// paging reads PageNumber and PageSize as DescribeDataPushResult does: both
// omitted exports everything (size 0), else they default to 1 and 10.
func paging(req *wire.Request) (number, size int) {
	pn, ps := req.Get("PageNumber"), req.Get("PageSize")
	if pn == "" && ps == "" {
		return 1, 0
	}
	number, size = 1, 10
	if pn != "" {
		number, _ = strconv.Atoi(pn)
	}
	if ps != "" {
		size, _ = strconv.Atoi(ps)
	}
	return number, size
}

func listApplications(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	q := engine.AppQuery{Clusters: req.List("ClusterNames")}
	lc := s.limitCheck()
	var e *wire.Error
	if q.MinDate, q.MaxDate, e = lc.dates(req); e != nil {
		return nil, e
	}
	if e := lc.done(req); e != nil {
		return nil, e
	}
	q.PageNumber, q.PageSize = paging(req)
	apps, total := s.engine.ListApps(account, q)
	resp := &listApplicationsResponse{RequestID: req.RequestID, PageNumber: q.PageNumber, PageSize: q.PageSize, TotalCount: total}
	if resp.PageSize == 0 {
		resp.PageSize = total
	}
	resp.Applications.Application = []clusterApps{}
	o, level := withVersions(readOutParams(req.Get("OutAppInfoParams")), req), levelOf(req)
	for _, info := range apps { // grouped by cluster, clusters in order of first appearance
		i := 0
		for i < len(resp.Applications.Application) && resp.Applications.Application[i].ClusterName != info.ClusterName {
			i++
		}
		if i == len(resp.Applications.Application) {
			resp.Applications.Application = append(resp.Applications.Application, clusterApps{ClusterName: info.ClusterName})
		}
		c := &resp.Applications.Application[i]
		c.AppList.App = append(c.AppList.App, appEntry{AppID: info.AppID, AppInfo: applicationJSON(info, level, o, false)})
	}
	return resp, nil
}

// distStrategy decodes a (validated) DistStrategy: one object or an array,
// applying the DistStrategy limits (a strategy or expression the mock does not
// know is ignored: it selects every instance).
func (c *limitCheck) distStrategy(raw string) engine.DistStrategy {
	if raw == "" {
		return nil
	}
	type expr struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	}
	type policy struct {
		Name       string `json:"name"`
		Parameters struct {
			MatchExpressions []expr   `json:"match_expressions"`
			Operator         string   `json:"operator"`
			Values           []string `json:"values"`
		} `json:"parameters"`
	}
	var many []policy
	where := func(i int) string { return fmt.Sprintf("DistStrategy/%d", i) }
	if err := json.Unmarshal([]byte(raw), &many); err != nil {
		var one policy
		if json.Unmarshal([]byte(raw), &one) != nil {
			return nil // the spec checked the types
		}
		many = []policy{one}
		where = func(int) string { return "DistStrategy" }
	}
	var st engine.DistStrategy
	known := func(op string) bool { return op == "In" || op == "NotIn" }
	for i, p := range many {
		switch p.Name {
		case "ScheduleToRegionId":
			if !known(p.Parameters.Operator) {
				c.broke(limDistStrategyOperator, "DistStrategy", "%s: operator %s", where(i), quote(p.Parameters.Operator))
				continue
			}
			st = append(st, engine.MatchExpr{Key: "region_id", Operator: p.Parameters.Operator, Values: p.Parameters.Values})
		case "ScheduleToAllByMatchExpressions":
			if len(p.Parameters.MatchExpressions) == 0 {
				c.broke(limDistStrategyKey, "DistStrategy", "%s: no parameters.match_expressions", where(i))
			}
			for j, m := range p.Parameters.MatchExpressions {
				if m.Key != "region_id" && m.Key != "instance_id" {
					c.broke(limDistStrategyKey, "DistStrategy", "%s: match_expressions[%d].key %s", where(i), j, quote(m.Key))
					continue
				}
				if !known(m.Operator) {
					c.broke(limDistStrategyOperator, "DistStrategy", "%s: match_expressions[%d].operator %s", where(i), j, quote(m.Operator))
					continue
				}
				st = append(st, engine.MatchExpr{Key: m.Key, Operator: m.Operator, Values: m.Values})
			}
		default:
			c.broke(limDistStrategyName, "DistStrategy", "%s: strategy %s is not emulated", where(i), quote(p.Name))
		}
	}
	return st
}

func distApplicationData(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	var items []engine.DistFile
	if err := json.Unmarshal([]byte(req.Get("Data")), &items); err != nil {
		return nil, wire.InvalidParameter("Data").WithDetail("%v", err)
	}
	lc := s.limitCheck()
	// A (name, version) listed again is distributed once, with its first
	// item's keys; each item answers the result of that distribution.
	files := make([]engine.DistFile, 0, len(items))
	first := make([]int, len(items)) // item → index in files
	seen := make(map[[2]string]int, len(items))
	for i, f := range items {
		k := [2]string{f.Name, f.Version}
		if j, dup := seen[k]; dup {
			lc.broke(limDistDuplicate, "Data", "item %d repeats data file %s version %s", i, quote(f.Name), quote(f.Version))
			first[i] = j
			continue
		}
		seen[k] = len(files)
		first[i] = len(files)
		files = append(files, f)
	}
	st := lc.distStrategy(req.Get("DistStrategy"))
	if e := lc.done(req); e != nil {
		return nil, e
	}
	appID := req.Get("AppId")
	out, err := s.engine.Dist(account, appID, files, st)
	if err != nil {
		return nil, appError(err, appID)
	}
	resp := &distApplicationDataResponse{RequestID: req.RequestID, DistInstanceTotalCount: len(out.Instances)}
	resp.DistInstanceIDs.DistInstanceID = out.Instances
	resp.DistResults.DistResult = make([]distResult, len(items))
	for i, f := range items {
		r := out.Results[first[i]]
		resp.DistResults.DistResult[i] = distResult{Name: f.Name, Version: f.Version, ResultCode: r.Code, ResultDescrip: r.Descrip}
	}
	return resp, nil
}

func describeDataDistResult(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	q := engine.DistQuery{
		AppID:       req.Get("AppId"),
		Names:       req.List("DataNames"),
		Versions:    req.List("DataVersions"),
		InstanceIDs: req.List("InstanceIds"),
	}
	if raw := req.Get("EnsRegionIds"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &q.Regions); err != nil {
			return nil, wire.InvalidParameter("EnsRegionIds").WithDetail("want a JSON array of ENS node ids: %v", err)
		}
		for i, r := range q.Regions {
			q.Regions[i] = strings.TrimSpace(r)
		}
		if len(q.Regions) == 0 {
			q.Regions = nil
		}
	}
	lc := s.limitCheck()
	var e *wire.Error
	if q.MinDate, q.MaxDate, e = lc.dates(req); e != nil {
		return nil, e
	}
	if e := lc.done(req); e != nil {
		return nil, e
	}
	q.PageNumber, q.PageSize = paging(req)
	return &distAnswer{s: s, account: account, q: q, requestID: req.RequestID}, nil
}

// distAnswer is a DescribeDataDistResult answer written in parts (see
// streamBody): an unpaged answer may list every replica of the account (up
// to 2,000,000), so at most distChunkInstances instance entries are gathered
// at a time, and one file's replicas (24 bytes each) copied.
type distAnswer struct {
	s         *Server
	account   string
	q         engine.DistQuery
	requestID string
}

// distChunkInstances bounds the instance entries one part of a
// DescribeDataDistResult answer gathers.
const distChunkInstances = 4096

// distParts, when set (tests), is called with the number of instance entries
// of each part; distChunkOverride, when set, is the bound of a part.
var (
	distParts         func(instances int)
	distChunkOverride int
)

func (d *distAnswer) encode(buf *bytes.Buffer, f wire.Format, action string, flush func() error) *wire.Error {
	chunk := distChunkInstances
	if distChunkOverride > 0 {
		chunk = distChunkOverride
	}
	js := f == wire.JSON
	var starts, updates utcCache
	firstFile := true
	var groups []engine.DistGroupSize   // of the current file
	g, left := 0, 0                     // its current group, and the instances left to write in it
	str := func(name, v string) error { // a string field
		if js {
			buf.WriteString(`"` + name + `":`)
			return wire.EncodeJSON(buf, v)
		}
		return wire.EncodeXML(buf, name, v)
	}
	openGroup := func() {
		gs := groups[g]
		left = gs.Count
		if js {
			if g > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(buf, `{"Status":%q,"InstanceCount":"%d","Instances":{"Instance":[`, gs.Status, gs.Count)
			return
		}
		fmt.Fprintf(buf, `<StatusStat><Status>%s</Status><InstanceCount>%d</InstanceCount><Instances>`, gs.Status, gs.Count)
	}
	closeFile := func() {
		if js {
			buf.WriteString(`]}}`)
		} else {
			buf.WriteString(`</StatusStats></DistResult>`)
		}
	}
	head := func(res engine.DistDescribeResult) error {
		pageSize := res.PageSize
		if pageSize == 0 {
			pageSize = defaultPageSize // unpaged: the documented default, every result included
		}
		if js {
			buf.WriteString(`{"RequestId":`)
			if err := wire.EncodeJSON(buf, d.requestID); err != nil {
				return err
			}
			fmt.Fprintf(buf, `,"PageNumber":%d,"PageSize":%d,"TotalCount":%d,"DistResults":{"DistResult":[`, res.PageNumber, pageSize, res.Total)
			return nil
		}
		buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?><` + action + `Response>`)
		if err := str("RequestId", d.requestID); err != nil {
			return err
		}
		fmt.Fprintf(buf, `<PageNumber>%d</PageNumber><PageSize>%d</PageSize><TotalCount>%d</TotalCount><DistResults>`, res.PageNumber, pageSize, res.Total)
		return nil
	}
	file := func(h engine.DistFileHead) error {
		if js {
			if !firstFile {
				buf.WriteByte(',')
			}
			buf.WriteByte('{')
		} else {
			buf.WriteString(`<DistResult>`)
		}
		firstFile = false
		if err := str("Name", h.Name); err != nil {
			return err
		}
		if js {
			buf.WriteByte(',')
		}
		if err := str("Version", h.Version); err != nil {
			return err
		}
		if js {
			buf.WriteString(`,"StatusStats":{"StatusStat":[`)
		} else {
			buf.WriteString(`<StatusStats>`)
		}
		groups, g = h.Groups, 0
		if len(groups) == 0 {
			closeFile()
			return nil
		}
		openGroup()
		return nil
	}
	part := func(ins []engine.InstanceStatus) error {
		if distParts != nil {
			distParts(len(ins))
		}
		for i := range ins {
			is := instanceStatus{InstanceID: ins[i].InstanceID, StartTime: starts.format(ins[i].Start),
				StatusDescrip: ins[i].Descrip, UpdateTime: updates.format(ins[i].Update)}
			if js {
				if left < groups[g].Count {
					buf.WriteByte(',')
				}
				if err := wire.EncodeJSON(buf, &is); err != nil {
					return err
				}
			} else if err := wire.EncodeXML(buf, "Instance", &is); err != nil {
				return err
			}
			if left--; left == 0 { // the group is complete
				if js {
					buf.WriteString(`]}}`)
				} else {
					buf.WriteString(`</Instances></StatusStat>`)
				}
				if g++; g < len(groups) {
					openGroup()
				} else {
					closeFile()
				}
			}
		}
		if buf.Len() >= 32<<10 {
			return flush()
		}
		return nil
	}
	if err := d.s.engine.DescribeDistEach(d.account, d.q, chunk, head, file, part); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return we
		}
		return appError(err, d.q.AppID)
	}
	if js {
		buf.WriteString(`]}}`)
	} else {
		buf.WriteString(`</DistResults></` + action + `Response>`)
	}
	return nil
}
