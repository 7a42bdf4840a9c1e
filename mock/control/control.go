// Package control is the control plane under /_ensmock/: health, reset, state, faults, clock, request journal and apps.
package control

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ensmock/ensmock/mock/clock"
	"github.com/ensmock/ensmock/mock/engine"
	"github.com/ensmock/ensmock/mock/faults"
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
	// Token, when set, is required as "Authorization: Bearer <token>" on every
	// endpoint but health.
	Token string
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
		{"GET", "/_ensmock/requests", h.listRequests},
		{"DELETE", "/_ensmock/requests", h.clearRequests},
		{"GET", "/_ensmock/apps", h.listApps},
		{"POST", "/_ensmock/apps", h.addApp},
	}
	allow := map[string][]string{}
	for _, rt := range routes {
		h.mux.HandleFunc(rt.method+" "+rt.path, rt.fn)
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

// ServeHTTP checks the token (health stays open) and dispatches. A known path
// with a wrong method answers 405 with an Allow header; errors are {"error":"..."}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Token != "" && r.URL.Path != "/_ensmock/health" && !h.authorized(r) {
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

func (h *Handler) state(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.account(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.cfg.Engine.Snapshot(acct))
}

func (h *Handler) listFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": h.cfg.Faults.List()})
}

func (h *Handler) addFaults(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
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
	mode := h.cfg.Clock.State().Mode
	if in.Mode != nil {
		m, err := clock.ParseMode(*in.Mode)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		mode = m
	}
	speed := 0.0
	if in.Speed != nil {
		if !(*in.Speed > 0) || *in.Speed > 1e6 {
			writeError(w, http.StatusBadRequest, "speed %v: want a positive factor (at most 1e6)", *in.Speed)
			return
		}
		speed = *in.Speed
	}
	if in.Now != nil {
		if err := clock.InRange(*in.Now); err != nil {
			writeError(w, http.StatusBadRequest, "now: %v", err)
			return
		}
	}
	if in.Mode != nil || in.Speed != nil {
		h.cfg.Clock.SetMode(mode, speed)
	}
	if in.Now != nil {
		_ = h.cfg.Clock.Set(*in.Now) // in range: checked above
	}
	writeJSON(w, http.StatusOK, h.cfg.Clock.State())
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

func (h *Handler) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Action: q.Get("action"), Code: q.Get("code")}
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
	list := j.List(f)
	writeJSON(w, http.StatusOK, map[string]any{"capacity": j.Cap(), "length": j.Len(), "count": len(list), "requests": list})
}

func (h *Handler) clearRequests(w http.ResponseWriter, _ *http.Request) {
	h.cfg.Journal.Clear()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": "all"})
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
	for _, a := range h.cfg.Engine.Snapshot(acct).Accounts {
		for _, p := range a.Apps {
			apps = append(apps, App{Account: a.Account, AppID: p.AppID})
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
	if strings.TrimSpace(in.AppID) == "" || len(in.AppID) > 256 {
		writeError(w, http.StatusBadRequest, "appId is required (at most 256 characters)")
		return
	}
	if err := h.cfg.Engine.RegisterApp(acct, in.AppID); err != nil {
		writeError(w, http.StatusConflict, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, App{Account: acct, AppID: in.AppID})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return nil, false
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", maxBody)
		return nil, false
	}
	return body, true
}

// decode reads a strict JSON object body (unknown keys are errors; an empty body is {}).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
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
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
