// Package control is the control plane under /_ensmock/: health, reset, state, faults, clock, request journal and apps.
package control

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/mock/clock"
)

// Prefix is where the control plane lives.
const Prefix = "/_ensmock/"

// maxBody bounds a control-plane request body.
const maxBody = 1 << 20

// Config wires the control plane to the mock's parts.
type Config struct {
	Engine  *engine.Engine
	Clock   *clock.Clock
	Faults  *faults.Set
	Journal *Journal
	// ResolveKey returns the account of an AccessKeyId (ok false: unknown key).
	ResolveKey func(accessKeyID string) (account string, ok bool)
	// KnownAccount reports whether an account exists (one of the credentials'
	// accounts, or the default account with auth off). nil: every account.
	// POST /_ensmock/apps refuses another, so that the control plane cannot
	// create state no request can reach.
	KnownAccount func(account string) bool
	// Token, when set, is required as "Authorization: Bearer <token>" on every
	// endpoint but health; the Host check is then off (see hostAllowed).
	Token string
	// Hosts are host names (or host:port) the mock listens on or advertises,
	// and any extra the user allows: a request whose Host names one of them is
	// accepted besides the names always accepted (see hostAllowed).
	Hosts []string
	// ClockRewound, when set, is called after POST /_ensmock/clock/reset with
	// the time the clock showed before (from) and after (to); to may be
	// earlier than from.
	ClockRewound func(from, to time.Time)
}

// Handler serves the control plane.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the control plane handler (it answers paths under Prefix).
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	routes := []struct {
		method, path string
		fn           http.HandlerFunc
	}{
		{"GET", "/_ensmock/health", h.health},
		{"POST", "/_ensmock/reset", h.reset},
		{"GET", "/_ensmock/state", h.state},
		{"PUT", "/_ensmock/state", h.putState},
		{"GET", "/_ensmock/faults", h.listFaults},
		{"POST", "/_ensmock/faults", h.addFaults},
		{"DELETE", "/_ensmock/faults", h.clearFaults},
		{"DELETE", "/_ensmock/faults/{id}", h.removeFault},
		{"GET", "/_ensmock/clock", h.getClock},
		{"POST", "/_ensmock/clock", h.setClock},
		{"POST", "/_ensmock/clock/advance", h.advanceClock},
		{"POST", "/_ensmock/clock/reset", h.resetClock},
		{"GET", "/_ensmock/topology", h.topology},
		{"GET", "/_ensmock/requests", h.listRequests},
		{"DELETE", "/_ensmock/requests", h.clearRequests},
		{"POST", "/_ensmock/requests/count", h.countRequests},
		{"GET", "/_ensmock/apps", h.listApps},
		{"POST", "/_ensmock/apps", h.addApp},
	}
	allow := map[string][]string{}
	for _, rt := range routes {
		fn := rt.fn
		if rt.method == http.MethodPost {
			fn = requireJSON(fn)
		}
		h.mux.HandleFunc(rt.method+" "+rt.path, fn)
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if rest, ok := strings.CutPrefix(p, "/_ensmock/faults/"); ok && rest != "" && !strings.Contains(rest, "/") {
			p = "/_ensmock/faults/{id}"
		}
		if methods := allow[p]; methods != nil {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, http.StatusMethodNotAllowed, "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(methods, ", "))
			return
		}
		writeError(w, http.StatusNotFound, "no control endpoint %s %s (see docs/control-plane.md)", r.Method, r.URL.Path)
	})
	return h
}

// ServeHTTP guards and dispatches: health is always open; every other endpoint
// refuses a request whose Host the mock does not answer to (403; unless a
// token is set) or whose Origin is another site (403), then checks the token
// (401). A known path with a wrong method answers 405 with an Allow header; a
// POST without a JSON Content-Type answers 415. Errors are {"error":"..."}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_ensmock/health" {
		h.mux.ServeHTTP(w, r)
		return
	}
	if h.refuseForeign(w, r) {
		return
	}
	if h.cfg.Token != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ensmock"`)
		writeError(w, http.StatusUnauthorized, "the control plane needs Authorization: Bearer <token>")
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.cfg.Token)) == 1
}

// Health answers GET /_ensmock/health; exported so the API listener can serve
// it when the control plane has its own listener.
func (h *Handler) Health(w http.ResponseWriter, r *http.Request) { h.health(w, r) }

func (h *Handler) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "now": h.cfg.Clock.Now()})
}

// account reads ?account= or ?accessKeyId= (resolved through the credentials).
// required: one of them must be there. ok false: an error was written.
func (h *Handler) account(w http.ResponseWriter, r *http.Request, required bool) (string, bool) {
	q := r.URL.Query()
	acct, key := q.Get("account"), q.Get("accessKeyId")
	return h.resolve(w, acct, key, required)
}

