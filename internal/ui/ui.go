// Package ui is the mock's live view under /_ensmock/ui/: a server-rendered page
// (html/template) of every account's apps, a grid of data files × regions with
// each cell's push status, the clock, the fault rules and the request journal,
// kept current by a small embedded script that polls JSON. Everything it serves
// is embedded; nothing comes from a CDN.
//
// The package reads the mock through the small Source interface, so it depends
// on none of the mock's packages; the mock adapts its parts to it.
package ui

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefix is where the live view lives (under the control plane's /_ensmock/).
const Prefix = "/_ensmock/ui/"

// DefaultPageSize is how many data files one page of the grid shows.
const DefaultPageSize = 100

// MaxPageSize bounds ?size=.
const MaxPageSize = 500

// JournalTail is how many journal entries the page shows.
const JournalTail = 50

// Statuses of a cell, as the engine names them.
const (
	StatusPushing = "PUSHING"
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
)

// Source is what the live view reads. Every method must be safe for concurrent use.
type Source interface {
	// Apps lists every account's applications, sorted, with their file counts.
	Apps() []App
	// Regions are the columns of the grid, sorted.
	Regions() []string
	// Files returns one page (from 1) of an app's data files with their status
	// per region, and the total number of files.
	Files(account, appID string, page, size int) ([]File, int, error)
	// LastResultCodes returns the ResultCode the latest PushApplicationData
	// answered for each of keys (name, version) of the app, when it is known.
	LastResultCodes(account, appID string, keys []FileKey) map[FileKey]int
	// Clock is the clock's state.
	Clock() Clock
	// Faults are the fault rules in force.
	Faults() []Fault
	// Requests returns the journal's newest entries that match f.
	Requests(f RequestFilter) []Request
}

// App is one application of one account.
type App struct {
	Account string `json:"account"`
	AppID   string `json:"appId"`
	Files   int    `json:"files"`
}

// FileKey names a data file within an app.
type FileKey struct{ Name, Version string }

// File is one data file and its status per region.
type File struct {
	Name    string
	Version string
	// Regions holds the file's status in each region that has a replica of it.
	Regions map[string]Cell
}

// Cell is the status of one data file in one region.
type Cell struct {
	Status        string    `json:"status"` // PUSHING, SUCCESS or FAILED
	Start, Update time.Time `json:"-"`
	Reason        string    `json:"reason"`
}

// Clock is the mock's clock.
type Clock struct {
	Mode  string    `json:"mode"`
	Speed float64   `json:"speed"`
	Now   time.Time `json:"now"`
}

// Fault is one fault rule as listed.
type Fault struct {
	ID      string
	Effect  string
	Match   string // JSON
	Params  string // JSON
	Extra   string // probability, count
	Applied int
}

// RequestFilter selects journal entries; zero fields do not filter.
type RequestFilter struct {
	Action, Code, Account string
	Limit                 int
}

// Request is one journal entry.
type Request struct {
	Time        time.Time
	RequestID   string
	Action      string
	Account     string
	Method      string
	HTTPStatus  int
	ErrorCode   string
	Detail      string
	Warnings    []string
	ResultCodes []int
	Params      map[string]string
	Response    string // the body of a successful answer, as sent (cut)
}

// Config configures the live view.
type Config struct {
	Source Source
	// Token, when set, is required as "Authorization: Bearer <token>" or as the
	// query parameter token=<token> (a browser cannot send a header when it
	// opens a link); the page's script passes it on as a bearer token.
	Token string
	// Refresh is the page's polling interval (default 1 s).
	Refresh time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"join": strings.Join,
	"inc":  func(n int) int { return n + 1 },
	"dec":  func(n int) int { return n - 1 },
	"ints": func(v []int) string {
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, ",")
	},
}).ParseFS(templateFS, "templates/page.html"))

// Handler serves the live view.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	static http.Handler
	bufs   sync.Pool
}

