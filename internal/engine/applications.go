package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Applications (CreateApplication, DescribeApplication, ListApplications,
// DeleteApplication) and their edge instances. An app made by a push in auto
// mode, or registered through the control plane, is a "bare" app: it has no
// template, and gets one instance per ENS node the first time it needs
// instances (a dist, a describe). See docs/decisions.md, "Applications and
// distribution".

// ErrAppDeleted is returned for an AppId whose DeleteApplication has completed,
// and ErrAppDeleting for a change (push, dist, delete) to an app being deleted.
var (
	ErrAppDeleted  = errors.New("engine: the application has been deleted")
	ErrAppDeleting = errors.New("engine: the application is being deleted")
	// ErrAppNotFound is DeleteApplication or DescribeApplication of an AppId the account never had.
	ErrAppNotFound = errors.New("engine: no such application")
)

// Defaults of the application bounds (Config fields of the same names).
const (
	DefaultMaxInstancesPerAccount    = 100_000
	DefaultMaxDistReplicasPerAccount = 2_000_000
	DefaultReleaseDuration           = 5 * time.Second
	// DefaultRegionInstances is an ENS node's capacity (instances per account) when the topology gives none.
	DefaultRegionInstances = 10_000
	// MaxTemplateBytes bounds one CreateApplication Template and
	// MaxTemplateBytesPerAccount all the templates an account keeps.
	MaxTemplateBytes           = 64 << 10
	MaxTemplateBytesPerAccount = 16 << 20
)

// AppTemplate is the part of CreateApplication's Template the mock reads; the
// whole template is kept as given.
type AppTemplate struct {
	AppMetaData struct {
		AppName     string `json:"appName"`
		ClusterName string `json:"clusterName"`
		AppType     string `json:"appType"`
		Description string `json:"description"`
	} `json:"appMetaData"`
	ResourceAttribute map[string]any `json:"resourceAttribute"`
	ResourceSelector  []struct {
		RegionCode string `json:"regionCode"`
		Count      int    `json:"count"`
	} `json:"resourceSelector"`
	Workload []map[string]any `json:"workload"`
}

// appExt is what an app has beyond its pushed files.
type appExt struct {
	template  *AppTemplate // nil: bare app
	rawBytes  int          // the size of the template as given
	created   int64
	instances []instance // ordered by creation
	byID      map[string]int32
	dists     map[fileKey]*dist
	distOrder []*dist
	distMeta  []int64 // distMeta[i] is distOrder[i].created, scanned by describes
	reps      int     // dist replicas of this app
	deleteAt  int64   // 0: not being deleted; else when the release completes
}

type instance struct {
	id      string
	region  uint16 // index in ix.regions
	created int64
}

// accountApps is an account's application bookkeeping.
type accountApps struct {
	seq        uint64           // apps created, for deterministic AppIds
	tmplBytes  int              // the templates of all apps, as given
	instances  int              // instances of all apps
	reps       int              // dist replicas of all apps
	tombstones map[string]int64 // deleted AppIds → when, at most MaxAppsPerAccount
	tombOrder  []string
}

func (e *Engine) appDefaults() {
	if e.cfg.MaxInstancesPerAccount <= 0 {
		e.cfg.MaxInstancesPerAccount = DefaultMaxInstancesPerAccount
	}
	if e.cfg.MaxDistReplicasPerAccount <= 0 {
		e.cfg.MaxDistReplicasPerAccount = DefaultMaxDistReplicasPerAccount
	}
	if e.cfg.ReleaseDuration <= 0 {
		e.cfg.ReleaseDuration = DefaultReleaseDuration
	}
}

// appGone is appLocked's check of deleted and deleting apps (a.mu held):
// ErrAppDeleted once the release of id completed (finishing it if its time
// has come), ErrAppDeleting for a change (create) to an app being deleted.
func (e *Engine) appGone(a *account, id string, create bool) error {
	if _, dead := a.ext.tombstones[id]; dead {
		return ErrAppDeleted
	}
	p := a.apps[id]
	if p == nil || p.x == nil || p.x.deleteAt == 0 {
		return nil
	}
	if e.cfg.Clock.Now().UnixNano() >= p.x.deleteAt {
		e.finishDelete(a, id, p)
		return ErrAppDeleted
	}
	if create {
		return ErrAppDeleting
	}
	return nil
}

// finishDelete forgets app id and everything pushed or distributed for it. a.mu held.
func (e *Engine) finishDelete(a *account, id string, p *app) {
	a.files -= len(p.files)
	for _, f := range p.files {
		a.stateBytes -= e.FileCost(f.DataFile)
		if f.blob != nil {
			a.blobBytes -= f.blob.Len()
		}
	}
	a.ext.instances -= len(p.x.instances)
	a.ext.tmplBytes -= p.x.rawBytes
	a.ext.reps -= p.x.reps
	delete(a.apps, id)
	if a.ext.tombstones == nil {
		a.ext.tombstones = map[string]int64{}
	}
	var evicted []string
	for len(a.ext.tombOrder) >= e.cfg.MaxAppsPerAccount {
		evicted = append(evicted, a.ext.tombOrder[0])
		delete(a.ext.tombstones, a.ext.tombOrder[0])
		a.ext.tombOrder = a.ext.tombOrder[1:]
	}
	id = strings.Clone(id) // may be a slice of a whole request: keep only its bytes
	a.ext.tombstones[id] = p.x.deleteAt
	a.ext.tombOrder = append(a.ext.tombOrder, id)
	// Not waited for: the release follows from the durable deleteAt and the
	// clock, so one lost in a crash is done again at the next access.
	e.persistRelease(a, id, p.x.deleteAt, evicted)
}

// sweepDeleted finishes every release whose time has come. a.mu held.
func (e *Engine) sweepDeleted(a *account) {
	now := e.cfg.Clock.Now().UnixNano()
	for id, p := range a.apps {
		if p.x != nil && p.x.deleteAt != 0 && now >= p.x.deleteAt {
			e.finishDelete(a, id, p)
		}
	}
}

// ext returns p's extension, giving a bare app one instance per ENS node. a.mu held.
func (e *Engine) ext(a *account, id string, p *app) *appExt {
	if p.x != nil {
		return p.x
	}
	now := e.cfg.Clock.Now().UnixNano()
	p.x = &appExt{created: now}
	if a.ext.instances+len(e.ix.regions) <= e.cfg.MaxInstancesPerAccount {
		for r := range e.ix.regions {
			e.addInstance(a, id, p.x, r, 0, now)
		}
	}
	// Queued, not waited for here: a change that follows (a dist, a delete)
	// waits for a later ticket; a read may answer before it is durable.
	e.persistExt(a, id, p.x)
	return p.x
}

func (e *Engine) addInstance(a *account, appID string, x *appExt, region, k int, now int64) {
	inst := instance{id: e.instanceID(a, appID, region, k), region: uint16(region), created: now}
	if x.byID == nil {
		x.byID = map[string]int32{}
	}
	x.byID[inst.id] = int32(len(x.instances))
	x.instances = append(x.instances, inst)
	a.ext.instances++
}

// instanceID is "i-" and 25 base-36 digits hashed from (seed, account, app, region, k).
func (e *Engine) instanceID(a *account, appID string, region, k int) string {
	h := fnv64a(e.seedHash, "instance\x00"+appID+"\x00"+e.ix.regions[region]+"\x00"+strconv.Itoa(k))
	return "i-" + base36(splitmix(h), splitmix(h^0x9e3779b97f4a7c15), 25)
}

// appID is a version-4-shaped UUID hashed from (seed, account, n).
func (e *Engine) appID(acct string, n uint64) string {
	h := fnv64a(e.seedHash, "app\x00"+acct+"\x00"+strconv.FormatUint(n, 10))
	hi, lo := splitmix(h), splitmix(h^0x9e3779b97f4a7c15)
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant 10
	s := fmt.Sprintf("%016x%016x", hi, lo)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func base36(a, b uint64, n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	out := make([]byte, n)
	for i := range out {
		src := &a
		if i%2 == 1 {
			src = &b
		}
		out[i] = digits[*src%36]
		*src /= 36
		if *src == 0 {
			*src = splitmix(a ^ b ^ uint64(i))
		}
	}
	return string(out)
}

// regionCapacity is the instances an account may hold in ENS node r.
func (e *Engine) regionCapacity(r int) int {
	if c := e.ix.capacity[r]; c > 0 {
		return c
	}
	return DefaultRegionInstances
}

// CreateApp creates an application from its template (validated by the spec)
// and its instances, and returns its AppId. A *ParamError (a memory or
// capacity bound) changes nothing.
func (e *Engine) CreateApp(acct string, raw []byte) (string, error) {
	if len(raw) > MaxTemplateBytes {
		return "", &ParamError{"Template", fmt.Sprintf("ensmock keeps templates of at most %d bytes", MaxTemplateBytes)}
	}
	var t AppTemplate
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", &ParamError{"Template", err.Error()}
	}
	// plan: instances wanted per region index. What the documentation does not
	// require is read leniently (the mock's limits template-app-name and
	// template-selector, checked by the API layer): no item is one instance per
	// ENS node, a count under 1 adds none, an unknown regionCode spreads like
	// an item without one.
	want := make([]int, len(e.ix.regions))
	total := 0
	rr := 0
	if len(t.ResourceSelector) == 0 {
		for r := range want {
			want[r]++
		}
		total = len(want)
	}
	for _, sel := range t.ResourceSelector {
		if sel.Count < 1 {
			continue
		}
		total += sel.Count
		if total > e.cfg.MaxInstancesPerAccount {
			return "", &ParamError{"Template", fmt.Sprintf("the template asks for more than %d instances", e.cfg.MaxInstancesPerAccount)}
		}
		if r, ok := slices.BinarySearch(e.ix.regions, sel.RegionCode); ok && sel.RegionCode != "" {
			want[r] += sel.Count
			continue
		}
		for range sel.Count {
			want[rr%len(want)]++
			rr++
		}
	}
	a := e.account(acct, true)
	var durable uint64
	defer e.waitDurable(&durable) // after the unlock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	e.sweepDeleted(a)
	if len(a.apps) >= e.cfg.MaxAppsPerAccount {
		return "", &ParamError{"Template", "the account already holds the maximum of " + strconv.Itoa(e.cfg.MaxAppsPerAccount) + " applications"}
	}
	if a.ext.tmplBytes+len(raw) > MaxTemplateBytesPerAccount {
		return "", &ParamError{"Template", fmt.Sprintf("the account's templates would exceed %d bytes", MaxTemplateBytesPerAccount)}
	}
	if a.ext.instances+total > e.cfg.MaxInstancesPerAccount {
		return "", &ParamError{"Template", fmt.Sprintf("the account would hold more than %d instances", e.cfg.MaxInstancesPerAccount)}
	}
	used := make([]int, len(e.ix.regions))
	for _, p := range a.apps {
		if p.x != nil {
			for _, in := range p.x.instances {
				used[in.region]++
			}
		}
	}
	for r, n := range want {
		if n > 0 && used[r]+n > e.regionCapacity(r) {
			return "", &ParamError{"Template", fmt.Sprintf("ENS node %s has only %d free instances, the template asks for %d", e.ix.regions[r], max(0, e.regionCapacity(r)-used[r]), n)}
		}
	}
	var id string
	for {
		a.ext.seq++
		id = e.appID(acct, a.ext.seq)
		if _, dead := a.ext.tombstones[id]; a.apps[id] == nil && !dead {
			break
		}
	}
	now := e.cfg.Clock.Now().UnixNano()
	p := newApp()
	p.x = &appExt{template: &t, rawBytes: len(raw), created: now}
	a.ext.tmplBytes += len(raw)
	for r, n := range want {
		for k := range n {
			e.addInstance(a, id, p.x, r, k, now)
		}
	}
	a.apps[id] = p
	durable = e.persistExt(a, id, p.x)
	return id, nil
}

// DeleteApp starts the asynchronous release of an application: it is DELETING
// for Config.ReleaseDuration of the mock's clock, then gone with all its data.
// Deleting an app already being deleted changes nothing.
func (e *Engine) DeleteApp(acct, id string) error {
	a := e.account(acct, false)
	if a == nil {
		return ErrAppNotFound
	}
	var durable uint64
	defer e.waitDurable(&durable) // after the unlock (persist.go)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := e.appGone(a, id, false); err != nil {
		return err
	}
	p := a.apps[id]
	if p == nil {
		return ErrAppNotFound
	}
	x := e.ext(a, id, p)
	if x.deleteAt == 0 {
		x.deleteAt = e.cfg.Clock.Now().Add(e.cfg.ReleaseDuration).UnixNano()
		durable = e.persistExt(a, id, x)
	}
	return nil
}

