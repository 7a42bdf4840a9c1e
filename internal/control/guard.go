package control

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Guards against browsers: a page on another site must not be able to drive
// the control plane (a cross-site "simple" POST needs no preflight), and DNS
// rebinding (a name of the attacker's that resolves to 127.0.0.1) must not let
// such a page read it either. See docs/control-plane.md, "Protecting the
// control plane".

// refuseForeign answers 403 and reports true when the request comes from
// outside: without a token, a Host the mock does not answer to (DNS
// rebinding); with or without one, an Origin of another site. Both
// ServeHTTP and Guard start with it.
func (h *Handler) refuseForeign(w http.ResponseWriter, r *http.Request) bool {
	if h.cfg.Token == "" && !h.hostAllowed(r.Host) {
		writeError(w, http.StatusForbidden, "Host %q: the control plane answers only the names it listens on or advertises "+
			"(loopback names, IP addresses, single-label names, *.localhost, *.internal, %s); set a control token to accept any Host",
			r.Host, h.hostList())
		return true
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		writeError(w, http.StatusForbidden, "Origin %q does not match Host %q: the control plane refuses requests from other sites' pages", o, r.Host)
		return true
	}
	return false
}

// hostAllowed reports whether the Host header names the mock. Accepted, at any
// port: an IP address (a rebinding page's requests carry the attacker's name,
// never an address), localhost and *.localhost, a single-label name (a Docker
// or Compose service name: public DNS has none), *.internal (reserved for
// private use: host.docker.internal), and the configured Hosts (the listen
// host, the advertise host, extras). An absent Host (HTTP/1.0) is accepted:
// browsers always send one.
func (h *Handler) hostAllowed(hostport string) bool {
	host := hostname(hostport)
	switch {
	case host == "":
		return true
	case net.ParseIP(host) != nil:
		return true
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		return true
	case !strings.Contains(host, "."):
		return true
	case strings.HasSuffix(host, ".internal"):
		return true
	}
	for _, a := range h.cfg.Hosts {
		if a != "" && hostname(a) == host {
			return true
		}
	}
	return false
}

// hostList names the configured host names, for an error message.
func (h *Handler) hostList() string {
	var names []string
	for _, a := range h.cfg.Hosts {
		if n := hostname(a); n != "" && net.ParseIP(n) == nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no other name configured"
	}
	return "and " + strings.Join(names, ", ")
}

// hostname is the lower-case host of a host[:port] (brackets and a trailing
// dot removed).
func hostname(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// sameOrigin reports whether the Origin header names the host and port the
// request was sent to (r.Host; a missing port is the scheme's default). A
// browser sends Origin on every cross-site request but a simple GET; "null"
// (a sandboxed or file: page) never matches.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	oport := u.Port()
	if oport == "" {
		oport = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	hport := "80"
	if r.TLS != nil {
		hport = "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		hport = p
	}
	return hostname(u.Host) == hostname(r.Host) && oport == hport
}

// requireJSON refuses a request whose Content-Type is not application/json
// (415), even with an empty body: a page on another site can send a form or
// text/plain POST without a preflight, never an application/json one.
func requireJSON(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			got := "none"
			if ct != "" {
				got = "\"" + ct + "\""
			}
			writeError(w, http.StatusUnsupportedMediaType, "%s %s needs Content-Type: application/json (got %s), even with an empty body; "+
				"e.g. curl -X POST -H 'Content-Type: application/json' -d '{}' URL", r.Method, r.URL.Path, got)
			return
		}
		next(w, r)
	}
}
