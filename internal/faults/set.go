package faults

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/wire"
)

// pushAction is the API action whose pushes the engine-level effects bend.
const pushAction = "PushApplicationData"

// MaxRules bounds the rules a Set holds; adding beyond it is refused.
const MaxRules = 1000

// Set is the live list of rules, safe for concurrent use. Each rule draws its
// probability decisions from its own PRNG seeded with seed + the rule's index
// (its position in the order rules were added), so the same rules and the same
// request sequence always give the same outcome.
//
// The request path takes no set-wide lock: the rules are an immutable snapshot
// behind an atomic pointer, indexed by action and account, which writers
// (Add, Remove, Clear) replace while holding mu; only a rule that matched
// takes its own lock to throw its dice.
type Set struct {
	seed uint64
	now  func() time.Time

	mu     sync.Mutex // serializes the writers
	snap   atomic.Pointer[snapshot]
	index  uint64 // rules ever added: the next rule's index
	nextID int
	// onChange, when set, is told the rules after every change, under mu (persist.go).
	onChange func([]Rule)
}

type entry struct {
	Rule
	index uint64

	mu      sync.Mutex // guards rng and applied
	rng     *rand.Rand
	applied int
}

// snapshot is the set between two changes. Nothing in it changes once stored.
type snapshot struct {
	rules   []*entry  // in the order added
	api     ruleIndex // error, latency
	prePush ruleIndex // region_down, server_down in refuse mode (PushApplicationData only)
	replica ruleIndex // region_down, server_down in fail mode, slow, fail_after, corrupt (PushApplicationData only)
}

// ruleIndex finds the rules that may match an (action, account) without
// looking at the others: a rule whose action or account is a literal (no glob
// metacharacter) is filed under it. Each list is in the order added.
type ruleIndex struct {
	exact     map[[2]string][]*entry // literal action and account
	byAction  map[string][]*entry    // literal action, any account
	byAccount map[string][]*entry    // any action, literal account
	any       []*entry
	n         int
}

