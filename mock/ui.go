package mock

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/ui"
)

// uiSource adapts the mock's parts to what the live view (internal/ui) reads.
type uiSource struct{ s *Server }

func (u uiSource) Apps() []ui.App {
	apps := u.s.engine.Apps()
	out := make([]ui.App, len(apps))
	for i, a := range apps {
		out[i] = ui.App{Account: a.Account, AppID: a.AppID, Files: a.Files}
	}
	return out
}

func (u uiSource) Regions() []string { return u.s.engine.Regions() }

// Files reads one page through Describe, the per-region aggregate that
// DescribeDataPushResult answers (a region is PUSHING while any of its file
// servers is, else FAILED if any failed).
func (u uiSource) Files(account, appID string, page, size int) ([]ui.File, int, error) {
	res, err := u.s.engine.Describe(account, engine.DescribeQuery{AppID: appID, PageNumber: page, PageSize: size})
	if err != nil {
		return nil, 0, err
	}
	out := make([]ui.File, len(res.Files))
	for i, f := range res.Files {
		uf := ui.File{Name: f.Name, Version: f.Version, Regions: map[string]ui.Cell{}}
		for _, st := range f.Stats {
			for _, r := range st.Regions {
				uf.Regions[r.RegionID] = ui.Cell{Status: st.Status, Start: r.Start, Update: r.Update, Reason: r.Descrip}
			}
		}
		out[i] = uf
	}
	return out, res.Total, nil
}

// LastResultCodes reads the journal, newest first: the engine does not keep the
// ResultCode it answered, so a code is known only while the push that answered
// it is still in the journal (and its Data parameter was recorded whole).
func (u uiSource) LastResultCodes(account, appID string, keys []ui.FileKey) map[ui.FileKey]int {
	out := map[ui.FileKey]int{}
	if len(keys) == 0 {
		return out
	}
	want := make(map[ui.FileKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	for _, e := range u.s.journal.List(control.Filter{Action: "PushApplicationData", Account: account, App: appID, Status: 200}) {
		if len(e.ResultCodes) == 0 {
			continue
		}
		var data []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if json.Unmarshal([]byte(e.Params["Data"]), &data) != nil || len(data) != len(e.ResultCodes) {
			continue
		}
		for i, d := range data {
			k := ui.FileKey{Name: d.Name, Version: d.Version}
			if _, seen := out[k]; !seen && want[k] {
				out[k] = e.ResultCodes[i]
			}
		}
		if len(out) == len(want) {
			break
		}
	}
	return out
}

func (u uiSource) Clock() ui.Clock {
	st := u.s.clock.State()
	return ui.Clock{Mode: string(st.Mode), Speed: st.Speed, Now: st.Now}
}

func (u uiSource) Faults() []ui.Fault {
	list := u.s.faults.List()
	out := make([]ui.Fault, len(list))
	for i, f := range list {
		match, _ := json.Marshal(f.Match)
		params, _ := json.Marshal(f.Params)
		var extra []string
		if f.Probability != nil {
			extra = append(extra, "probability "+strconv.FormatFloat(*f.Probability, 'g', -1, 64))
		}
		if f.Count > 0 {
			extra = append(extra, "count "+strconv.Itoa(f.Count))
		}
		out[i] = ui.Fault{ID: f.ID, Effect: f.Effect, Match: string(match), Params: string(params), Extra: strings.Join(extra, ", "), Applied: f.Applied}
	}
	return out
}

func (u uiSource) Requests(f ui.RequestFilter) []ui.Request {
	list := u.s.journal.List(control.Filter{Action: f.Action, Code: f.Code, Account: f.Account, Limit: f.Limit})
	out := make([]ui.Request, len(list))
	for i, e := range list {
		out[i] = ui.Request{Time: e.Time, RequestID: e.RequestID, Action: e.Action, Account: e.Account, Method: e.Method,
			HTTPStatus: e.HTTPStatus, ErrorCode: e.ErrorCode, Detail: e.Detail, Warnings: e.Warnings, ResultCodes: e.ResultCodes, Params: e.Params, Response: e.Response}
	}
	return out
}
