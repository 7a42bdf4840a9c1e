// Package engine is the emulated ENS data-distribution domain: accounts, apps, data
// files and their replicas on file servers, with every status computed from an
// injected clock. It has no net/http in it; the wire layer translates.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		a = &account{apps: map[string]*app{}}
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
	a.apps[id] = p
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

// Push starts pushing files to the file servers selected by st and returns one
// result per file, in order. ErrUnknownApp changes no state. A (name, version)
// listed twice is the same file: its second item answers as a repeated push
// would (200 while the first item's transfers run).
func (e *Engine) Push(ctx context.Context, acct, appID string, files []DataFile, st Strategy) ([]PushResult, error) {
	targets := e.ix.targets(st)
	a := e.account(acct, true)

	// Fetch mode: download, outside the account lock, the sources of the files
	// that will need a start and have no content yet. Once per (name, version).
	var blobs map[fileKey]*Blob
	var fetchErr map[fileKey]error
	var overBudget map[fileKey]bool
	if e.cfg.Fetcher != nil && len(targets) > 0 {
		var need []DataFile
		var reserve []int64
		var held []appFileKey
		needed := map[fileKey]bool{}
		a.mu.Lock()
		p, err := e.appLocked(a, appID, false)
		now := e.cfg.Clock.Now().UnixNano()
		blobs, fetchErr, overBudget = map[fileKey]*Blob{}, map[fileKey]error{}, map[fileKey]bool{}
		for _, f := range files {
			if needed[fileKey{f.Name, f.Version}] {
				continue // listed twice: fetched once
			}
			needed[fileKey{f.Name, f.Version}] = true
			var rec *file
			k := fileKey{f.Name, f.Version}
			if p != nil {
				rec = p.files[k]
			}
			if rec != nil && (rec.blob != nil || len(e.missing(rec, targets, now)) == 0) {
				continue
			}
			ak := appFileKey{appID, k}
			if r := a.fetching[ak]; r != nil { // a racing push downloads it: share
				r.users++
				need, reserve, held = append(need, f), append(reserve, r.bytes), append(held, ak)
				continue
			}
			// Reserve the account's budget before downloading: the declared
			// size, else a source's cap, never more than what is left.
			left := e.cfg.MaxFetchedBytesPerAccount - a.blobBytes - a.reserved
			r := e.cfg.MaxFetchBytes
			if f.Size > 0 {
				r = f.Size
			}
			if f.Size > left || left <= 0 {
				overBudget[k] = true
				continue
			}
			r = min(r, left)
			if a.fetching == nil {
				a.fetching = map[appFileKey]*reservation{}
			}
			a.fetching[ak] = &reservation{bytes: r, users: 1}
			a.reserved += r
			need, reserve, held = append(need, f), append(reserve, r), append(held, ak)
		}
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			for _, ak := range held {
				if r := a.fetching[ak]; r != nil {
					if r.users--; r.users == 0 {
						a.reserved -= r.bytes
						delete(a.fetching, ak)
					}
				}
			}
			a.mu.Unlock()
		}()
		if err != nil {
			return nil, err
		}
		for i, f := range need {
			b, err := e.cfg.Fetcher.Fetch(WithFetchBudget(ctx, reserve[i]), f)
			if err != nil {
				fetchErr[fileKey{f.Name, f.Version}] = err
				continue
			}
			blobs[fileKey{f.Name, f.Version}] = b
		}
	}

	var durable uint64
	defer e.waitDurable(&durable) // the answer waits for the commit, outside the lock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	nowT := e.cfg.Clock.Now()
	now := nowT.UnixNano()
	out := make([]PushResult, len(files))
	if a.apps[appID] == nil && !e.cfg.StrictApps && len(a.apps) >= e.cfg.MaxAppsPerAccount {
		why := "the account already holds the maximum of " + strconv.Itoa(e.cfg.MaxAppsPerAccount) + " applications"
		for i, f := range files {
			out[i] = PushResult{Name: f.Name, Version: f.Version, Code: CodeFailed, Descrip: why}
		}
		return out, nil
	}
	p, err := e.appLocked(a, appID, true)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		k := fileKey{f.Name, f.Version}
		res := &out[i]
		res.Name, res.Version = f.Name, f.Version
		rec := p.files[k]
		miss := e.missing(rec, targets, now)
		switch {
		case len(targets) == 0:
			res.Code, res.Descrip = CodeFailed, e.noTargets(st)
			continue
		case rec != nil && len(miss) == 0:
			if pending := e.pending(rec, targets, now); pending > 0 {
				res.Code, res.Descrip = CodePushing, "pushing: "+strconv.Itoa(pending)+" of "+strconv.Itoa(len(targets))+" file servers still pushing"
			} else {
				res.Code, res.Descrip = CodePushed, "success"
			}
			continue
		}
		if rec == nil && a.files >= e.cfg.MaxFilesPerAccount {
			res.Code, res.Descrip = CodeFailed, "the account already holds the maximum of "+strconv.Itoa(e.cfg.MaxFilesPerAccount)+" data files"
			continue
		}
		if rec == nil && a.stateBytes+e.FileCost(f) > e.cfg.MaxStateBytesPerAccount {
			res.Code, res.Descrip = CodeFailed, "the account's data files would exceed "+strconv.FormatInt(e.cfg.MaxStateBytesPerAccount, 10)+" bytes of state"
			continue
		}
		if err := fetchErr[k]; err != nil {
			res.Code, res.Descrip = CodeFailed, "data source unreachable: "+err.Error()
			continue
		}
		if b := blobs[k]; overBudget[k] || (b != nil && (rec == nil || rec.blob == nil) && a.blobBytes+b.Len() > e.cfg.MaxFetchedBytesPerAccount) {
			res.Code, res.Descrip = CodeFailed, "the account's fetched data would exceed "+strconv.FormatInt(e.cfg.MaxFetchedBytesPerAccount, 10)+" bytes"
			continue
		}
		fc := f
		if rec != nil {
			fc = rec.DataFile // the first push of a (name, version) defines it
		}
		pc := PushContext{Account: acct, App: appID, File: fc, Targets: e.servers(miss)}
		if e.cfg.Hooks != nil {
			if why := e.cfg.Hooks.PrePush(pc); why != "" {
				res.Code, res.Descrip = CodeFailed, why
				continue
			}
		}
		if rec == nil {
			rec = &file{DataFile: f, created: now}
			p.files[k] = rec
			p.addFile(rec)
			a.files++
			a.stateBytes += e.FileCost(f)
		}
		if rec.blob == nil && blobs[k] != nil {
			rec.blob = blobs[k]
			a.blobBytes += rec.blob.Len()
		}
		rec.attempts++
		e.start(rec, pc, now)
		p.touch(e.ix, rec)
		res.Code, res.Descrip = CodeStarted, "success"
		durable = max(durable, e.persistFile(a, acct, appID, rec))
	}
	return out, nil
}

