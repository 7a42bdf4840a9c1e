// Package fetch downloads and verifies data-file sources for the fetch source mode (an engine.Fetcher).
package fetch

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ensmock/ensmock/internal/engine"
)

// Defaults.
const (
	DefaultMaxBytes = 64 << 20         // size cap of one source
	DefaultTimeout  = 60 * time.Second // when the data file gives no timeout
)

// headBytes of each source are kept in memory to check its archive type.
const headBytes = 512

// Options configure a Fetcher.
type Options struct {
	// MaxBytes caps the size of one source; default DefaultMaxBytes.
	MaxBytes int64
	// Timeout applies when a data file has no timeout; default DefaultTimeout.
	Timeout time.Duration
	// Client downloads; default a client with its own transport (no proxy from
	// the environment) whose dialer refuses the addresses Deny names and, unless
	// AllowLinkLocal, link-local and cloud metadata addresses. A Client given
	// here is used as it is.
	Client *http.Client
	// AllowLinkLocal lets sources live on link-local and metadata addresses.
	AllowLinkLocal bool
	// Dir holds the downloaded content; default a new folder under os.TempDir(),
	// removed by Close.
	Dir string
}

// Fetcher downloads each data file's url and checks it against size, md5 and
// archiveType. A source is streamed through an md5 hash into a file of its
// store (never held in memory), and one data file downloads once however many
// pushes of it race: they share the download.
type Fetcher struct {
	max       int64
	timeout   time.Duration
	unit      time.Duration // of DataFile.Timeout; a second (tests shrink it)
	client    *http.Client
	linkLocal bool
	dir       string
	ownDir    bool
	group     singleflight.Group
	joined    func() // tests: called when a caller waits for a download

	mu   sync.Mutex
	deny []netip.AddrPort // the mock's own listeners
}

var _ engine.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher; Close removes its store.
func New(o Options) (*Fetcher, error) {
	f := &Fetcher{max: o.MaxBytes, timeout: o.Timeout, unit: time.Second, client: o.Client, linkLocal: o.AllowLinkLocal, dir: o.Dir}
	if f.max <= 0 {
		f.max = DefaultMaxBytes
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.dir == "" {
		dir, err := os.MkdirTemp("", "ensmock-fetch-")
		if err != nil {
			return nil, fmt.Errorf("fetch: the content store: %w", err)
		}
		f.dir, f.ownDir = dir, true
	}
	if f.client == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, Control: f.control}
		f.client = &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}}
	}
	return f, nil
}

// Close removes the content store (when New made it).
func (f *Fetcher) Close() {
	if f.ownDir {
		_ = os.RemoveAll(f.dir)
	}
}

// Deny refuses sources at addr, an address the mock itself is served on. An
// unspecified host (0.0.0.0, ::) stands for every address of the machine.
func (f *Fetcher) Deny(addr net.Addr) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return
	}
	f.mu.Lock()
	f.deny = append(f.deny, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	f.mu.Unlock()
}

// metadata are cloud instance-metadata addresses outside 169.254.0.0/16:
// Alibaba Cloud's, AWS's IPv6 one, Azure's wire server.
var metadata = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("168.63.129.16"),
}

// errRefused marks a source address fetch mode does not connect to.
var errRefused = errors.New("refused")

// control runs at connect time with the address DNS resolved to, so a name
// that resolves (or re-resolves) to a refused address is caught too.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("source address %s: %w", address, errRefused)
	}
	return f.check(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// check says whether fetch mode may connect to ap.
func (f *Fetcher) check(ap netip.AddrPort) error {
	ip := ap.Addr()
	if !f.linkLocal {
		if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
			return fmt.Errorf("source address %s is link-local (--fetch-allow-link-local allows it): %w", ap, errRefused)
		}
		for _, m := range metadata {
			if ip == m {
				return fmt.Errorf("source address %s is a cloud metadata address (--fetch-allow-link-local allows it): %w", ap, errRefused)
			}
		}
	}
	f.mu.Lock()
	deny := f.deny
	f.mu.Unlock()
	for _, d := range deny {
		if d.Port() != ap.Port() {
			continue
		}
		if d.Addr() == ip || (d.Addr().IsUnspecified() && isLocal(ip)) {
			return fmt.Errorf("source address %s is the mock's own listener: %w", ap, errRefused)
		}
	}
	return nil
}

