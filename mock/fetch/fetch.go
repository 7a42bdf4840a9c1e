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
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ensmock/ensmock/mock/engine"
)

// Defaults.
const (
	DefaultMaxBytes = 64 << 20         // size cap of one source
	DefaultTimeout  = 60 * time.Second // when the data file gives no timeout
)

// Options configure a Fetcher.
type Options struct {
	// MaxBytes caps the size of one source; default DefaultMaxBytes.
	MaxBytes int64
	// Timeout applies when a data file has no timeout; default DefaultTimeout.
	Timeout time.Duration
	// Client downloads; default a client with its own transport (no proxy from the environment).
	Client *http.Client
}

// Fetcher downloads each data file's url and checks it against size, md5 and archiveType.
type Fetcher struct {
	max     int64
	timeout time.Duration
	unit    time.Duration // of DataFile.Timeout; a second (tests shrink it)
	client  *http.Client
}

var _ engine.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher.
func New(o Options) *Fetcher {
	f := &Fetcher{max: o.MaxBytes, timeout: o.Timeout, unit: time.Second, client: o.Client}
	if f.max <= 0 {
		f.max = DefaultMaxBytes
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.client == nil {
		f.client = &http.Client{Transport: &http.Transport{
			Proxy:                 nil,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: 0,
		}}
	}
	return f
}

// Fetch downloads df.URL within its timeout. An error means the source could not
// be reached (bad URL, connection refused, DNS failure, …): the push answers 300.
// Anything the source did answer comes back as a Blob; Blob.Fail says why it is
// unusable (HTTP error status, timeout, size cap, size/md5/archive mismatch).
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
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	timedOut := func() bool { return ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) }
	fail := func(format string, args ...any) (*engine.Blob, error) {
		return &engine.Blob{Fail: fmt.Sprintf(format, args...)}, nil
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
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("source answered HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > f.max {
		return fail("source is %d bytes, over the %d-byte limit of the mock", resp.ContentLength, f.max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.max+1))
	if err != nil {
		if timedOut() {
			return fail("source download timed out after %s", limit)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return fail("source download broke off after %d bytes: %v", len(data), unwrapURLError(err))
	}
	if int64(len(data)) > f.max {
		return fail("source is over the %d-byte limit of the mock", f.max)
	}
	sum := md5.Sum(data)
	blob := &engine.Blob{Data: data, MD5: hex.EncodeToString(sum[:])}
	blob.Fail = Verify(df, data, blob.MD5)
	return blob, nil
}

// Verify checks content against the data file's size (when > 0), md5 (when not
// empty; case-insensitive) and archiveType (by magic bytes). It returns "" when
// everything holds, else the first mismatch.
func Verify(df engine.DataFile, data []byte, md5hex string) string {
	if df.Size > 0 && int64(len(data)) != df.Size {
		return fmt.Sprintf("size mismatch: expected %d bytes, got %d", df.Size, len(data))
	}
	if df.MD5 != "" && !strings.EqualFold(df.MD5, md5hex) {
		return fmt.Sprintf("md5 mismatch: expected %s, got %s", df.MD5, md5hex)
	}
	switch df.ArchiveType {
	case "tar.gz", "tgz", "gz":
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return fmt.Sprintf("archiveType %s expected but content is not gzip", df.ArchiveType)
		}
	case "zip":
		if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			return "archiveType zip expected but content is not a zip archive"
		}
	case "tar":
		if len(data) < 262 || string(data[257:262]) != "ustar" {
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
