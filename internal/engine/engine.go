// Package engine is the emulated ENS data-distribution domain: accounts, apps, data
// files and their replicas on file servers, with every status computed from an
// injected clock. It has no net/http in it; the wire layer translates.
package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// Clock is the engine's only source of time.
type Clock interface{ Now() time.Time }

// ResultCode values of PushApplicationData, per data file.
const (
	CodeStarted = 0   // a push was started now
	CodePushed  = 100 // already pushed, every target file server holds it
	CodePushing = 200 // already pushed, some target file servers are still PUSHING
	CodeFailed  = 300 // the push could not be started; push again
)

// Status of a replica, and of a region in DescribeDataPushResult.
const (
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
	StatusPushing = "PUSHING"
)

// DataFile is one item of PushApplicationData's Data parameter.
type DataFile struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Size        int64  `json:"size"`
	ArchiveType string `json:"archiveType"`
	MD5         string `json:"md5"`
	URL         string `json:"url"`
	Timeout     int64  `json:"timeout"` // seconds; 0 means no per-file limit
}

// PushResult is the outcome of one data file of a push.
type PushResult struct {
	Name, Version string
	Code          int
	Descrip       string
}

// Blob is a data file's content as fetched from its url (fetch source mode).
type Blob struct {
	Data []byte // the content, when Open is nil
	// Open, when set, reads the content (kept outside memory) of Size bytes.
	Open func() (io.ReadCloser, error)
	Size int64
	MD5  string // hex md5 of the content
	// Fail, when set, says why the content is unusable (HTTP error, size or md5
	// mismatch, wrong archive type, timeout): every replica of it fails with it.
	Fail string
}

// Len is the size of the content.
func (b *Blob) Len() int64 {
	if b.Open != nil {
		return b.Size
	}
	return int64(len(b.Data))
}

// Reader reads the content.
func (b *Blob) Reader() (io.ReadCloser, error) {
	if b.Open != nil {
		return b.Open()
	}
	return io.NopCloser(bytes.NewReader(b.Data)), nil
}

type fetchBudgetKey struct{}

// FetchBudget is the number of bytes a Fetcher may download for the data file
// of this call: what is left of the account's MaxFetchedBytesPerAccount, which
// the engine reserves before the download starts.
func FetchBudget(ctx context.Context) (int64, bool) {
	n, ok := ctx.Value(fetchBudgetKey{}).(int64)
	return n, ok
}

// WithFetchBudget returns ctx carrying a FetchBudget of n bytes.
func WithFetchBudget(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, fetchBudgetKey{}, n)
}

// Fetcher downloads a data file's source (fetch mode). An error means the source
// could not be reached at all: the push answers ResultCode 300.
type Fetcher interface {
	Fetch(ctx context.Context, f DataFile) (*Blob, error)
}

// PushContext describes a push about to start, for Hooks.
type PushContext struct {
	Account, App string
	File         DataFile
	Targets      []Server // read-only
}

// ReplicaPlan is how one transfer to one file server will go. Hooks may change it.
type ReplicaPlan struct {
	Duration time.Duration // from start to SUCCESS or FAILED
	Fail     string        // non-empty: the replica ends FAILED with this description
}

// Hooks let fault injection refuse pushes and bend transfers.
type Hooks interface {
	// PrePush returns a non-empty reason to refuse starting the push (ResultCode 300).
	PrePush(p PushContext) (refuse string)
	// Replica may change the plan of the transfer of p.File to s. Neither plan
	// nor p.Targets may be kept after it returns: the engine reuses the plan for
	// the next server, and the targets may be the topology's own list.
	Replica(p PushContext, s Server, plan *ReplicaPlan)
}