func (h *Handler) resolve(w http.ResponseWriter, acct, key string, required bool) (string, bool) {
	switch {
	case acct != "" && key != "":
		writeError(w, http.StatusBadRequest, "give account or accessKeyId, not both")
		return "", false
	case key != "":
		a, ok := h.cfg.ResolveKey(key)
		if !ok {
			writeError(w, http.StatusBadRequest, "unknown accessKeyId %q", key)
			return "", false
		}
		return a, true
	case acct == "" && required:
		writeError(w, http.StatusBadRequest, "account (or accessKeyId) is required")
		return "", false
	}
	return acct, true
}

func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, false)
	if !ok {
		return
	}
	h.cfg.Engine.Reset(acct)
	res := map[string]any{"reset": "all"}
	if acct != "" {
		res["reset"] = "account"
		res["account"] = acct
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) listFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": h.cfg.Faults.List()})
}

func (h *Handler) addFaults(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxBody)
	if !ok {
		return
	}
	rules, many, err := faults.DecodeJSON(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad fault rule: %v", err)
		return
	}
	added, err := h.cfg.Faults.Add(rules...)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad fault rule: %v", err)
		return
	}
	if many {
		writeJSON(w, http.StatusCreated, map[string]any{"faults": added})
		return
	}
	writeJSON(w, http.StatusCreated, added[0])
}

func (h *Handler) removeFault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.cfg.Faults.Remove(id) {
		writeError(w, http.StatusNotFound, "no fault with id %q", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}

func (h *Handler) clearFaults(w http.ResponseWriter, _ *http.Request) {
	h.cfg.Faults.Clear()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": "all"})
}

func (h *Handler) getClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.cfg.Clock.State())
}

func (h *Handler) setClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Mode  *string    `json:"mode"`
		Speed *float64   `json:"speed"`
		Now   *time.Time `json:"now"`
	}
	if !decode(w, r, &in) {
		return
	}
	mode, ok := parseMode(w, in.Mode, h.cfg.Clock.State().Mode)
	if !ok {
		return
	}
	speed := 0.0
	if in.Speed != nil {
		if err := clock.CheckSpeed(*in.Speed); err != nil {
			writeError(w, http.StatusBadRequest, "speed: %v", err)
			return
		}
		speed = *in.Speed
	}
	// Every input is checked before anything changes: Set (which may refuse a
	// past time) goes first, and SetMode cannot fail after the checks above.
	if in.Now != nil {
		if err := h.cfg.Clock.Set(*in.Now); err != nil {
			writeError(w, http.StatusBadRequest, "now: %v", err)
			return
		}
	}
	if in.Mode != nil || in.Speed != nil {
		if err := h.cfg.Clock.SetMode(mode, speed); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, h.cfg.Clock.State())
}

// resetClock puts the clock back to the machine's time (the one sanctioned
// rewind): speed 1, in the mode asked for or the current one.
func (h *Handler) resetClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Mode *string `json:"mode"`
	}
	if !decode(w, r, &in) {
		return
	}
	mode, ok := parseMode(w, in.Mode, "")
	if !ok {
		return
	}
	from, to, err := h.cfg.Clock.Reset(mode)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if h.cfg.ClockRewound != nil {
		h.cfg.ClockRewound(from, to)
	}
	writeJSON(w, http.StatusOK, h.cfg.Clock.State())
}

// parseMode parses an optional "mode" field (def when absent); a bad one is
// answered 400 and ok is false.
func parseMode(w http.ResponseWriter, s *string, def clock.Mode) (clock.Mode, bool) {
	if s == nil {
		return def, true
	}
	m, err := clock.ParseMode(*s)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return "", false
	}
	return m, true
}

