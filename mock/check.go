package mock

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/mock/wire"
)

// checkResponses reports whether every API response is validated against the
// spec before it is sent: when Options.CheckResponses is set, and inside any test
// binary (so each response any test receives is proven to match ens.yaml) unless
// Options.SkipResponseCheck is set.
func (s *Server) checkResponses() bool {
	return s.opts.CheckResponses || (testing.Testing() && !s.opts.SkipResponseCheck)
}

// checked wraps the API handler: it renders each JSON response into a buffer,
// validates it against the action's response schema, and answers 500
// InternalError (with the validation error in X-Ensmock-Detail) on a mismatch,
// so a broken response can never pass unnoticed.
func (s *Server) checked(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Query().Get("Action")
		if action == "" {
			action = r.Header.Get("x-acs-action")
		}
		if action == "" && r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			// Action in a form body: read it, and give the body back to the handler.
			form, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
			r.Body = io.NopCloser(bytes.NewReader(form))
			if q, err := url.ParseQuery(string(form)); err == nil {
				action = q.Get("Action")
			}
		}
		rec := httptest.NewRecorder()
		next(rec, r)
		body := rec.Body.Bytes()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && s.validator.Check(action, http.MethodGet) == nil {
			if err := s.validator.CheckResponse(r.Context(), action, rec.Code, rec.Header(), body); err != nil {
				s.log.Error("response does not match the spec", "action", action, "err", err, "body", string(body))
				e := wire.InternalError.WithDetail("ensmock bug: the %s response does not match spec/ens.yaml: %v", action, err)
				wire.WriteError(w, rec.Header().Get("x-acs-request-id"), wire.JSON, e)
				return
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(bytes.Clone(body))
	}
}