// New returns the live view's handler (it answers paths under Prefix).
func New(cfg Config) *Handler {
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), static: http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))}
	h.bufs.New = func() any { return new(bytes.Buffer) }
	h.mux.HandleFunc("GET "+Prefix+"{$}", h.page)
	h.mux.HandleFunc("GET "+Prefix+"grid", h.grid)
	h.mux.Handle("GET "+Prefix+"static/", h.static)
	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page of the live view (see docs/control-plane.md)", http.StatusNotFound)
	})
	return h
}

// ServeHTTP checks the token (the embedded script and stylesheet stay open:
// they hold no data) and serves the page, its JSON and its static files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") && h.cfg.Token != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ensmock"`)
		http.Error(w, "the live view needs the control-plane token: open "+Prefix+"?token=<token> or send Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	}
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("token")
	}
	got = strings.TrimSpace(got)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Token)) == 1
}

// view is what the page and the grid JSON are made of.
type view struct {
	Apps     []App
	Selected *App
	Regions  []string
	Rows     []row
	Page     int
	Pages    int
	Size     int
	Total    int
	First    int // 1-based number of the first file on the page
	Last     int
	Clock    Clock
	Faults   []Fault
	Requests []Request
	Filter   RequestFilter
	Error    string
	Token    string
	Refresh  int // ms
	Effects  []string
	query    url.Values
}

type row struct {
	Name, Version string
	ResultCode    string // "" when unknown
	Cells         []cellView
}

type cellView struct {
	Region string `json:"region"`
	Status string `json:"status"` // "" when the region holds no replica
	Class  string `json:"class"`
	Label  string `json:"label"`
	Reason string `json:"reason"`
	Start  string `json:"start"`
	Update string `json:"update"`
	Title  string `json:"title"`
}

// label is the text (with an icon) of a status: colour is never its only carrier.
func label(status string) (class, text string) {
	switch status {
	case StatusPushing:
		return "pushing", "⟳ pushing"
	case StatusSuccess:
		return "success", "✓ success"
	case StatusFailed:
		return "failed", "✗ failed"
	case "":
		return "none", "–"
	}
	return "other", strings.ToLower(status)
}

// Effects are the fault effects the form offers.
var Effects = []string{"region_down", "server_down", "slow", "fail_after", "corrupt", "error", "latency"}

// build gathers the view for a request's query.
func (h *Handler) build(q url.Values, withSide bool) view {
	v := view{Refresh: int(h.cfg.Refresh / time.Millisecond), Effects: Effects, query: q}
	if h.cfg.Token != "" {
		v.Token = q.Get("token")
	}
	src := h.cfg.Source
	v.Apps = src.Apps()
	acct, appID := q.Get("account"), q.Get("app")
	for i := range v.Apps {
		a := &v.Apps[i]
		if (acct == "" && appID == "") || (a.Account == acct && a.AppID == appID) {
			v.Selected = a
			break
		}
	}
	if v.Selected == nil && (acct != "" || appID != "") {
		v.Error = fmt.Sprintf("no app %q in account %q", appID, acct)
	}
	v.Size = DefaultPageSize
	if s, err := strconv.Atoi(q.Get("size")); err == nil && s > 0 {
		v.Size = min(s, MaxPageSize)
	}
	v.Page = 1
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		v.Page = p
	}
	v.Regions = src.Regions()
	if v.Selected != nil {
		files, total, err := src.Files(v.Selected.Account, v.Selected.AppID, v.Page, v.Size)
		if err != nil {
			v.Error = err.Error()
		}
		v.Total = total
		v.Pages = max(1, (total+v.Size-1)/v.Size)
		if len(files) > 0 {
			v.First = (v.Page-1)*v.Size + 1
			v.Last = v.First + len(files) - 1
		}
		keys := make([]FileKey, len(files))
		for i, f := range files {
			keys[i] = FileKey{f.Name, f.Version}
		}
		codes := src.LastResultCodes(v.Selected.Account, v.Selected.AppID, keys)
		v.Rows = make([]row, len(files))
		for i, f := range files {
			r := row{Name: f.Name, Version: f.Version, Cells: make([]cellView, len(v.Regions))}
			if c, ok := codes[keys[i]]; ok {
				r.ResultCode = strconv.Itoa(c)
			}
			for j, region := range v.Regions {
				c := f.Regions[region]
				cv := cellView{Region: region, Status: c.Status, Reason: c.Reason}
				cv.Class, cv.Label = label(c.Status)
				if c.Status != "" {
					cv.Start, cv.Update = c.Start.UTC().Format(time.RFC3339), c.Update.UTC().Format(time.RFC3339)
					cv.Title = region + ": " + c.Status + " — " + c.Reason + "\nstart " + cv.Start + "\nupdate " + cv.Update
				} else {
					cv.Title = region + ": no replica"
				}
				r.Cells[j] = cv
			}
			v.Rows[i] = r
		}
	}
	if withSide {
		v.Clock = src.Clock()
		v.Faults = src.Faults()
		v.Filter = RequestFilter{Action: q.Get("jaction"), Code: q.Get("jcode"), Account: q.Get("jaccount"), Limit: JournalTail}
		v.Requests = src.Requests(v.Filter)
	}
	return v
}