// noTargets explains a strategy that selects no file server, naming the
// region ids it gives that the topology lacks and the regions that exist (the
// first 20 of them), so the user can fix the strategy.
func (e *Engine) noTargets(st Strategy) string {
	var b strings.Builder
	b.WriteString("no file server available in the target regions")
	var unknown []string
	seen := map[string]bool{}
	for _, sel := range st {
		for _, v := range sel.Values {
			if _, ok := e.ix.byRegion[v]; !ok && !seen[v] && len(unknown) < 10 {
				seen[v] = true
				unknown = append(unknown, strconv.Quote(v))
			}
		}
	}
	if len(unknown) > 0 {
		b.WriteString(": no region " + strings.Join(unknown, ", "))
	} else {
		b.WriteString(": the strategy excludes every region")
	}
	const shown = 20
	regions := e.ix.regions
	fmt.Fprintf(&b, "; the regions are %s", strings.Join(regions[:min(len(regions), shown)], ", "))
	if len(regions) > shown {
		fmt.Fprintf(&b, " and %d more", len(regions)-shown)
	}
	return b.String()
}

// FileCost is what one data file counts against MaxStateBytesPerAccount: a
// fixed 320 bytes (its record, map entries, order and summary), its strings,
// and 24 bytes per file server of the topology (the most replicas it can have).
func (e *Engine) FileCost(f DataFile) int64 {
	return 320 + int64(len(f.Name)+len(f.Version)+len(f.URL)+len(f.MD5)+len(f.ArchiveType)) + 24*int64(len(e.ix.servers))
}

