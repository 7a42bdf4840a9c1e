package conformance

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fileServer serves the data files the scenarios push, with real bytes, so a
// target that downloads each url (as ENS does) finds it, and its declared size
// and md5 are true. It listens on Config.FilesAddr; the target reaches it at
// Config.FilesURL (default: the listener's own URL).
type fileServer struct {
	base string
	srv  *http.Server
	ln   net.Listener

	mu      sync.RWMutex
	files   map[string][]byte // path (no leading slash) → body
	fetched map[string]bool   // paths someone asked for (bounded by files)
}

// maxServedFiles bounds the files one run serves (each is small: see Add).
const maxServedFiles = 100_000

// newFileServer listens on addr (default 127.0.0.1:0) and serves the files
// added later; baseURL, when set, is the URL the target must use instead of
// the listener's address (a target in a container, say).
func newFileServer(addr, baseURL string) (*fileServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("conformance: the data-file server cannot listen on %s: %w", addr, err)
	}
	fs := &fileServer{ln: ln, files: map[string][]byte{}, fetched: map[string]bool{}}
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	fs.base = strings.TrimSuffix(baseURL, "/")
	fs.srv = &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = fs.srv.Serve(ln) }()
	return fs, nil
}

// URL is the base URL the target is told to download from.
func (fs *fileServer) URL() string { return fs.base }

// Close stops serving.
func (fs *fileServer) Close() error { return fs.srv.Close() }

func (fs *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	fs.mu.RLock()
	body, ok := fs.files[path]
	seen := fs.fetched[path]
	fs.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !seen {
		fs.mu.Lock()
		fs.fetched[path] = true
		fs.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// Fetched reports whether anyone asked for the file at url (one Add returned).
func (fs *fileServer) Fetched(url string) bool {
	path, ok := strings.CutPrefix(url, fs.base+"/")
	if !ok {
		return false
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	return fs.fetched[path]
}

// Add makes a data file of about size bytes (at least a few hundred: an archive
// has headers) for name and version, in archiveType ("tar.gz", "zip", or
// anything else for a raw body), serves it, and returns the Data item that
// describes it truthfully: url, size and md5 of the bytes served.
func (fs *fileServer) Add(name, version, archiveType string, size int64) (dataFile, error) {
	body, ext, err := makeArchive(name, archiveType, size)
	if err != nil {
		return dataFile{}, err
	}
	path := name + "-" + version + ext
	fs.mu.Lock()
	if _, dup := fs.files[path]; !dup && len(fs.files) >= maxServedFiles {
		fs.mu.Unlock()
		return dataFile{}, fmt.Errorf("conformance: the data-file server holds %d files already", maxServedFiles)
	}
	fs.files[path] = body
	fs.mu.Unlock()
	sum := md5.Sum(body)
	return dataFile{Name: name, Version: version, Size: int64(len(body)), ArchiveType: archiveType,
		MD5: hex.EncodeToString(sum[:]), URL: fs.base + "/" + path}, nil
}

// maxFileBytes bounds one served file: the suite judges behaviour, not
// bandwidth, so a scenario that asks for more gets this much.
const maxFileBytes = 1 << 20

// makeArchive builds a real archive holding one file of pseudo-random bytes
// (incompressible, seeded by name, so the archive is about size bytes).
func makeArchive(name, archiveType string, size int64) ([]byte, string, error) {
	size = min(max(size, 1), maxFileBytes)
	seed := uint64(0)
	for _, c := range name {
		seed = seed*31 + uint64(c)
	}
	content := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range content {
		content[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	switch strings.ToLower(archiveType) {
	case "tar.gz", "tgz":
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(content); err != nil {
			return nil, "", err
		}
		if err := tw.Close(); err != nil {
			return nil, "", err
		}
		if err := gz.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), ".tar.gz", nil
	case "zip":
		zw := zip.NewWriter(&buf)
		f, err := zw.Create("data.bin")
		if err != nil {
			return nil, "", err
		}
		if _, err := f.Write(content); err != nil {
			return nil, "", err
		}
		if err := zw.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), ".zip", nil
	}
	return content, ".bin", nil
}