// Config configures an Engine. Zero values take the documented defaults.
type Config struct {
	Topology    Topology      // default: DefaultTopology()
	Clock       Clock         // required
	Seed        uint64        // jitter seed
	BaseLatency time.Duration // fixed part of each transfer; default 2s
	Bandwidth   int64         // bytes/s of each transfer; default 10 MiB/s
	Jitter      float64       // ± fraction of the transfer time; default 0.2, negative for none
	StrictApps  bool          // only registered apps exist
	// Bounds on what one account may hold, so memory stays bounded whatever
	// the traffic: beyond them a push answers ResultCode 300.
	MaxFilesPerAccount int // data files; default 1,000,000
	MaxAppsPerAccount  int // applications; default 10,000
	// MaxFetchedBytesPerAccount bounds the content fetch mode keeps; default 1 GiB.
	MaxFetchedBytesPerAccount int64
	// MaxFetchBytes is what a download of unknown size reserves of that budget
	// (the Fetcher's cap of one source); default 64 MiB.
	MaxFetchBytes int64
	// MaxStateBytesPerAccount bounds the memory of an account's data files,
	// counted per file as FileCost: a bound in bytes whatever the length of
	// names, versions and urls. Default 1 GiB.
	MaxStateBytesPerAccount int64
	// Applications and distribution (applications.go): instances of all apps (default
	// 100,000), distributed replicas (default 2,000,000) and how long a
	// DeleteApplication takes on the mock's clock (default 5s).
	MaxInstancesPerAccount    int
	MaxDistReplicasPerAccount int
	ReleaseDuration           time.Duration
	Hooks                     Hooks
	Fetcher                   Fetcher // nil: simulate mode (size and md5 taken on trust)
}

// ParamError is a bad request parameter found by the engine (e.g. duplicates in Data).
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string { return "invalid " + e.Param + ": " + e.Reason }

// ErrUnknownApp is returned in strict-apps mode for an AppId never registered.
var ErrUnknownApp = errors.New("engine: unknown application")

// ErrTooManyApps is returned by RegisterApp beyond Config.MaxAppsPerAccount.
var ErrTooManyApps = errors.New("engine: the account already holds the maximum number of applications")

// Engine holds all state. Accounts never share a lock.
type Engine struct {
	cfg      Config
	ix       *index
	seedHash uint64 // jitterHashSeed(cfg.Seed), the start of every transfer's jitter hash

	mu       sync.RWMutex
	accounts map[string]*account
	persist  Persister // nil: memory only (persist.go)
}

type account struct {
	name       string // its key in Engine.accounts (persistence needs it under a.mu)
	mu         sync.Mutex
	apps       map[string]*app
	files      int   // data files in all apps
	blobBytes  int64 // content kept by fetch mode, in all apps
	stateBytes int64 // FileCost of the data files, in all apps
	reserved   int64 // bytes reserved by downloads in progress
	// fetching: the reservation of each data file being downloaded; pushes of
	// it that race share it (and the download), rather than each reserving.
	fetching map[appFileKey]*reservation

	ext accountApps // applications and distribution (applications.go)
}

type appFileKey struct {
	app string
	fileKey
}

type reservation struct {
	bytes int64
	users int
}

type app struct {
	files  map[fileKey]*file
	order  []*file            // by first push
	meta   []fileMeta         // meta[i] summarises order[i] for Describe (scan.go)
	byName map[string][]int32 // positions in order, by data file name
	verID  map[string]uint32  // interned versions, for fileMeta.version
	x      *appExt            // template, instances, dists (applications.go); nil until needed
}

func newApp() *app { return &app{files: map[fileKey]*file{}} }

type fileKey struct{ name, version string }

type file struct {
	DataFile
	created  int64 // unix nanos of first push
	attempts uint16
	pos      int32 // index in app.order
	blob     *Blob
	replicas []replica // sorted by server index (binary search, merge walks)
	fails    []string  // failure descriptions, referenced by replica.fail
}

// replica is one data file on one file server. It holds no pointer (24 bytes),
// so the GC never scans a file's replicas: its failure description lives in
// file.fails.
type replica struct {
	server  uint16
	attempt uint16
	fail    uint16 // 0: none; else file.fails[fail-1]
	start   int64
	done    int64
}

func (r *replica) status(now int64) string {
	switch {
	case now < r.done:
		return StatusPushing
	case r.fail != 0:
		return StatusFailed
	}
	return StatusSuccess
}

// descrip describes replica r of f at now.
func (f *file) descrip(r *replica, now int64) string {
	switch r.status(now) {
	case StatusPushing:
		return "pushing"
	case StatusFailed:
		return f.fails[r.fail-1]
	}
	return "success"
}