// AppInstance is one edge instance of an application.
type AppInstance struct {
	InstanceID string    `json:"instanceId"`
	RegionID   string    `json:"regionId"`
	Created    time.Time `json:"created"`
}

// AppInfo is one application as DescribeApplication and ListApplications report it.
type AppInfo struct {
	AppID       string
	Template    *AppTemplate // nil for a bare app
	Created     time.Time
	Phase       string // RUNNING or DELETING
	Instances   []AppInstance
	ClusterName string // the template's, else "default"
	AppName     string // the template's, else the AppId
}

// Application phases of AppInfo.Phase.
const (
	PhaseRunning  = "RUNNING"
	PhaseDeleting = "DELETING"
)

func (e *Engine) appInfo(a *account, id string, p *app, regions map[string]bool) AppInfo {
	x := e.ext(a, id, p)
	info := AppInfo{AppID: id, Template: x.template, Created: time.Unix(0, x.created).UTC(), Phase: PhaseRunning,
		ClusterName: "default", AppName: id}
	if x.deleteAt != 0 {
		info.Phase = PhaseDeleting
	}
	if t := x.template; t != nil {
		if t.AppMetaData.AppName != "" {
			info.AppName = t.AppMetaData.AppName
		}
		if t.AppMetaData.ClusterName != "" {
			info.ClusterName = t.AppMetaData.ClusterName
		}
	}
	info.Instances = make([]AppInstance, 0, len(x.instances))
	for _, in := range x.instances {
		r := e.ix.regions[in.region]
		if regions != nil && !regions[r] {
			continue
		}
		info.Instances = append(info.Instances, AppInstance{InstanceID: in.id, RegionID: r, Created: time.Unix(0, in.created).UTC()})
	}
	return info
}