// missing lists the target servers that have no replica of rec or a FAILED one.
// targets and rec.replicas are both in increasing server order, so one merge
// walk answers it: linear in their lengths, however many file servers there are.
func (e *Engine) missing(rec *file, targets []int, now int64) []int {
	if rec == nil {
		return targets
	}
	var out []int
	j := 0
	for _, t := range targets {
		for j < len(rec.replicas) && int(rec.replicas[j].server) < t {
			j++
			probe()
		}
		probe()
		if j == len(rec.replicas) || int(rec.replicas[j].server) != t || rec.replicas[j].status(now) == StatusFailed {
			out = append(out, t)
		}
	}
	return out
}

// pending counts the target servers whose replica of rec is still PUSHING (a merge walk, as missing).
func (e *Engine) pending(rec *file, targets []int, now int64) int {
	n, j := 0, 0
	for _, t := range targets {
		for j < len(rec.replicas) && int(rec.replicas[j].server) < t {
			j++
			probe()
		}
		probe()
		if j < len(rec.replicas) && int(rec.replicas[j].server) == t && rec.replicas[j].status(now) == StatusPushing {
			n++
		}
	}
	return n
}

// probes counts replica comparisons when countProbes is set (tests assert that
// push stays linear in the number of file servers).
var (
	countProbes bool
	probes      atomic.Int64
)

func probe() {
	if countProbes {
		probes.Add(1)
	}
}

// servers returns the file servers of ix, a list of server indexes in
// increasing order: when it holds every server, the index's own list (shared,
// read-only), else a new slice.
func (e *Engine) servers(ix []int) []Server {
	if all := e.ix.servers; len(ix) == len(all) {
		return all[:len(all):len(all)]
	}
	out := make([]Server, len(ix))
	for i, s := range ix {
		out[i] = e.ix.servers[s]
	}
	return out
}

// start begins (or restarts) the transfers of rec to pc.Targets at now.
// pc.Targets are in increasing server order; rec.replicas stay sorted by server.
func (e *Engine) start(rec *file, pc PushContext, now int64) {
	size := min(max(rec.Size, 0), MaxDeclaredSize)
	if rec.blob != nil {
		size = rec.blob.Len()
	}
	if rec.replicas == nil {
		rec.replicas = make([]replica, 0, len(pc.Targets))
	}
	var plan ReplicaPlan // one for all replicas: the hook's pointer makes it escape
	fileHash := jitterHashFile(e.seedHash, rec.Name, rec.Version)
	have, j := len(rec.replicas), 0 // replicas before this push: the sorted part walked below
	for _, s := range pc.Targets {
		plan = ReplicaPlan{Duration: e.transfer(fileHash, rec.attempts, s, size)}
		if rec.blob != nil && rec.blob.Fail != "" {
			plan.Duration, plan.Fail = e.cfg.BaseLatency, rec.blob.Fail
		}
		if e.cfg.Hooks != nil {
			e.cfg.Hooks.Replica(pc, s, &plan)
		}
		plan.Duration = min(max(plan.Duration, 0), maxTransfer)
		if rec.Timeout > 0 && rec.Timeout <= maxTimeoutSeconds {
			if t := time.Duration(rec.Timeout) * time.Second; plan.Duration > t {
				plan.Fail = fmt.Sprintf("push timed out after %ds: the transfer to %s needs %s", rec.Timeout, s.ID, plan.Duration.Round(time.Millisecond))
				plan.Duration = t
			}
		}
		r := replica{server: uint16(s.Index), attempt: rec.attempts, start: now, done: now + int64(plan.Duration)}
		var old *replica
		for j < have && int(rec.replicas[j].server) < s.Index { // merge walk: both in server order
			j++
			probe()
		}
		probe()
		if j < have && int(rec.replicas[j].server) == s.Index {
			old = &rec.replicas[j]
			old.fail = 0 // restarted: its old failure no longer counts
		}
		r.fail = rec.failIndex(plan.Fail)
		if old != nil {
			*old = r
		} else {
			rec.replicas = append(rec.replicas, r)
		}
	}
	if len(rec.replicas) > have && have > 0 && rec.replicas[have-1].server > rec.replicas[have].server {
		// new servers among old ones: merge the two sorted runs
		slices.SortFunc(rec.replicas, func(a, b replica) int { return int(a.server) - int(b.server) })
	}
}

