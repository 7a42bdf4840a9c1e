package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"

	"github.com/ensmock/ensmock/signature"
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
func utc(t time.Time) string { return t.UTC().Format(signature.TimestampFormat) }

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

// strategyOf reads a raw strategy value (a download link's filter, which the
// mock issued after checking it) as the API does, in lenient mode.
func strategyOf(raw string) engine.Strategy {
	if raw == "" {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return nil
	}
	return (&limitCheck{}).strategy("ServerFilterStrategy", v)
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
	lc := s.limitCheck()
	appID := req.Get("AppId")
	lc.checkAppID(appID)
	files := lc.dataFiles(req.JSON["Data"])
	st := lc.strategy("PushStrategy", req.JSON["PushStrategy"])
	if e := lc.done(req); e != nil {
		return nil, e
	}
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

func describeDataPushResult(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	lc := s.limitCheck()
	q := engine.DescribeQuery{
		AppID:    req.Get("AppId"),
		Names:    req.List("DataNames"),
		Versions: req.List("DataVersions"),
		Regions:  req.List("RegionIds"),
	}
	lc.checkAppID(q.AppID)
	var e *wire.Error
	if q.MinDate, q.MaxDate, e = lc.dates(req); e != nil {
		return nil, e
	}
	// Paging (docs/decisions.md): PageNumber defaults to 1 and PageSize to 10,
	// and omitting both exports everything (the documentation's "omit when you
	// export all information"): every result, in an answer that still says
	// PageSize 10, the metadata's default.
	pn, ps := req.Get("PageNumber"), req.Get("PageSize")
	paged := pn != "" || ps != ""
	if paged {
		q.PageNumber, q.PageSize = 1, defaultPageSize
		if pn != "" {
			q.PageNumber, _ = strconv.Atoi(pn) // validated: an int32 ≥ 1
		}
		if ps != "" {
			q.PageSize, _ = strconv.Atoi(ps) // validated: an int32
			switch {
			case q.PageSize < 1:
				lc.broke(limPageSize, "PageSize", "PageSize is %d", q.PageSize)
				q.PageSize = defaultPageSize
			case q.PageSize > maxPageSize:
				lc.broke(limPageSize, "PageSize", "PageSize is %d", q.PageSize)
			}
		}
	}
	if e := lc.done(req); e != nil {
		return nil, e
	}
	return &describeAnswer{s: s, account: account, q: q, requestID: req.RequestID}, nil
}

// describeAnswer is a DescribeDataPushResult answer written in parts (see
// streamBody): at most describeChunkEntries region entries are in memory at a
// time, whatever the number of files.
type describeAnswer struct {
	s         *Server
	account   string
	q         engine.DescribeQuery
	requestID string
}

// describeChunkEntries bounds the region entries one part of a describe
// answer gathers (16,384: a few MiB at most); a part holds at least one file.
const describeChunkEntries = 16384

// describeParts, when set (tests), is called with the number of files of each
// part; describeChunkOverride, when set, is the number of files of a part.
var (
	describeParts         func(files int)
	describeChunkOverride int
)

// streamBody is a success body too large to build before writing: encode
// writes it in the request's format, calling flush whenever buf holds enough
// to send. The first error (of the engine, or of writing) is returned; once
// flush has been called the status line is gone, so an error then can only
// cut the answer short.
type streamBody interface {
	encode(buf *bytes.Buffer, f wire.Format, action string, flush func() error) *wire.Error
}

func (d *describeAnswer) encode(buf *bytes.Buffer, f wire.Format, action string, flush func() error) *wire.Error {
	chunk := max(1, describeChunkEntries/max(1, len(d.s.regions)))
	if describeChunkOverride > 0 {
		chunk = describeChunkOverride
	}
	var starts, updates utcCache
	var ps pushStatus
	first := true
	head := func(res engine.DescribeResult) error {
		pageSize := res.PageSize
		if pageSize == 0 {
			pageSize = defaultPageSize // unpaged: the documented default, every result included
		}
		if f == wire.JSON {
			buf.WriteString(`{"RequestId":`)
			buf.WriteString(strconv.Quote(d.requestID))
			fmt.Fprintf(buf, `,"PageNumber":%d,"PageSize":%d,"TotalCount":%d,"PushResults":{"PushResult":[`, res.PageNumber, pageSize, res.Total)
			return nil
		}
		buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?><` + action + `Response><RequestId>`)
		_ = xml.EscapeText(buf, []byte(d.requestID))
		fmt.Fprintf(buf, `</RequestId><PageNumber>%d</PageNumber><PageSize>%d</PageSize><TotalCount>%d</TotalCount><PushResults>`, res.PageNumber, pageSize, res.Total)
		return nil
	}
	part := func(files []engine.FileStatus) error {
		if describeParts != nil {
			describeParts(len(files))
		}
		for i := range files {
			fillPushStatus(&ps, &files[i], &starts, &updates)
			if f == wire.JSON {
				if !first {
					buf.WriteByte(',')
				}
				if err := wire.EncodeJSON(buf, &ps); err != nil {
					return err
				}
			} else if err := wire.EncodeXML(buf, "PushResult", &ps); err != nil {
				return err
			}
			first = false
		}
		if buf.Len() >= 32<<10 {
			return flush()
		}
		return nil
	}
	if err := d.s.engine.DescribeEach(d.account, d.q, chunk, head, part); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return we
		}
		return engineError(err, d.q.AppID)
	}
	if f == wire.JSON {
		buf.WriteString(`]}}`)
	} else {
		buf.WriteString(`</PushResults></` + action + `Response>`)
	}
	return nil
}

// fillPushStatus renders one file's status into ps, reusing its slices.
func fillPushStatus(ps *pushStatus, f *engine.FileStatus, starts, updates *utcCache) {
	ps.Name, ps.Version = f.Name, f.Version
	stats := ps.StatusStatS.StatusStat[:0]
	if stats == nil {
		stats = make([]statusStat, 0, 3) // an empty list encodes as [], not null
	}
	for _, st := range f.Stats {
		var ss statusStat
		if len(stats) < cap(stats) {
			ss = stats[:len(stats)+1][len(stats)]
		}
		ss.Status, ss.RegionIDCount = st.Status, len(st.Regions)
		regs := ss.RegionIDs.RegionID[:0]
		if regs == nil {
			regs = make([]regionStatus, 0, len(st.Regions))
		}
		for _, r := range st.Regions {
			regs = append(regs, regionStatus{RegionID: r.RegionID, StartTime: starts.format(r.Start), StatusDescrip: r.Descrip, UpdateTime: updates.format(r.Update)})
		}
		ss.RegionIDs.RegionID = regs
		stats = append(stats, ss)
	}
	ps.StatusStatS.StatusStat = stats
}

// failedItems describes the items of a push answered 300 (the journal's
// detail of the push, and its log line): "item 0 (app01 1.0): <ResultDescrip>",
// at most 4 of them and 1 KiB; "" when none failed.
func failedItems(rs []pushResult) string {
	var parts []string
	n := 0
	for i, r := range rs {
		if r.ResultCode != engine.CodeFailed {
			continue
		}
		if n++; n <= 4 {
			parts = append(parts, fmt.Sprintf("item %d (%s %s): %s", i, truncate(r.Name, maxQuotedInLimit), truncate(r.Version, maxQuotedInLimit), r.ResultDescrip))
		}
	}
	if n > 4 {
		parts = append(parts, fmt.Sprintf("and %d more items answered 300", n-4))
	}
	return truncate(strings.Join(parts, "; "), 1024)
}

// logRequest logs one API request: a refused one (or a push with items
// answered 300) at info level with its detail, one accepted with warnings
// (ensmock limits it broke) at warn level with them, any other at debug level.
func (s *Server) logRequest(r *http.Request, ent *control.Entry) {
	level := slog.LevelDebug
	switch {
	case ent.HTTPStatus >= 400 || ent.Detail != "":
		level = slog.LevelInfo
	case len(ent.Warnings) > 0:
		level = slog.LevelWarn
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("action", ent.Action), slog.String("account", ent.Account), slog.Int("status", ent.HTTPStatus),
		slog.String("requestId", ent.RequestID), slog.Duration("took", time.Duration(ent.Latency))}
	msg := "request"
	if ent.ErrorCode != "" {
		msg = "request refused"
		attrs = append(attrs, slog.String("code", ent.ErrorCode))
	}
	if ent.Detail != "" {
		if ent.ErrorCode == "" {
			msg = "push answered 300 for some items"
		}
		attrs = append(attrs, slog.String("detail", ent.Detail))
	}
	if len(ent.Warnings) > 0 {
		msg = "request accepted over ensmock limits"
		attrs = append(attrs, slog.Any("warnings", ent.Warnings))
	}
	s.log.LogAttrs(r.Context(), level, msg, attrs...)
}

// headerSafe makes a warning a valid header value: no control characters
// (a user value quoted in it may hold any byte).
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