// DescribeApp answers DescribeApplication; regions (nil: all) filters the instances.
func (e *Engine) DescribeApp(acct, id string, regions []string) (AppInfo, error) {
	a := e.account(acct, false)
	if a == nil {
		if e.cfg.StrictApps {
			return AppInfo{}, ErrUnknownApp
		}
		return AppInfo{}, ErrAppNotFound
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := e.appLocked(a, id, false)
	if err != nil {
		return AppInfo{}, err
	}
	if p == nil {
		return AppInfo{}, ErrAppNotFound
	}
	return e.appInfo(a, id, p, set(regions)), nil
}

// AppQuery is ListApplications' input. Zero fields do not filter.
type AppQuery struct {
	Clusters         []string // "All" or none: every cluster
	MinDate, MaxDate time.Time
	PageNumber       int // from 1
	PageSize         int // 0: every app
}

// ListApps answers ListApplications: the account's apps that are not deleted,
// by creation time (then AppId), paged.
func (e *Engine) ListApps(acct string, q AppQuery) (apps []AppInfo, total int) {
	a := e.account(acct, false)
	if a == nil {
		return nil, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e.sweepDeleted(a)
	clusters := set(q.Clusters)
	if clusters["All"] {
		clusters = nil
	}
	minN, maxN := dayRange(q.MinDate, q.MaxDate)
	type entry struct {
		id      string
		p       *app
		created int64
	}
	var all []entry
	for id, p := range a.apps {
		x := e.ext(a, id, p)
		if x.created < minN || x.created > maxN {
			continue
		}
		if clusters != nil {
			c := "default"
			if x.template != nil && x.template.AppMetaData.ClusterName != "" {
				c = x.template.AppMetaData.ClusterName
			}
			if !clusters[c] {
				continue
			}
		}
		all = append(all, entry{id, p, x.created})
	}
	slices.SortFunc(all, func(x, y entry) int {
		if x.created != y.created {
			return compareInt64(x.created, y.created)
		}
		return strings.Compare(x.id, y.id)
	})
	total = len(all)
	from, to := 0, total
	if q.PageSize > 0 {
		from = min(total, (max(q.PageNumber, 1)-1)*q.PageSize)
		to = min(total, from+q.PageSize)
	}
	for _, en := range all[from:to] {
		apps = append(apps, e.appInfo(a, en.id, en.p, nil))
	}
	return apps, total
}

func compareInt64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// AppDetail is what the control plane's state shows of an app beyond its
// pushed files: its phase, its instances and its distributions.
type AppDetail struct {
	Phase     string        `json:"phase"`
	Instances []AppInstance `json:"instances"`
	Dists     []DistState   `json:"dists"`
}

// DistState is one distributed data file and its instance replicas.
type DistState struct {
	Name      string             `json:"name"`
	Version   string             `json:"version"`
	FirstDist time.Time          `json:"firstDist"`
	Replicas  []DistReplicaState `json:"replicas"`
}

// DistReplicaState is one data file on one instance.
type DistReplicaState struct {
	InstanceID string    `json:"instanceId"`
	Region     string    `json:"region"`
	Status     string    `json:"status"`
	Descrip    string    `json:"descrip"`
	Attempt    int       `json:"attempt"`
	Start      time.Time `json:"start"`
	Done       time.Time `json:"done"`
}

// appDetail builds p's AppDetail (nil when p has none yet). a.mu held.
func (e *Engine) appDetail(p *app, now int64) *AppDetail {
	x := p.x
	if x == nil {
		return nil
	}
	d := &AppDetail{Phase: PhaseRunning, Instances: make([]AppInstance, len(x.instances)), Dists: []DistState{}}
	deleting := x.deleteAt != 0
	if deleting {
		d.Phase = PhaseDeleting
	}
	for i, in := range x.instances {
		d.Instances[i] = AppInstance{InstanceID: in.id, RegionID: e.ix.regions[in.region], Created: time.Unix(0, in.created).UTC()}
	}
	for _, ds := range x.distOrder {
		st := DistState{Name: ds.name, Version: ds.version, FirstDist: time.Unix(0, ds.created).UTC(), Replicas: make([]DistReplicaState, len(ds.reps))}
		for i := range ds.reps {
			r := &ds.reps[i]
			in := x.instances[r.inst]
			st.Replicas[i] = DistReplicaState{InstanceID: in.id, Region: e.ix.regions[in.region], Status: r.status(now, deleting),
				Descrip: ds.descrip(r, now, deleting), Attempt: int(r.attempt), Start: time.Unix(0, r.start).UTC(), Done: time.Unix(0, r.done).UTC()}
		}
		d.Dists = append(d.Dists, st)
	}
	return d
}

// StateAppDetail is the AppDetail of one app at now, for the control plane's
// streamed state (nil when the app has none).
func (e *Engine) StateAppDetail(acct, appID string, now time.Time) *AppDetail {
	a := e.account(acct, false)
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.apps[appID]
	if p == nil {
		return nil
	}
	return e.appDetail(p, now.UnixNano())
}

// rewind moves the app's recorded times back by `by` nanoseconds (Rewind);
// nil-safe. Deleted AppIds keep their times: nothing reads them.
func (x *appExt) rewind(by int64) {
	if x == nil {
		return
	}
	x.created -= by
	if x.deleteAt != 0 {
		x.deleteAt -= by
	}
	for i := range x.instances {
		x.instances[i].created -= by
	}
	for i, d := range x.distOrder {
		d.created -= by
		x.distMeta[i] -= by
		for j := range d.reps {
			d.reps[j].start -= by
			d.reps[j].done -= by
		}
	}
}