// Link is the page's URL with some query parameters changed (and the token kept).
func (v view) Link(kv ...string) string {
	q := url.Values{}
	for _, k := range []string{"account", "app", "size", "jaction", "jcode", "jaccount", "token"} {
		if s := v.query.Get(k); s != "" {
			q.Set(k, s)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if s := q.Encode(); s != "" {
		return Prefix + "?" + s
	}
	return Prefix
}

// AppLink is the link that selects app a (first page).
func (v view) AppLink(a App) string {
	return v.Link("account", a.Account, "app", a.AppID, "page", "")
}

// PageLink is the link to page n of the selected app.
func (v view) PageLink(n int) string {
	if v.Selected == nil {
		return v.Link()
	}
	return v.Link("account", v.Selected.Account, "app", v.Selected.AppID, "page", strconv.Itoa(n))
}

// IsSelected says whether a is the selected app.
func (v view) IsSelected(a App) bool {
	return v.Selected != nil && v.Selected.Account == a.Account && v.Selected.AppID == a.AppID
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	v := h.build(r.URL.Query(), true)
	buf := h.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			h.bufs.Put(buf)
		}
	}()
	if err := page.Execute(buf, v); err != nil {
		http.Error(w, "rendering the live view: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// gridJSON is the grid as the script redraws it.
type gridJSON struct {
	Apps     []App    `json:"apps"`
	Account  string   `json:"account"`
	AppID    string   `json:"appId"`
	Page     int      `json:"page"`
	Pages    int      `json:"pages"`
	Size     int      `json:"size"`
	Total    int      `json:"total"`
	First    int      `json:"first"`
	Last     int      `json:"last"`
	Regions  []string `json:"regions"`
	Files    []fileJS `json:"files"`
	Error    string   `json:"error,omitempty"`
	Selected bool     `json:"selected"`
}

type fileJS struct {
	Name       string     `json:"name"`
	Version    string     `json:"version"`
	ResultCode string     `json:"resultCode"`
	Cells      []cellView `json:"cells"`
}

// grid answers the selected app's page of the grid as JSON (the script polls it).
func (h *Handler) grid(w http.ResponseWriter, r *http.Request) {
	v := h.build(r.URL.Query(), false)
	out := gridJSON{Apps: v.Apps, Page: v.Page, Pages: v.Pages, Size: v.Size, Total: v.Total, First: v.First, Last: v.Last,
		Regions: v.Regions, Files: make([]fileJS, len(v.Rows)), Error: v.Error, Selected: v.Selected != nil}
	if out.Apps == nil {
		out.Apps = []App{}
	}
	if v.Selected != nil {
		out.Account, out.AppID = v.Selected.Account, v.Selected.AppID
	}
	for i, rw := range v.Rows {
		out.Files[i] = fileJS(rw)
	}
	data, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(data, '\n'))
}
