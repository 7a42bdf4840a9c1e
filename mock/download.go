package mock

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ensmock/ensmock/internal/wire"
)

// DownloadURLLifetime is how long a DescribeDataDownloadURL link stays valid, on
// the mock's clock. (ExpireTimeout is documented as reserved, so it is ignored.)
const DownloadURLLifetime = time.Hour

type describeDataDownloadURLResponse struct {
	RequestID string `json:"RequestId" xml:"RequestId"`
	Code      int64  `json:"Code" xml:"Code"`
	Message   string `json:"Message" xml:"Message"`
	Data      struct {
		URL        string       `json:"Url" xml:"Url"`
		ExpireTime string       `json:"ExpireTime" xml:"ExpireTime"`
		ServerList []fileServer `json:"ServerList" xml:"ServerList"`
	} `json:"Data" xml:"Data"`
}

type fileServer struct {
	Host     string `json:"Host" xml:"Host"`
	RegionID string `json:"RegionId" xml:"RegionId"`
}

func describeDataDownloadURL(_ context.Context, s *Server, account string, req *wire.Request) (any, *wire.Error) {
	appID, name, version := req.Get("AppId"), req.Get("DataName"), req.Get("DataVersion")
	lc := s.limitCheck()
	lc.checkAppID(appID)
	lc.checkNameVersion(-1, name, version)
	st := lc.strategy("ServerFilterStrategy", req.JSON["ServerFilterStrategy"])
	if e := lc.done(req); e != nil {
		return nil, e
	}
	servers, _, _, found, err := s.engine.Holdings(account, appID, name, version, st)
	if err != nil {
		return nil, engineError(err, appID)
	}
	if !found {
		return nil, wire.InvalidParameter("DataName").WithDetail("no data file %q version %q has been pushed for application %q", name, version, appID)
	}
	expires := s.clock.Now().Add(DownloadURLLifetime)
	resp := &describeDataDownloadURLResponse{RequestID: req.RequestID, Message: "Success"}
	resp.Data.URL = s.downloadPath(account, appID, name, version, req.Get("ServerFilterStrategy"), expires)
	resp.Data.ExpireTime = utc(expires)
	resp.Data.ServerList = make([]fileServer, len(servers))
	for i, srv := range servers {
		resp.Data.ServerList[i] = fileServer{Host: s.advertisedHost(req.HTTP.Host), RegionID: srv.Region}
	}
	return resp, nil
}

// downloadPath is /file/<account>/<app>/<name>/<version>?filter=..&ts=<unix expiry>&sign=<mac>,
// each segment path-escaped; the MAC (HMAC-SHA256 under the server's download
// key) covers the path, the filter and the expiry.
func (s *Server) downloadPath(account, appID, name, version, filter string, expires time.Time) string {
	p := "/file/" + pathSegment(account) + "/" + pathSegment(appID) + "/" + pathSegment(name) + "/" + pathSegment(version)
	ts := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"ts": {ts}, "sign": {s.downloadMAC(p, filter, ts)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	return p + "?" + q.Encode()
}

// pathSegment escapes one segment of a download path: url.PathEscape, and the
// dot segments "." and ".." written %2E and %2E%2E, which no HTTP client or
// router resolves (a literal "." or ".." would be cleaned away by clients and by
// the router, turning the link into a redirect to another path).
func pathSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

func (s *Server) downloadMAC(path, filter, ts string) string {
	m := hmac.New(sha256.New, s.downloadKey)
	m.Write([]byte(path + "\n" + filter + "\n" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// advertisedHost is Options.AdvertiseHost, else the host:port the client used
// to reach the mock (right behind Docker port mappings), else the listener's.
func (s *Server) advertisedHost(requestHost string) string {
	switch {
	case s.opts.AdvertiseHost != "":
		return s.opts.AdvertiseHost
	case requestHost != "":
		return requestHost
	}
	return s.host
}

// serveDownload serves GET /file/...: the bytes of a data file from the file
// servers that hold it. Plain-text HTTP errors: 403 for a bad or expired link,
// 404 when no file server (matching the link's filter) holds the file.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "ensmock: downloads answer GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.EscapedPath()
	parts := strings.Split(strings.TrimPrefix(p, "/file/"), "/")
	q := r.URL.Query()
	ts, sign, filter := q.Get("ts"), q.Get("sign"), q.Get("filter")
	if len(parts) != 4 || sign == "" || !hmac.Equal([]byte(sign), []byte(s.downloadMAC(p, filter, ts))) {
		http.Error(w, "ensmock: the download link is malformed or its signature is wrong", http.StatusForbidden)
		return
	}
	exp, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || s.clock.Now().Unix() > exp {
		http.Error(w, "ensmock: the download link has expired", http.StatusForbidden)
		return
	}
	seg := make([]string, 4)
	for i, part := range parts {
		if seg[i], err = url.PathUnescape(part); err != nil {
			http.Error(w, "ensmock: the download link is malformed", http.StatusForbidden)
			return
		}
	}
	st := strategyOf(filter)
	servers, f, blob, _, err := s.engine.Holdings(seg[0], seg[1], seg[2], seg[3], st)
	if err != nil || len(servers) == 0 {
		http.Error(w, fmt.Sprintf("ensmock: no file server holds %s version %s", seg[2], seg[3]), http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Ensmock-Servers", strconv.Itoa(len(servers)))
	if blob != nil {
		h.Set("X-Ensmock-Content", "fetched")
		content, err := blob.Reader()
		if err != nil {
			http.Error(w, "ensmock: the fetched content is gone: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer content.Close()
		h.Set("Content-Length", strconv.FormatInt(blob.Len(), 10))
		h.Set("Content-MD5-Hex", blob.MD5)
		if r.Method == http.MethodGet {
			_, _ = io.Copy(w, content)
		}
		return
	}
	h.Set("X-Ensmock-Content", "simulated")
	size := max(f.Size, 0)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	limit := maxSynthetic
	if size > limit {
		h.Add("X-Ensmock-Warning", fmt.Sprintf("ensmock serves at most %d bytes of synthetic content; this file declares %d bytes, the connection closes after %d", limit, size, limit))
	}
	if r.Method == http.MethodGet {
		_, _ = io.CopyN(w, syntheticContent(f.Name, f.Version), min(size, limit))
		if size > limit {
			// Content-Length promised more: ending the handler now makes the
			// server close the connection, so the client sees a short body
			// (an error), never a wrong file that looks complete.
			return
		}
	}
}

// MaxSyntheticBytes caps the synthetic content one download serves (64 MiB, the
// default cap of a fetched source): generating it costs CPU, and a declared size
// of 50 GB must not keep a core busy. The answer still declares the full size.
const MaxSyntheticBytes int64 = 64 << 20

// maxSynthetic is MaxSyntheticBytes; tests lower it.
var maxSynthetic = MaxSyntheticBytes

// syntheticContent is the deterministic content of a simulated data file: the
// SHA-256 of (name, version, block counter), block after block. The same data
// file always downloads the same bytes.
func syntheticContent(name, version string) io.Reader {
	return &synthetic{seed: name + "\x00" + version}
}

type synthetic struct {
	seed  string
	block uint64
	buf   []byte
}

func (s *synthetic) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], s.block)
			sum := sha256.Sum256(append([]byte(s.seed), ctr[:]...))
			s.buf = sum[:]
			s.block++
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return n, nil
}