// MaxDeclaredSize is the largest data file size the engine computes with (1 TiB):
// a larger declared size counts as this much, so the transfer time cannot overflow.
// The API refuses (strict) or clamps with a warning (lenient) larger sizes before
// they get here.
const MaxDeclaredSize int64 = 1 << 40

// maxTransfer bounds one transfer (about 100 years), so start + duration never
// overflows whatever a fault rule or a slow bandwidth asks for.
const maxTransfer = 100 * 365 * 24 * time.Hour

// maxTimeoutSeconds is the largest per-file timeout that limits anything: a
// longer one cannot be reached within maxTransfer and means no limit.
const maxTimeoutSeconds = int64(maxTransfer / time.Second)

// transfer is the base latency plus size over bandwidth, with seeded jitter that
// depends only on (seed, name, version, server, attempt): the same inputs always
// give the same duration. fileHash is jitterHashFile of the push's file.
func (e *Engine) transfer(fileHash uint64, attempt uint16, s Server, size int64) time.Duration {
	// In float64, clamped before converting: a huge size over a slow bandwidth
	// must saturate, not wrap around to a short (or negative) time.
	d := float64(e.cfg.BaseLatency) + float64(size)/float64(e.cfg.Bandwidth)*float64(time.Second)
	if e.cfg.Jitter != 0 {
		u := float64(jitterHashServer(fileHash, s.ID, attempt)%2001)/1000 - 1 // [-1, 1]
		d *= 1 + e.cfg.Jitter*u
	}
	if d >= float64(maxTransfer) {
		return maxTransfer
	}
	return time.Duration(d)
}

// DescribeQuery is DescribeDataPushResult's input. Zero fields do not filter.
type DescribeQuery struct {
	AppID            string
	Names, Versions  []string
	Regions          []string
	MinDate, MaxDate time.Time // dates (UTC midnight), inclusive; zero: unbounded
	PageNumber       int       // from 1
	PageSize         int       // 0: every matching file
}

// DescribeResult is DescribeDataPushResult's output.
type DescribeResult struct {
	PageNumber, PageSize, Total int
	Files                       []FileStatus
}

// FileStatus is the push status of one data file, grouped by status.
type FileStatus struct {
	Name, Version string
	Stats         []StatusStat // in the order SUCCESS, FAILED, PUSHING; empty groups omitted
}

// StatusStat groups the ENS nodes of one file that share a status.
type StatusStat struct {
	Status  string
	Regions []RegionStatus
}

// RegionStatus is one ENS node's status for one file.
type RegionStatus struct {
	RegionID      string
	Start, Update time.Time
	Descrip       string
}