func literal(pat string) bool { return pat != "" && !strings.ContainsAny(pat, `*?[\`) }

func (ix *ruleIndex) add(e *entry) {
	ix.n++
	act, acc := literal(e.Match.Action), literal(e.Match.Account)
	switch {
	case act && acc:
		if ix.exact == nil {
			ix.exact = map[[2]string][]*entry{}
		}
		k := [2]string{e.Match.Action, e.Match.Account}
		ix.exact[k] = append(ix.exact[k], e)
	case act:
		if ix.byAction == nil {
			ix.byAction = map[string][]*entry{}
		}
		ix.byAction[e.Match.Action] = append(ix.byAction[e.Match.Action], e)
	case acc:
		if ix.byAccount == nil {
			ix.byAccount = map[string][]*entry{}
		}
		ix.byAccount[e.Match.Account] = append(ix.byAccount[e.Match.Account], e)
	default:
		ix.any = append(ix.any, e)
	}
}

// each calls fn, in the order the rules were added, with every rule that may
// match (action, account) (its globs still have to be checked), until fn
// returns false.
func (ix *ruleIndex) each(action, account string, fn func(e *entry) bool) {
	if ix.n == 0 {
		return
	}
	lists := [4][]*entry{ix.exact[[2]string{action, account}], ix.byAction[action], ix.byAccount[account], ix.any}
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0].index < lists[best][0].index) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		e := lists[best][0]
		lists[best] = lists[best][1:]
		if !fn(e) {
			return
		}
	}
}

func build(rules []*entry) *snapshot {
	if len(rules) == 0 {
		return nil
	}
	sn := &snapshot{rules: rules}
	for _, e := range rules {
		switch e.Effect {
		case Error, Latency:
			sn.api.add(e)
		case RegionDown, ServerDown:
			if !glob(e.Match.Action, pushAction) {
				continue
			}
			if e.Params.Mode == ModeRefuse {
				sn.prePush.add(e)
			} else {
				sn.replica.add(e)
			}
		case Slow, FailAfter, Corrupt:
			if glob(e.Match.Action, pushAction) {
				sn.replica.add(e)
			}
		}
	}
	return sn
}

// Status is a rule as listed: the rule and how often it has been applied.
type Status struct {
	Rule
	Index   uint64 `json:"index"`
	Applied int    `json:"applied"`
}

// MarshalJSON writes the rule's canonical form plus index and applied.
func (s Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		canonicalRule
		Index   uint64 `json:"index"`
		Applied int    `json:"applied"`
	}{s.Rule.canonical(), s.Index, s.Applied})
}

// NewSet returns an empty set. now is the clock used for throttling headers.
func NewSet(seed uint64, now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{seed: seed, now: now}
}

func (s *Set) rules() []*entry {
	if sn := s.snap.Load(); sn != nil {
		return sn.rules
	}
	return nil
}

// Add validates and adds rules, all or none: a bad rule, a duplicate id, or
// more than MaxRules rules in the set changes nothing. It returns the rules as
// added, with their ids.
func (s *Set) Add(rules ...Rule) ([]Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.rules()
	if len(cur)+len(rules) > MaxRules {
		return nil, fmt.Errorf("at most %d fault rules: the set holds %d and %d more would make %d (remove some first)",
			MaxRules, len(cur), len(rules), len(cur)+len(rules))
	}
	ids := map[string]bool{}
	for _, e := range cur {
		ids[e.ID] = true
	}
	added := make([]Rule, len(rules))
	for i, r := range rules {
		if err := r.normalize(); err != nil {
			return nil, fmt.Errorf("fault %d: %w", i, err)
		}
		if r.ID != "" {
			if ids[r.ID] {
				return nil, fmt.Errorf("fault %d: id %q is already in use", i, r.ID)
			}
			ids[r.ID] = true
		}
		added[i] = r
	}
	next := s.nextID
	for i := range added {
		if added[i].ID == "" {
			for {
				next++
				if id := fmt.Sprintf("f%d", next); !ids[id] {
					added[i].ID, ids[id] = id, true
					break
				}
			}
		}
	}
	s.nextID = next
	all := make([]*entry, len(cur), len(cur)+len(added))
	copy(all, cur)
	for _, r := range added {
		idx := s.index
		s.index++
		all = append(all, &entry{Rule: r, index: idx, rng: rand.New(rand.NewPCG(s.seed+idx, 0x656e736d6f636b))})
	}
	s.snap.Store(build(all))
	s.changed()
	return added, nil
}

// Remove deletes the rule with this id and reports whether it existed.
func (s *Set) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.rules()
	for i, e := range cur {
		if e.ID == id {
			s.snap.Store(build(slices.Concat(cur[:i], cur[i+1:])))
			s.changed()
			return true
		}
	}
	return false
}

// Clear deletes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap.Store(nil)
	s.changed()
}

// Len is the number of rules in the set.
func (s *Set) Len() int { return len(s.rules()) }

// List returns the rules in order, with their counters.
func (s *Set) List() []Status {
	cur := s.rules()
	out := make([]Status, len(cur))
	for i, e := range cur {
		e.mu.Lock()
		out[i] = Status{Rule: e.Rule, Index: e.index, Applied: e.applied}
		e.mu.Unlock()
	}
	return out
}

// fire decides (once the rule matched) whether it applies now: count not yet
// exhausted and the seeded dice agree. It counts the application.
func (e *entry) fire() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Count > 0 && e.applied >= e.Count {
		return false
	}
	if p := e.Probability; p != nil && *p < 1 {
		if e.rng.Float64() >= *p {
			return false
		}
	}
	e.applied++
	return true
}

func glob(pat, s string) bool {
	if pat == "" {
		return true
	}
	ok, _ := path.Match(pat, s)
	return ok
}

// API applies the API-level effects (error, latency) for one request: the
// error to answer instead of running the action (nil: none) and the latency
// to add before answering. Errors win over later rules; latencies add up.
func (s *Set) API(action, account string) (*wire.Error, time.Duration) {
	sn := s.snap.Load()
	if sn == nil || sn.api.n == 0 {
		return nil, 0
	}
	var delay time.Duration
	var hit *entry
	sn.api.each(action, account, func(e *entry) bool {
		if !glob(e.Match.Action, action) || !glob(e.Match.Account, account) || !e.fire() {
			return true
		}
		if e.Effect == Latency {
			delay += e.Params.Latency.D()
			return true
		}
		hit = e
		return false
	})
	if hit != nil {
		return s.apiError(hit), delay
	}
	return nil, delay
}

func (s *Set) apiError(e *entry) *wire.Error {
	p := e.Params
	we, ok := wire.Known(p.Code)
	if !ok {
		we = &wire.Error{Status: 400, Code: p.Code, Message: "The request has failed due to an injected fault."}
	}
	if p.Status != 0 {
		we.Status = p.Status
	}
	if p.Message != "" {
		we.Message = p.Message
	}
	we.Detail = fmt.Sprintf("injected by fault %s", e.ID)
	if strings.HasPrefix(p.Code, "Throttling") {
		left := p.RetryAfter.D()
		if left == 0 {
			left = 2 * time.Second
		}
		reset := s.now().Add(left).Unix()
		we.Header = http.Header{}
		we.Header.Set("x-ratelimit-user-api", fmt.Sprintf("Limit:1,Remain:0,TimeLeft:%d,Reset:%d", left.Milliseconds(), reset))
	}
	return we
}

// Hooks adapts the set to engine.Hooks.
func (s *Set) Hooks() engine.Hooks { return hooks{s} }

type hooks struct{ s *Set }

func (e *entry) matchesFile(p engine.PushContext) bool {
	return e.Match.Instance == "" && glob(e.Match.Action, pushAction) && glob(e.Match.Account, p.Account) &&
		glob(e.Match.Name, p.File.Name) && glob(e.Match.Version, p.File.Version)
}

func (e *entry) matchesServer(srv engine.Server) bool {
	return glob(e.Match.Region, srv.Region) && glob(e.Match.Server, srv.ID)
}

// PrePush refuses a push when a region_down/server_down rule in refuse mode
// matches one of its target file servers.
func (h hooks) PrePush(p engine.PushContext) string {
	sn := h.s.snap.Load()
	if sn == nil || sn.prePush.n == 0 {
		return ""
	}
	why := ""
	sn.prePush.each(pushAction, p.Account, func(e *entry) bool {
		if !e.matchesFile(p) {
			return true
		}
		for _, srv := range p.Targets {
			if !e.matchesServer(srv) {
				continue
			}
			if !e.fire() {
				break // one decision per rule and push
			}
			why = downReason(e, srv)
			return false
		}
		return true
	})
	return why
}

func downReason(e *entry, srv engine.Server) string {
	if e.Effect == RegionDown {
		return fmt.Sprintf("region %s is down (fault %s)", srv.Region, e.ID)
	}
	return fmt.Sprintf("file server %s in region %s is down (fault %s)", srv.ID, srv.Region, e.ID)
}

// Replica bends the transfer of p.File to srv: down (fail mode), slow,
// fail_after and corrupt, in rule order. The first failure reason wins.
func (h hooks) Replica(p engine.PushContext, srv engine.Server, plan *engine.ReplicaPlan) {
	sn := h.s.snap.Load()
	if sn == nil || sn.replica.n == 0 {
		return
	}
	fail := func(why string) {
		if plan.Fail == "" {
			plan.Fail = why
		}
	}
	sn.replica.each(pushAction, p.Account, func(e *entry) bool {
		if !e.matchesFile(p) || !e.matchesServer(srv) || !e.fire() {
			return true
		}
		switch e.Effect {
		case RegionDown, ServerDown:
			if plan.Fail == "" {
				plan.Duration = 0
			}
			fail(downReason(e, srv))
		case Slow:
			e.slow(plan)
		case FailAfter:
			e.failAfter(plan, "transfer to "+srv.ID)
		case Corrupt:
			fail(corruptReason(e, p.File, srv))
		}
		return true
	})
}

// slow stretches plan by a slow rule's factor, then adds its latency.
func (e *entry) slow(plan *engine.ReplicaPlan) {
	if e.Params.Factor > 0 {
		plan.Duration = time.Duration(float64(plan.Duration) * e.Params.Factor)
	}
	plan.Duration += e.Params.Latency.D()
}

// failAfter cuts plan to a fail_after rule's fraction and fails it there
// ("<what> failed after n% of it"), unless it fails already.
func (e *entry) failAfter(plan *engine.ReplicaPlan, what string) {
	if plan.Fail != "" {
		return
	}
	f := *e.Params.Fraction
	plan.Duration = time.Duration(float64(plan.Duration) * f)
	plan.Fail = fmt.Sprintf("%s failed after %.0f%% of it (fault %s)", what, f*100, e.ID)
}

func corruptReason(e *entry, f engine.DataFile, srv engine.Server) string {
	sum := md5.Sum([]byte("corrupt\x00" + f.Name + "\x00" + f.Version + "\x00" + srv.ID))
	got := hex.EncodeToString(sum[:])
	want := strings.ToLower(f.MD5)
	if want == "" {
		want = "(none given)"
	}
	return fmt.Sprintf("md5 mismatch on %s: expected %s, got %s (fault %s)", srv.ID, want, got, e.ID)
}
