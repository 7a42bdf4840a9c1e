package mock

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ensmock/ensmock/mock/engine"
	"github.com/ensmock/ensmock/mock/wire"
)

// The response bodies, with the exact field names of the official metadata. Each
// encodes to JSON as is and to XML under <Action+"Response"> (arrays as repeated
// elements in their container).

type pushApplicationDataResponse struct {
	RequestID   string `json:"RequestId" xml:"RequestId"`
	PushResults struct {
		PushResult []pushResult `json:"PushResult" xml:"PushResult"`
	} `json:"PushResults" xml:"PushResults"`
}

type pushResult struct {
	Name          string `json:"Name" xml:"Name"`
	Version       string `json:"Version" xml:"Version"`
	ResultCode    int    `json:"ResultCode" xml:"ResultCode"`
	ResultDescrip string `json:"ResultDescrip" xml:"ResultDescrip"`
}

type describeDataPushResultResponse struct {
	RequestID   string `json:"RequestId" xml:"RequestId"`
	PageNumber  int    `json:"PageNumber" xml:"PageNumber"`
	PageSize    int    `json:"PageSize" xml:"PageSize"`
	TotalCount  int    `json:"TotalCount" xml:"TotalCount"`
	PushResults struct {
		PushResult []pushStatus `json:"PushResult" xml:"PushResult"`
	} `json:"PushResults" xml:"PushResults"`
}

type pushStatus struct {
	Name        string `json:"Name" xml:"Name"`
	Version     string `json:"Version" xml:"Version"`
	StatusStatS struct {
		StatusStat []statusStat `json:"StatusStat" xml:"StatusStat"`
	} `json:"StatusStatS" xml:"StatusStatS"`
}

type statusStat struct {
	Status        string `json:"Status" xml:"Status"`
	RegionIDCount int    `json:"RegionIdCount" xml:"RegionIdCount"`
	RegionIDs     struct {
		RegionID []regionStatus `json:"RegionId" xml:"RegionId"`
	} `json:"RegionIds" xml:"RegionIds"`
}

type regionStatus struct {
	RegionID      string `json:"RegionId" xml:"RegionId"`
	StartTime     string `json:"StartTime" xml:"StartTime"`
	StatusDescrip string `json:"StatusDescrip" xml:"StatusDescrip"`
	UpdateTime    string `json:"UpdateTime" xml:"UpdateTime"`
}

// utc is the metadata's time format, e.g. 2021-12-28T16:00:00Z.
func utc(t time.Time) string { return t.UTC().Format(utcLayout) }

const utcLayout = "2006-01-02T15:04:05Z"

// utcCache formats times as utc does, once per run of equal seconds: the
// replicas of a file mostly share their start (and often their update) second,
// and a describe answer carries two times per replica.
type utcCache struct {
	sec  int64
	text string
}

func (c *utcCache) format(t time.Time) string {
	if sec := t.Unix(); sec != c.sec || c.text == "" {
		c.sec, c.text = sec, utc(t)
	}
	return c.text
}

// action is one emulated operation: it reads validated parameters and returns a body.
type action func(ctx context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error)

func (s *Server) actionTable() map[string]action {
	return map[string]action{
		"PushApplicationData":     pushApplicationData,
		"DescribeDataPushResult":  describeDataPushResult,
		"DescribeDataDownloadURL": describeDataDownloadURL,
		// applications and distribution (api_apps.go)
		"CreateApplication":      createApplication,
		"DescribeApplication":    describeApplication,
		"ListApplications":       listApplications,
		"DeleteApplication":      deleteApplication,
		"DistApplicationData":    distApplicationData,
		"DescribeDataDistResult": describeDataDistResult,
	}
}

// strategy decodes a (validated) ScheduleToRegionId policy: one object or an array.
func strategy(raw string) (engine.Strategy, error) {
	if raw == "" {
		return nil, nil
	}
	type policy struct {
		Name       string `json:"name"`
		Parameters struct {
			Operator string   `json:"operator"`
			Values   []string `json:"values"`
		} `json:"parameters"`
	}
	var many []policy
	if err := json.Unmarshal([]byte(raw), &many); err != nil {
		var one policy
		if err := json.Unmarshal([]byte(raw), &one); err != nil {
			return nil, err
		}
		many = []policy{one}
	}
	st := make(engine.Strategy, len(many))
	for i, p := range many {
		st[i] = engine.Selector{Operator: p.Parameters.Operator, Values: p.Parameters.Values}
	}
	return st, nil
}

func engineError(err error, param string) *wire.Error {
	var pe *engine.ParamError
	switch {
	case errors.As(err, &pe):
		return wire.InvalidParameter(pe.Param).WithDetail("%s", pe.Reason)
	case errors.Is(err, engine.ErrAppDeleted), errors.Is(err, engine.ErrAppDeleting):
		return appError(err, param)
	case errors.Is(err, engine.ErrUnknownApp):
		return wire.InvalidParameter("AppId").WithDetail("application %q is not registered (apps are strict)", param)
	}
	return wire.InternalError.WithDetail("%v", err)
}