func (h *Handler) advanceClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		By *string `json:"by"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.By == nil {
		writeError(w, http.StatusBadRequest, `"by" is required, a Go duration like "90s"`)
		return
	}
	d, err := time.ParseDuration(*in.By)
	if err != nil {
		writeError(w, http.StatusBadRequest, "by %q: want a Go duration like \"90s\" or \"1h30m\"", *in.By)
		return
	}
	if err := h.cfg.Clock.Advance(d); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, h.cfg.Clock.State())
}

// requestFilterKeys are the query parameters of GET /_ensmock/requests
// (besides param.<Name>).
var requestFilterKeys = []string{"action", "account", "accessKeyId", "app", "code", "status", "limit"}

func (h *Handler) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Action: q.Get("action"), Code: q.Get("code"), App: q.Get("app")}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "param."); ok && name != "" {
			if f.Params == nil {
				f.Params = map[string]string{}
			}
			f.Params[name] = vs[0]
			continue
		}
		if !slices.Contains(requestFilterKeys, k) {
			writeError(w, http.StatusBadRequest, "unknown filter %q: want %s or param.<Name>=<value>", k, strings.Join(requestFilterKeys, ", "))
			return
		}
	}
	acct, ok := h.account(w, r, false)
	if !ok {
		return
	}
	f.Account = acct
	for _, p := range []struct {
		name string
		dst  *int
	}{{"status", &f.Status}, {"limit", &f.Limit}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "%s %q: want a non-negative integer", p.name, v)
				return
			}
			*p.dst = n
		}
	}
	j := h.cfg.Journal
	// Streamed: one entry at a time onto the client, no lock held meanwhile.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprintf(bw, `{"capacity":%d,"maxBytes":%d,"length":%d,"bytes":%d,"requests":[`, j.Cap(), j.MaxBytes(), j.Len(), j.Bytes())
	enc := json.NewEncoder(bw) // one entry a line
	enc.SetEscapeHTML(false)
	n := 0
	j.Each(f, func(e Entry) bool {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		return enc.Encode(e) == nil
	})
	fmt.Fprintf(bw, `],"count":%d}`+"\n", n)
	_ = bw.Flush()
}

// countRequests answers how many journal entries match a JSON filter
// (WireMock-style verification).
func (h *Handler) countRequests(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Filter
		AccessKeyID string `json:"accessKeyId"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Limit != 0 {
		writeError(w, http.StatusBadRequest, "limit does not apply to a count")
		return
	}
	if in.Status < 0 {
		writeError(w, http.StatusBadRequest, "status %d: want an HTTP status", in.Status)
		return
	}
	acct, ok := h.resolve(w, in.Account, in.AccessKeyID, false)
	if !ok {
		return
	}
	f := in.Filter
	f.Account = acct
	j := h.cfg.Journal
	writeJSON(w, http.StatusOK, map[string]any{"count": j.Count(f), "length": j.Len()})
}

func (h *Handler) clearRequests(w http.ResponseWriter, _ *http.Request) {
	h.cfg.Journal.Clear()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": "all"})
}

// topology lists the regions (ENS nodes) and their file servers, in the
// topology's order, in the format of a --topology file.
func (h *Handler) topology(w http.ResponseWriter, _ *http.Request) {
	t := engine.Topology{Regions: []engine.Region{}}
	at := map[string]int{}
	for _, s := range h.cfg.Engine.Servers() {
		i, ok := at[s.Region]
		if !ok {
			i = len(t.Regions)
			at[s.Region] = i
			t.Regions = append(t.Regions, engine.Region{ID: s.Region})
		}
		t.Regions[i].Servers = append(t.Regions[i].Servers, s.ID)
	}
	writeJSON(w, http.StatusOK, t)
}

// App is one registered application.
type App struct {
	Account string `json:"account"`
	AppID   string `json:"appId"`
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, false)
	if !ok {
		return
	}
	apps := []App{}
	for _, a := range h.cfg.Engine.StateAccounts(acct) {
		for _, id := range h.cfg.Engine.StateApps(a) {
			apps = append(apps, App{Account: a, AppID: id})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

func (h *Handler) addApp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Account     string `json:"account"`
		AccessKeyID string `json:"accessKeyId"`
		AppID       string `json:"appId"`
	}
	if !decode(w, r, &in) {
		return
	}
	acct, ok := h.resolve(w, in.Account, in.AccessKeyID, true)
	if !ok {
		return
	}
	if h.cfg.KnownAccount != nil && !h.cfg.KnownAccount(acct) {
		writeError(w, http.StatusBadRequest, "unknown account %q: the mock's accounts are those of its credentials (and %q with --auth off)", acct, "default")
		return
	}
	if strings.TrimSpace(in.AppID) == "" || len(in.AppID) > 256 {
		writeError(w, http.StatusBadRequest, "appId is required (at most 256 characters)")
		return
	}
	if err := h.cfg.Engine.RegisterApp(acct, in.AppID); err != nil {
		status := http.StatusConflict
		if errors.Is(err, engine.ErrTooManyApps) {
			status = http.StatusBadRequest
		}
		writeError(w, status, "account %q: %v", acct, err)
		return
	}
	writeJSON(w, http.StatusCreated, App{Account: acct, AppID: in.AppID})
}

func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return nil, false
	}
	if int64(len(body)) > max {
		writeError(w, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", max)
		return nil, false
	}
	return body, true
}

// decode reads a strict JSON object body (unknown keys are errors; an empty body is {}).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r, maxBody)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // for curl users: "<" stays "<"
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"encoding the response failed"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