// failIndex records a failure description in f.fails and returns its
// reference (0 for none). Descriptions no replica refers to any more are
// dropped first, so f.fails stays within the number of replicas.
func (f *file) failIndex(why string) uint16 {
	if why == "" {
		return 0
	}
	for i, s := range f.fails {
		if s == why {
			return uint16(i + 1)
		}
	}
	if len(f.fails) >= len(f.replicas)+1 {
		f.compactFails()
	}
	f.fails = append(f.fails, why)
	return uint16(len(f.fails))
}

func (f *file) compactFails() {
	kept := make([]string, 0, len(f.fails))
	remap := make([]uint16, len(f.fails)+1)
	for i := range f.replicas {
		r := &f.replicas[i]
		if r.fail == 0 {
			continue
		}
		if remap[r.fail] == 0 {
			kept = append(kept, f.fails[r.fail-1])
			remap[r.fail] = uint16(len(kept))
		}
		r.fail = remap[r.fail]
	}
	f.fails = kept
}

// New builds an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Clock == nil {
		return nil, errors.New("engine: Config.Clock is required")
	}
	if cfg.Topology.Regions == nil {
		cfg.Topology = DefaultTopology()
	}
	if cfg.BaseLatency == 0 {
		cfg.BaseLatency = 2 * time.Second
	}
	if cfg.Bandwidth <= 0 {
		cfg.Bandwidth = 10 << 20
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.2
	} else if cfg.Jitter < 0 {
		cfg.Jitter = 0
	}
	if cfg.MaxFilesPerAccount <= 0 {
		cfg.MaxFilesPerAccount = 1_000_000
	}
	if cfg.MaxAppsPerAccount <= 0 {
		cfg.MaxAppsPerAccount = 10_000
	}
	if cfg.MaxFetchedBytesPerAccount <= 0 {
		cfg.MaxFetchedBytesPerAccount = 1 << 30
	}
	if cfg.MaxFetchBytes <= 0 {
		cfg.MaxFetchBytes = 64 << 20
	}
	if cfg.MaxStateBytesPerAccount <= 0 {
		cfg.MaxStateBytesPerAccount = 1 << 30
	}
	ix, err := compile(cfg.Topology)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, ix: ix, seedHash: jitterHashSeed(cfg.Seed), accounts: map[string]*account{}}
	e.appDefaults()
	return e, nil
}

// Servers returns every file server of the topology.
func (e *Engine) Servers() []Server { return append([]Server(nil), e.ix.servers...) }

// Regions returns the ENS node ids of the topology, sorted.
func (e *Engine) Regions() []string { return append([]string(nil), e.ix.regions...) }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.cfg.Clock.Now() }

func (e *Engine) account(name string, create bool) *account {
	e.mu.RLock()
	a := e.accounts[name]
	e.mu.RUnlock()
	if a != nil || !create {
		return a
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if a = e.accounts[name]; a == nil {
		a = &account{name: name, apps: map[string]*app{}}
		e.accounts[name] = a
	}
	return a
}

// appLocked finds (or, in auto mode and when create is set, creates) an app. a.mu held.
func (e *Engine) appLocked(a *account, id string, create bool) (*app, error) {
	if err := e.appGone(a, id, create); err != nil {
		return nil, err
	}
	if p := a.apps[id]; p != nil {
		return p, nil
	}
	if e.cfg.StrictApps {
		return nil, ErrUnknownApp
	}
	if !create {
		return nil, nil
	}
	p := newApp()
	a.apps[strings.Clone(id)] = p // id may be a slice of a whole request (url.ParseQuery): keep only its bytes
	return p, nil
}

// RegisterApp creates an app (needed in strict mode; harmless in auto mode).
func (e *Engine) RegisterApp(acct, id string) error {
	a := e.account(acct, true)
	var durable uint64
	defer e.waitDurable(&durable) // after the unlock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apps[id] == nil {
		if len(a.apps) >= e.cfg.MaxAppsPerAccount {
			return ErrTooManyApps
		}
		a.apps[id] = newApp()
		delete(a.ext.tombstones, id) // registering a deleted AppId again revives it (applications.go)
		durable = e.persistApp(acct, id)
	}
	return nil
}