// Describe answers DescribeDataPushResult.
func (e *Engine) Describe(acct string, q DescribeQuery) (DescribeResult, error) {
	res := DescribeResult{PageNumber: q.PageNumber, PageSize: q.PageSize}
	if res.PageNumber < 1 {
		res.PageNumber = 1
	}
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return res, ErrUnknownApp
		}
		return res, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := e.appLocked(a, q.AppID, false)
	if err != nil || p == nil {
		return res, err
	}
	now := e.cfg.Clock.Now().UnixNano()
	names, versions, regions := set(q.Names), set(q.Versions), set(q.Regions)
	var minN, maxN int64 = 0, math.MaxInt64
	if !q.MinDate.IsZero() {
		minN = unixNano(q.MinDate)
	}
	if !q.MaxDate.IsZero() {
		maxN = unixNano(q.MaxDate.Add(24 * time.Hour))
		if maxN != math.MaxInt64 && maxN != math.MinInt64 {
			maxN-- // inclusive: up to the end of MaxDate
		}
	}
	from, to := 0, -1
	if q.PageSize > 0 {
		from = (res.PageNumber - 1) * q.PageSize
		to = from + q.PageSize
	}
	page, total := e.compileFilter(names, versions, regions, minN, maxN).scan(e.ix, p, from, to)
	res.Total = total
	if len(page) > 0 {
		res.Files = make([]FileStatus, len(page))
		for i, f := range page {
			res.Files[i] = e.fileStatus(f, regions, now)
		}
	}
	return res, nil
}

// DescribeEach answers DescribeDataPushResult in parts, so that an answer
// of any size is written without holding it in memory: it calls head once
// with the page number, the page size asked (0: every matching file) and the
// total, then part with the statuses of at most chunk files at a time, in
// order, until the page (or, unpaged, every file counted in the total) is
// done. The account lock is held while a part is gathered, never while head
// or part run (they write to the network), so pushes go on meanwhile: the
// files are those counted at the start (later ones come after them in order
// and are not reached), each part's statuses as of the moment it was
// gathered. A file can only disappear with a reset of its account, which
// ends the answer early. An error from head or part stops and is returned.
// part must not keep its slice: the next part reuses it.
func (e *Engine) DescribeEach(acct string, q DescribeQuery, chunk int, head func(DescribeResult) error, part func([]FileStatus) error) error {
	res := DescribeResult{PageNumber: max(q.PageNumber, 1), PageSize: q.PageSize}
	chunk = max(chunk, 1)
	names, versions, regions := set(q.Names), set(q.Versions), set(q.Regions)
	var minN, maxN int64 = 0, math.MaxInt64
	if !q.MinDate.IsZero() {
		minN = unixNano(q.MinDate)
	}
	if !q.MaxDate.IsZero() {
		maxN = unixNano(q.MaxDate.Add(24 * time.Hour))
		if maxN != math.MaxInt64 && maxN != math.MinInt64 {
			maxN--
		}
	}
	flt := e.compileFilter(names, versions, regions, minN, maxN)
	from, want := 0, -1
	if q.PageSize > 0 {
		from, want = (res.PageNumber-1)*q.PageSize, q.PageSize
	}
	// first: the total and where the page starts
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return ErrUnknownApp
		}
		return head(res)
	}
	a.mu.Lock()
	p, err := e.appLocked(a, q.AppID, false)
	var start int
	if p != nil {
		res.Total, start = flt.locate(e.ix, p, from)
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if err := head(res); err != nil || p == nil {
		return err
	}
	left := max(res.Total-from, 0)
	if want >= 0 {
		left = min(left, want)
	}
	buf := make([]FileStatus, 0, min(chunk, left))
	for left > 0 {
		a.mu.Lock()
		if a.apps[q.AppID] != p || e.account(acct, false) != a {
			a.mu.Unlock()
			return nil // the app was reset meanwhile
		}
		page, next := flt.collect(e.ix, p, start, min(chunk, left))
		now := e.cfg.Clock.Now().UnixNano()
		buf = buf[:0]
		for _, f := range page {
			buf = append(buf, e.fileStatus(f, regions, now))
		}
		a.mu.Unlock()
		if len(page) == 0 {
			return nil
		}
		if err := part(buf); err != nil {
			return err
		}
		start, left = next, left-len(page)
	}
	return nil
}