// isLocal reports whether ip is loopback or an address of this machine.
func isLocal(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: be safe
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// ---- the write deadline of the request that waits --------------------------

type extenderKey struct{}

// WithDeadlineExtender returns ctx carrying extend, which pushes the write
// deadline of the request ctx belongs to back by (at least) a duration. The
// mock's HTTP servers put one in every request's context.
func WithDeadlineExtender(ctx context.Context, extend func(time.Duration)) context.Context {
	return context.WithValue(ctx, extenderKey{}, extend)
}

// ExtendDeadline asks for d more time to answer the request of ctx (no-op
// without an extender): called before anything that may hold the answer
// longer than the server's write timeout.
func ExtendDeadline(ctx context.Context, d time.Duration) {
	if extend, ok := ctx.Value(extenderKey{}).(func(time.Duration)); ok && d > 0 {
		extend(d)
	}
}

// ---- fetching ------------------------------------------------------------------

// Fetch downloads df.URL within its timeout. An error means the source could not
// be reached (bad URL, connection refused, DNS failure, a refused address, …):
// the push answers 300. Anything the source did answer comes back as a Blob;
// Blob.Fail says why it is unusable (HTTP error status, timeout, size cap,
// size/md5/archive mismatch). The engine's budget for this file
// (engine.FetchBudget) caps the download as MaxBytes does.
func (f *Fetcher) Fetch(ctx context.Context, df engine.DataFile) (*engine.Blob, error) {
	u, err := url.Parse(df.URL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %v", df.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: only http and https sources can be fetched", df.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q has no host", df.URL)
	}
	limit := f.timeout
	if df.Timeout > 0 {
		limit = time.Duration(df.Timeout) * f.unit
	}
	max := f.max
	budget, hasBudget := engine.FetchBudget(ctx)
	if hasBudget && budget < max {
		max = budget
	}
	if df.Size > max {
		if hasBudget && budget < f.max {
			return &engine.Blob{Fail: fmt.Sprintf("source declares %d bytes, over the %d bytes left of the account's fetched-data budget", df.Size, budget)}, nil
		}
		return &engine.Blob{Fail: fmt.Sprintf("source declares %d bytes, over the %d-byte limit of the mock", df.Size, f.max)}, nil
	}
	ExtendDeadline(ctx, limit)
	// One download per data file however many pushes race; each caller still
	// gives up when its own request ends.
	key := strings.Join([]string{df.Name, df.Version, df.URL, strconv.FormatInt(df.Size, 10), strings.ToLower(df.MD5), df.ArchiveType,
		strconv.FormatInt(df.Timeout, 10), strconv.FormatInt(max, 10)}, "\x00")
	ch := f.group.DoChan(key, func() (any, error) {
		return f.download(context.WithoutCancel(ctx), u, df, limit, max)
	})
	if f.joined != nil {
		f.joined()
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*engine.Blob), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *Fetcher) download(ctx context.Context, u *url.URL, df engine.DataFile, limit time.Duration, max int64) (*engine.Blob, error) {
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	timedOut := func() bool { return errors.Is(tctx.Err(), context.DeadlineExceeded) }
	fail := func(format string, args ...any) (*engine.Blob, error) {
		return &engine.Blob{Fail: fmt.Sprintf(format, args...)}, nil
	}
	over := func(n int64) (*engine.Blob, error) {
		size := "source is over"
		if n >= 0 {
			size = "source is " + strconv.FormatInt(n, 10) + " bytes, over"
		}
		if max < f.max {
			return fail("%s the %d bytes left of the account's fetched-data budget", size, max)
		}
		return fail("%s the %d-byte limit of the mock", size, f.max)
	}
	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ensmock-fetch")
	resp, err := f.client.Do(req)
	if err != nil {
		if timedOut() {
			return fail("source download timed out after %s", limit)
		}
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("source answered HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > max {
		return over(resp.ContentLength)
	}
	// Read at most max+1 bytes (or, with a declared size, size+1: one byte more
	// already proves a mismatch) into a file of the store, through the hash.
	cap := max
	if df.Size > 0 && df.Size < cap {
		cap = df.Size
	}
	tmp, err := os.CreateTemp(f.dir, "src-*")
	if err != nil {
		return nil, fmt.Errorf("the content store: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := md5.New()
	head := &headWriter{}
	n, err := io.Copy(io.MultiWriter(tmp, h, head), io.LimitReader(resp.Body, cap+1))
	if err != nil {
		if timedOut() {
			return fail("source download timed out after %s", limit)
		}
		return fail("source download broke off after %d bytes: %v", n, unwrapURLError(err))
	}
	if n > max {
		return over(-1)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	blob := &engine.Blob{MD5: sum, Size: n}
	if blob.Fail = verify(df, n, head.b, sum); blob.Fail != "" {
		return blob, nil // the content is not needed: every replica fails
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("the content store: %w", err)
	}
	keep = true
	path := tmp.Name()
	blob.Open = func() (io.ReadCloser, error) { return os.Open(path) }
	// The file lives as long as the Blob: when the engine forgets the data
	// file (reset) and nothing else holds it, the GC removes its content.
	runtime.AddCleanup(blob, func(p string) { _ = os.Remove(p) }, path)
	return blob, nil
}

// headWriter keeps the first headBytes written to it.
type headWriter struct{ b []byte }

func (w *headWriter) Write(p []byte) (int, error) {
	if room := headBytes - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Verify checks content against the data file's size (when > 0), md5 (when not
// empty; case-insensitive) and archiveType (by magic bytes). It returns "" when
// everything holds, else the first mismatch.
func Verify(df engine.DataFile, data []byte, md5hex string) string {
	return verify(df, int64(len(data)), data, md5hex)
}

// verify is Verify from the size, the first headBytes and the md5 of the content.
func verify(df engine.DataFile, size int64, head []byte, md5hex string) string {
	if df.Size > 0 && size != df.Size {
		if size > df.Size {
			return fmt.Sprintf("size mismatch: expected %d bytes, got more", df.Size)
		}
		return fmt.Sprintf("size mismatch: expected %d bytes, got %d", df.Size, size)
	}
	if df.MD5 != "" && !strings.EqualFold(df.MD5, md5hex) {
		return fmt.Sprintf("md5 mismatch: expected %s, got %s", df.MD5, md5hex)
	}
	switch df.ArchiveType {
	case "tar.gz", "tgz", "gz":
		if !bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
			return fmt.Sprintf("archiveType %s expected but content is not gzip", df.ArchiveType)
		}
	case "zip":
		if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			return "archiveType zip expected but content is not a zip archive"
		}
	case "tar":
		if len(head) < 262 || string(head[257:262]) != "ustar" {
			return "archiveType tar expected but content is not a tar archive"
		}
	}
	return ""
}

// unwrapURLError drops the *url.Error wrapper ("Get "…": dial tcp …: connection
// refused" becomes "dial tcp …: connection refused"): the URL is known already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.URL, ue.Err)
	}
	return err
}
