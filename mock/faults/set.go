package faults

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ensmock/ensmock/mock/engine"
	"github.com/ensmock/ensmock/mock/wire"
)

// pushAction is the API action whose pushes the engine-level effects bend.
const pushAction = "PushApplicationData"

// Set is the live list of rules, safe for concurrent use. Each rule draws its
// probability decisions from its own PRNG seeded with seed + the rule's index
// (its position in the order rules were added), so the same rules and the same
// request sequence always give the same outcome.
type Set struct {
	seed uint64
	now  func() time.Time

	mu     sync.Mutex
	rules  []*entry
	active atomic.Int32 // len(rules), read without mu so the request path skips an empty set
	index  uint64       // rules ever added: the next rule's index
	nextID int
	// onChange, when set, is told the rules after every change, under mu (persist.go).
	onChange func([]Rule)
}

type entry struct {
	Rule
	index   uint64
	rng     *rand.Rand
	applied int
}

// Status is a rule as listed: the rule and how often it has been applied.
type Status struct {
	Rule
	Index   uint64 `json:"index"`
	Applied int    `json:"applied"`
}

// MarshalJSON writes the rule's canonical form plus index and applied.
func (s Status) MarshalJSON() ([]byte, error) {
	type canonical struct {
		ID          string   `json:"id"`
		Match       Match    `json:"match"`
		Effect      string   `json:"effect"`
		Params      Params   `json:"params"`
		Probability *float64 `json:"probability,omitempty"`
		Count       int      `json:"count,omitempty"`
		Index       uint64   `json:"index"`
		Applied     int      `json:"applied"`
	}
	r := s.Rule
	return jsonMarshal(canonical{r.ID, r.Match, r.Effect, r.Params, r.Probability, r.Count, s.Index, s.Applied})
}

// NewSet returns an empty set. now is the clock used for throttling headers.
func NewSet(seed uint64, now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{seed: seed, now: now}
}

// Add validates and adds rules, all or none: a bad rule (or a duplicate id)
// changes nothing. It returns the rules as added, with their ids.
func (s *Set) Add(rules ...Rule) ([]Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]bool{}
	for _, e := range s.rules {
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
	for _, r := range added {
		idx := s.index
		s.index++
		s.rules = append(s.rules, &entry{Rule: r, index: idx, rng: rand.New(rand.NewPCG(s.seed+idx, 0x656e736d6f636b))})
	}
	s.active.Store(int32(len(s.rules)))
	s.changed()
	return added, nil
}

// Remove deletes the rule with this id and reports whether it existed.
func (s *Set) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.rules {
		if e.ID == id {
			s.rules = append(s.rules[:i], s.rules[i+1:]...)
			s.active.Store(int32(len(s.rules)))
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
	s.rules = nil
	s.active.Store(0)
	s.changed()
}

// List returns the rules in order, with their counters.
func (s *Set) List() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, len(s.rules))
	for i, e := range s.rules {
		out[i] = Status{Rule: e.Rule, Index: e.index, Applied: e.applied}
	}
	return out
}

// fire decides (once the rule matched) whether it applies now: count not yet
// exhausted and the seeded dice agree. It counts the application. s.mu held.
func (e *entry) fire() bool {
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
	if s.active.Load() == 0 {
		return nil, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	for _, e := range s.rules {
		if (e.Effect != Error && e.Effect != Latency) || !glob(e.Match.Action, action) || !glob(e.Match.Account, account) {
			continue
		}
		if !e.fire() {
			continue
		}
		if e.Effect == Latency {
			delay += e.Params.Latency.D()
			continue
		}
		return s.apiError(e), delay
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
	return glob(e.Match.Action, pushAction) && glob(e.Match.Account, p.Account) &&
		glob(e.Match.Name, p.File.Name) && glob(e.Match.Version, p.File.Version)
}

func (e *entry) matchesServer(srv engine.Server) bool {
	return glob(e.Match.Region, srv.Region) && glob(e.Match.Server, srv.ID)
}

// PrePush refuses a push when a region_down/server_down rule in refuse mode
// matches one of its target file servers.
func (h hooks) PrePush(p engine.PushContext) string {
	s := h.s
	if s.active.Load() == 0 {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.rules {
		if (e.Effect != RegionDown && e.Effect != ServerDown) || e.Params.Mode != ModeRefuse || !e.matchesFile(p) {
			continue
		}
		for _, srv := range p.Targets {
			if !e.matchesServer(srv) {
				continue
			}
			if !e.fire() {
				break // one decision per rule and push
			}
			return downReason(e, srv)
		}
	}
	return ""
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
	s := h.s
	if s.active.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(why string) {
		if plan.Fail == "" {
			plan.Fail = why
		}
	}
	for _, e := range s.rules {
		switch e.Effect {
		case RegionDown, ServerDown:
			if e.Params.Mode != ModeFail {
				continue
			}
		case Slow, FailAfter, Corrupt:
		default:
			continue
		}
		if !e.matchesFile(p) || !e.matchesServer(srv) || !e.fire() {
			continue
		}
		switch e.Effect {
		case RegionDown, ServerDown:
			if plan.Fail == "" {
				plan.Duration = 0
			}
			fail(downReason(e, srv))
		case Slow:
			if e.Params.Factor > 0 {
				plan.Duration = time.Duration(float64(plan.Duration) * e.Params.Factor)
			}
			plan.Duration += e.Params.Latency.D()
		case FailAfter:
			if plan.Fail == "" {
				f := *e.Params.Fraction
				plan.Duration = time.Duration(float64(plan.Duration) * f)
				fail(fmt.Sprintf("transfer to %s failed after %.0f%% of it (fault %s)", srv.ID, f*100, e.ID))
			}
		case Corrupt:
			fail(corruptReason(e, p.File, srv))
		}
	}
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

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