// unixNano is t.UnixNano clamped to int64: UnixNano is undefined outside the
// years 1678–2262, and a filter date may be anything from 0000 to 9999.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func set(vs []string) map[string]bool {
	if len(vs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func (f *file) inRegions(ix *index, regions map[string]bool) bool {
	for i := range f.replicas {
		if regions[ix.servers[f.replicas[i].server].Region] {
			return true
		}
	}
	return false
}

var statusOrder = []string{StatusSuccess, StatusFailed, StatusPushing}

func rank(status string) int {
	switch status {
	case StatusPushing:
		return 2
	case StatusFailed:
		return 1
	}
	return 0
}

// Holdings returns the file servers selected by st that hold (name, version), the
// data file, and its fetched content (nil in simulate mode). found is false when
// the app or the file does not exist.
func (e *Engine) Holdings(acct, appID, name, version string, st Strategy) (servers []Server, f DataFile, blob *Blob, found bool, err error) {
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return nil, f, nil, false, ErrUnknownApp
		}
		return nil, f, nil, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := e.appLocked(a, appID, false)
	if err != nil || p == nil {
		return nil, f, nil, false, err
	}
	rec := p.files[fileKey{name, version}]
	if rec == nil {
		return nil, f, nil, false, nil
	}
	now := e.cfg.Clock.Now().UnixNano()
	for i := range rec.replicas {
		r := &rec.replicas[i]
		s := e.ix.servers[r.server]
		if r.status(now) == StatusSuccess && st.matches(s.Region) {
			servers = append(servers, s)
		}
	}
	return servers, rec.DataFile, rec.blob, true, nil
}

// Reset forgets the state of one account, or of every account when acct is "".
func (e *Engine) Reset(acct string) {
	var durable uint64
	defer e.waitDurable(&durable)
	e.mu.Lock()
	defer e.mu.Unlock()
	durable = e.persistReset(acct)
	if acct == "" {
		e.accounts = map[string]*account{}
		return
	}
	delete(e.accounts, acct)
}

// State is a JSON-ready dump of the engine, for the control plane.
type State struct {
	Now      time.Time      `json:"now"`
	Accounts []AccountState `json:"accounts"`
}

// AccountState is one account's apps.
type AccountState struct {
	Account string     `json:"account"`
	Apps    []AppState `json:"apps"`
}

// AppState is one app's data files.
type AppState struct {
	AppID string      `json:"appId"`
	Files []FileState `json:"files"`

	*AppDetail // phase, instances and distributions (applications.go); nil for a bare app never distributed to
}

// FileState is one data file and its replicas.
type FileState struct {
	DataFile
	FirstPush time.Time      `json:"firstPush"`
	Attempts  int            `json:"attempts"`
	Fetched   bool           `json:"fetched"`
	Replicas  []ReplicaState `json:"replicas"`
}

// ReplicaState is one replica of a data file on one file server.
type ReplicaState struct {
	Server  string    `json:"server"`
	Region  string    `json:"region"`
	Status  string    `json:"status"`
	Descrip string    `json:"descrip"`
	Attempt int       `json:"attempt"`
	Start   time.Time `json:"start"`
	Done    time.Time `json:"done"`
	// Fail is the failure the transfer ends with (also while PUSHING); "" for success.
	Fail string `json:"fail,omitempty"`
}

// Snapshot dumps one account (or all when acct is ""), sorted for stable output.
func (e *Engine) Snapshot(acct string) State {
	e.mu.RLock()
	names := make([]string, 0, len(e.accounts))
	for n := range e.accounts {
		if acct == "" || n == acct {
			names = append(names, n)
		}
	}
	e.mu.RUnlock()
	sort.Strings(names)
	nowT := e.cfg.Clock.Now()
	now := nowT.UnixNano()
	st := State{Now: nowT, Accounts: []AccountState{}}
	for _, n := range names {
		a := e.account(n, false)
		if a == nil {
			continue
		}
		as := AccountState{Account: n, Apps: []AppState{}}
		a.mu.Lock()
		e.sweepDeleted(a)
		for _, id := range slices.Sorted(maps.Keys(a.apps)) {
			p := a.apps[id]
			ps := AppState{AppID: id, Files: []FileState{}, AppDetail: e.appDetail(p, now)}
			for _, f := range p.order {
				ps.Files = append(ps.Files, e.dumpFile(f, now))
			}
			as.Apps = append(as.Apps, ps)
		}
		a.mu.Unlock()
		st.Accounts = append(st.Accounts, as)
	}
	return st
}