func pushApplicationData(ctx context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	files, ok := dataFiles(req.JSON["Data"])
	if !ok { // not the plain shape dataFiles reads exactly: decode the raw JSON
		if err := json.Unmarshal([]byte(req.Get("Data")), &files); err != nil {
			return nil, wire.InvalidParameter("Data").WithDetail("%v", err)
		}
	}
	st, err := strategy(req.Get("PushStrategy"))
	if err != nil {
		return nil, wire.InvalidParameter("PushStrategy").WithDetail("%v", err)
	}
	appID := req.Get("AppId")
	results, err := s.engine.Push(ctx, account, appID, files, st)
	if err != nil {
		return nil, engineError(err, appID)
	}
	resp := &pushApplicationDataResponse{RequestID: req.RequestID}
	resp.PushResults.PushResult = make([]pushResult, len(results))
	for i, r := range results {
		resp.PushResults.PushResult[i] = pushResult{Name: r.Name, Version: r.Version, ResultCode: r.Code, ResultDescrip: r.Descrip}
	}
	return resp, nil
}

// dataFiles reads the Data value that validation decoded (a JSON array of
// objects) into typed files, giving exactly what json.Unmarshal into
// []engine.DataFile gives. ok is false for any input it cannot read that way
// (a key in another letter case, a non-integral or huge number, a wrong type):
// the caller then decodes the raw JSON.
func dataFiles(v any) (files []engine.DataFile, ok bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	files = make([]engine.DataFile, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		for k := range m {
			if _, known := dataFileKeys[k]; !known {
				for name := range dataFileKeys {
					if strings.EqualFold(k, name) {
						return nil, false // json.Unmarshal matches keys case-insensitively
					}
				}
			}
		}
		f := &files[i]
		okAll := true
		for _, s := range [...]struct {
			key string
			dst *string
		}{{"name", &f.Name}, {"version", &f.Version}, {"archiveType", &f.ArchiveType}, {"md5", &f.MD5}, {"url", &f.URL}} {
			switch x := m[s.key].(type) {
			case nil:
			case string:
				*s.dst = x
			default:
				okAll = false
			}
		}
		for _, n := range [...]struct {
			key string
			dst *int64
		}{{"size", &f.Size}, {"timeout", &f.Timeout}} {
			switch x := m[n.key].(type) {
			case nil:
			case float64:
				if x != math.Trunc(x) || math.Abs(x) >= 1<<53 { // beyond 2^53 a float64 may have rounded
					okAll = false
				}
				*n.dst = int64(x)
			default:
				okAll = false
			}
		}
		if !okAll {
			return nil, false
		}
	}
	return files, true
}

var dataFileKeys = map[string]struct{}{"name": {}, "version": {}, "size": {}, "archiveType": {}, "md5": {}, "url": {}, "timeout": {}}

func describeDataPushResult(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	q := engine.DescribeQuery{
		AppID:    req.Get("AppId"),
		Names:    engine.SplitList(req.Get("DataNames")),
		Versions: engine.SplitList(req.Get("DataVersions")),
		Regions:  engine.SplitList(req.Get("RegionIds")),
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"MinDate", &q.MinDate}, {"MaxDate", &q.MaxDate}} {
		if v := req.Get(d.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, wire.InvalidParameter(d.name).WithDetail("%s %q: want yyyy-MM-dd", d.name, v)
			}
			*d.dst = t
		}
	}
	if !q.MinDate.IsZero() && !q.MaxDate.IsZero() && q.MaxDate.Before(q.MinDate) {
		return nil, wire.InvalidParameter("MaxDate").WithDetail("MaxDate is before MinDate")
	}
	// Paging: the doc says PageNumber defaults to 1 and PageSize to 10, and that
	// omitting both exports everything; ensmock does exactly that.
	pn, ps := req.Get("PageNumber"), req.Get("PageSize")
	if pn != "" || ps != "" {
		q.PageNumber, q.PageSize = 1, 10
		if pn != "" {
			q.PageNumber, _ = strconv.Atoi(pn)
		}
		if ps != "" {
			q.PageSize, _ = strconv.Atoi(ps)
		}
	}
	res, err := s.engine.Describe(account, q)
	if err != nil {
		return nil, engineError(err, q.AppID)
	}
	resp := &describeDataPushResultResponse{RequestID: req.RequestID, PageNumber: res.PageNumber, PageSize: res.PageSize, TotalCount: res.Total}
	if resp.PageSize == 0 {
		resp.PageSize = res.Total
	}
	resp.PushResults.PushResult = make([]pushStatus, len(res.Files))
	var starts, updates utcCache
	for i, f := range res.Files {
		ps := &resp.PushResults.PushResult[i]
		ps.Name, ps.Version = f.Name, f.Version
		ps.StatusStatS.StatusStat = make([]statusStat, len(f.Stats))
		for j, st := range f.Stats {
			ss := &ps.StatusStatS.StatusStat[j]
			ss.Status, ss.RegionIDCount = st.Status, len(st.Regions)
			ss.RegionIDs.RegionID = make([]regionStatus, len(st.Regions))
			for k, r := range st.Regions {
				ss.RegionIDs.RegionID[k] = regionStatus{RegionID: r.RegionID, StartTime: starts.format(r.Start), StatusDescrip: r.Descrip, UpdateTime: updates.format(r.Update)}
			}
		}
	}
	return resp, nil
}
