package control

import "net/http"

// Guard gives another page served beside the control plane (the live view,
// internal/ui) the control plane's Host and Origin checks: without a token, a
// request whose Host the mock does not answer to is refused (403, against DNS
// rebinding), and so is one whose Origin is another site. next checks the
// token itself (a browser opening a link cannot send a header).
func (h *Handler) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.refuseForeign(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}
