package control

import "net/http"

// Guard gives another page served beside the control plane (the live view,
// internal/ui) the control plane's Host and Origin checks: without a token, a
// request whose Host the mock does not answer to is refused (403, against DNS
// rebinding), and so is one whose Origin is another site. next checks the
// token itself (a browser opening a link cannot send a header).
func (h *Handler) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Token == "" && !h.hostAllowed(r.Host) {
			writeError(w, http.StatusForbidden, "Host %q: the control plane answers only the names it listens on or advertises "+
				"(loopback names, IP addresses, single-label names, *.localhost, *.internal, %s); set a control token to accept any Host",
				r.Host, h.hostList())
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
			writeError(w, http.StatusForbidden, "Origin %q does not match Host %q: the control plane refuses requests from other sites' pages", o, r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}
