package faults

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ensmock/ensmock/internal/engine"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParseScenario(t *testing.T) {
	cases := []struct {
		name, yaml string
		n          int
		err        string
	}{
		{"empty", "", 0, ""},
		{"full", `
faults:
  - id: wuxi
    match: {region: cn-wuxi-5, account: testid}
    effect: region_down
  - match: {server: "*-fs-2"}
    effect: slow
    params: {factor: 3, latency: 1.5s}
    probability: 0.25
    count: 4
  - effect: error
    code: Throttling.User   # shorthand: params directly in the rule
    retryAfter: 2
  - effect: latency
    params: {latency: 250ms}
`, 4, ""},
		{"unknown top-level key", "fault: []", 0, "field fault not found"},
		{"unknown rule key", "faults: [{effect: corrupt, when: now}]", 0, "field when not found"},
		{"bad rule", "faults: [{effect: corrupt}, {effect: slow}]", 0, "faults[1]: effect slow needs"},
		{"bad duration", "faults: [{effect: latency, latency: [1]}]", 0, "duration"},
		{"shorthand and params both", "faults: [{effect: region_down, mode: fail, params: {mode: refuse}}]", 0, "mode is given both in params and in the rule"},
		{"second of two conflicts", "faults: [{effect: error, code: Throttling.User, message: a, params: {message: b}}]", 0, "message is given both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := ParseScenario([]byte(c.yaml))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || len(rules) != c.n {
				t.Fatalf("%d rules, err %v", len(rules), err)
			}
		})
	}
	rules, _ := ParseScenario([]byte("faults: [{effect: error, code: Throttling.User, retryAfter: 2}, {effect: slow, params: {latency: 1.5s}}]"))
	if rules[0].Params.Code != "Throttling.User" || rules[0].Params.RetryAfter.D() != 2*time.Second || rules[1].Params.Latency.D() != 1500*time.Millisecond {
		t.Fatalf("shorthand/duration: %+v", rules)
	}
	b, _ := json.Marshal(rules[0])
	if string(b) != `{"match":{},"effect":"error","params":{"code":"Throttling.User","retryAfter":"2s"}}` {
		t.Fatalf("canonical JSON: %s", b)
	}
}

func TestDecodeJSON(t *testing.T) {
	one, many, err := DecodeJSON([]byte(`{"match":{"region":"cn-wuxi-5","account":"testid"},"effect":"region_down"}`))
	if err != nil || many || len(one) != 1 || one[0].Params.Mode != ModeRefuse {
		t.Fatalf("%+v %v %v", one, many, err)
	}
	list, many, err := DecodeJSON([]byte(`{"faults":[{"effect":"corrupt"},{"effect":"slow","factor":2}]}`))
	if err != nil || !many || len(list) != 2 || list[1].Params.Factor != 2 {
		t.Fatalf("%+v %v %v", list, many, err)
	}
	for _, bad := range []string{`[]`, `{"effect":"corrupt"} {}`, `{"faults":[],"x":1}`} {
		if _, _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func servers(ids ...string) []engine.Server {
	out := make([]engine.Server, len(ids))
	for i, id := range ids {
		out[i] = engine.Server{Index: i, ID: id, Region: id[:strings.LastIndex(id, "-fs")]}
	}
	return out
}

func TestHooks(t *testing.T) {
	pc := engine.PushContext{Account: "acct", App: "app", File: engine.DataFile{Name: "n", Version: "v", MD5: "ABC"},
		Targets: servers("r1-fs-1", "r1-fs-2", "r2-fs-1")}
	cases := []struct {
		name   string
		rules  string
		refuse string
		plans  []string // per target: "duration fail"
	}{
		{"nothing", `{"faults":[]}`, "", []string{"10s ", "10s ", "10s "}},
		{"region down refuses", `{"effect":"region_down","match":{"region":"r2"}}`, "region r2 is down (fault f1)", nil},
		{"server down refuses", `{"effect":"server_down","match":{"server":"r1-fs-2"}}`, "file server r1-fs-2 in region r1 is down (fault f1)", nil},
		{"other account", `{"effect":"region_down","match":{"account":"x"}}`, "", []string{"10s ", "10s ", "10s "}},
		{"other action", `{"effect":"region_down","match":{"action":"Describe*"}}`, "", []string{"10s ", "10s ", "10s "}},
		{"down, fail mode", `{"effect":"region_down","mode":"fail","match":{"region":"r1"}}`, "",
			[]string{"0s region r1 is down (fault f1)", "0s region r1 is down (fault f1)", "10s "}},
		{"slow then fail_after", `{"faults":[{"effect":"slow","factor":2,"latency":"1s","match":{"server":"*-fs-1"}},{"effect":"fail_after","fraction":0.5,"match":{"region":"r1"}}]}`, "",
			[]string{"10.5s transfer to r1-fs-1 failed after 50% of it (fault f2)", "5s transfer to r1-fs-2 failed after 50% of it (fault f2)", "21s "}},
		{"first failure wins", `{"faults":[{"effect":"corrupt","match":{"server":"r2-*"}},{"effect":"server_down","mode":"fail"}]}`, "",
			[]string{"0s file server r1-fs-1 in region r1 is down (fault f2)", "0s file server r1-fs-2 in region r1 is down (fault f2)", "10s md5 mismatch on r2-fs-1: expected abc, got "}},
		{"count", `{"effect":"slow","factor":3,"count":1}`, "", []string{"30s ", "10s ", "10s "}},
		{"probability 0", `{"effect":"corrupt","probability":0}`, "", []string{"10s ", "10s ", "10s "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, _, err := DecodeJSON([]byte(c.rules))
			if err != nil {
				t.Fatal(err)
			}
			s := NewSet(1, func() time.Time { return t0 })
			if _, err := s.Add(rules...); err != nil {
				t.Fatal(err)
			}
			h := s.Hooks()
			if got := h.PrePush(pc); got != c.refuse {
				t.Fatalf("PrePush %q, want %q", got, c.refuse)
			}
			for i, srv := range pc.Targets {
				if c.plans == nil {
					break
				}
				plan := engine.ReplicaPlan{Duration: 10 * time.Second}
				h.Replica(pc, srv, &plan)
				if got := plan.Duration.String() + " " + plan.Fail; !strings.HasPrefix(got, c.plans[i]) {
					t.Errorf("%s: %q, want %q", srv.ID, got, c.plans[i])
				}
			}
		})
	}
}

func TestAPIDeterminism(t *testing.T) {
	p := 0.3
	rule := Rule{Effect: Error, Params: Params{Code: "InternalError"}, Probability: &p}
	lat := Rule{Effect: Latency, Params: Params{Latency: Duration(time.Second)}, Match: Match{Action: "Push*"}}
	seq := func(seed uint64) string {
		s := NewSet(seed, nil)
		if _, err := s.Add(lat, rule); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 64 {
			e, d := s.API("PushApplicationData", "a")
			if d != time.Second {
				t.Fatalf("latency %s", d)
			}
			if e != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	if a, b := seq(5), seq(5); a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Fatalf("%s vs %s", a, b)
	}
	if seq(5) == seq(6) {
		t.Fatalf("seed ignored")
	}
	s := NewSet(1, func() time.Time { return t0 })
	_, _ = s.Add(Rule{Effect: Error, Params: Params{Code: "Throttling"}})
	e, _ := s.API("X", "y")
	if e.Status != 400 || e.Header.Get("x-ratelimit-user-api") != "Limit:1,Remain:0,TimeLeft:2000,Reset:1704067202" {
		t.Fatalf("%+v", e)
	}
	if l := s.List(); len(l) != 1 || l[0].Applied != 1 || l[0].ID != "f1" {
		t.Fatalf("%+v", l)
	}
}

// The set holds at most MaxRules rules; a list that would pass it is refused
// whole, with a message that says so, and changes nothing.
func TestRuleCap(t *testing.T) {
	s := NewSet(1, nil)
	many := make([]Rule, MaxRules-1)
	for i := range many {
		many[i] = Rule{Effect: Latency, Match: Match{Account: "acct-" + strings.Repeat("x", i%7)}, Params: Params{Latency: Duration(time.Millisecond)}}
	}
	if _, err := s.Add(many...); err != nil {
		t.Fatal(err)
	}
	_, err := s.Add(Rule{Effect: Corrupt}, Rule{Effect: Corrupt})
	if err == nil || !strings.Contains(err.Error(), "at most 1000 fault rules") {
		t.Fatalf("adding past the cap: %v", err)
	}
	if s.Len() != MaxRules-1 {
		t.Fatalf("a refused list changed the set: %d rules", s.Len())
	}
	if _, err := s.Add(Rule{Effect: Corrupt}); err != nil {
		t.Fatalf("the last rule under the cap: %v", err)
	}
	s.Clear()
	if s.Len() != 0 {
		t.Fatal("clear")
	}
}

// Rules filed under different index buckets (literal or glob action and
// account) still apply in the order they were added: the first error wins,
// latencies before it add up, and rules for other actions or accounts are
// never consulted (their counters stay at 0).
func TestIndexKeepsOrder(t *testing.T) {
	s := NewSet(1, nil)
	ms := func(d int) Params { return Params{Latency: Duration(time.Duration(d) * time.Millisecond)} }
	_, err := s.Add(
		Rule{ID: "any-lat", Effect: Latency, Params: ms(1)},
		Rule{ID: "acct-lat", Effect: Latency, Match: Match{Account: "a"}, Params: ms(10)},
		Rule{ID: "other-acct", Effect: Error, Match: Match{Account: "b"}, Params: Params{Code: "Nope"}},
		Rule{ID: "other-action", Effect: Error, Match: Match{Action: "DescribeDataPushResult", Account: "a"}, Params: Params{Code: "Nope"}},
		Rule{ID: "act-lat", Effect: Latency, Match: Match{Action: "PushApplicationData"}, Params: ms(100)},
		Rule{ID: "glob-err", Effect: Error, Match: Match{Action: "Push*"}, Params: Params{Code: "First"}},
		Rule{ID: "exact-err", Effect: Error, Match: Match{Action: "PushApplicationData", Account: "a"}, Params: Params{Code: "Second"}},
		Rule{ID: "late-lat", Effect: Latency, Params: ms(1000)},
	)
	if err != nil {
		t.Fatal(err)
	}
	e, d := s.API("PushApplicationData", "a")
	if e == nil || e.Code != "First" || d != 111*time.Millisecond {
		t.Fatalf("got %v after %s, want First after 111ms", e, d)
	}
	applied := map[string]int{}
	for _, st := range s.List() {
		applied[st.ID] = st.Applied
	}
	want := map[string]int{"any-lat": 1, "acct-lat": 1, "other-acct": 0, "other-action": 0, "act-lat": 1, "glob-err": 1, "exact-err": 0, "late-lat": 0}
	for id, n := range want {
		if applied[id] != n {
			t.Errorf("%s applied %d times, want %d", id, applied[id], n)
		}
	}
	if !s.Remove("glob-err") {
		t.Fatal("remove")
	}
	if e, _ := s.API("PushApplicationData", "a"); e == nil || e.Code != "Second" {
		t.Fatalf("after removing glob-err: %v", e)
	}
	if e, d := s.API("DescribeDataDownloadURL", "c"); e != nil || d != 1001*time.Millisecond {
		t.Fatalf("another action and account: %v after %s", e, d)
	}
}

// Rules are read from a snapshot: requests run while rules come and go
// (under -race: no data race, no torn state).
func TestConcurrentAddAndMatch(t *testing.T) {
	s := NewSet(1, nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				s.API("PushApplicationData", "a")
				_ = s.List()
			}
		}()
	}
	for i := range 200 {
		added, err := s.Add(Rule{Effect: Latency, Match: Match{Account: "a"}, Params: Params{Latency: Duration(time.Millisecond)}})
		if err != nil {
			t.Error(err)
			break
		}
		if i%2 == 0 {
			s.Remove(added[0].ID)
		}
	}
	close(done)
	wg.Wait()
	if s.Len() != 100 {
		t.Fatalf("%d rules, want 100", s.Len())
	}
}

// A request looks only at the rules filed under its action and account (and
// the glob ones), not at every rule of the set.
func TestIndexSkipsOtherAccounts(t *testing.T) {
	s := NewSet(1, nil)
	rules := make([]Rule, 0, MaxRules)
	for i := range MaxRules - 2 {
		rules = append(rules, Rule{Effect: Error, Match: Match{Account: fmt.Sprint("acct-", i)}, Params: Params{Code: "X"}})
	}
	rules = append(rules, Rule{Effect: Error, Match: Match{Account: "acct-*"}, Params: Params{Code: "G"}},
		Rule{Effect: Slow, Match: Match{Account: "acct-7"}, Params: Params{Factor: 2}})
	if _, err := s.Add(rules...); err != nil {
		t.Fatal(err)
	}
	sn := s.snap.Load()
	seen := 0
	sn.api.each("PushApplicationData", "acct-7", func(*entry) bool { seen++; return true })
	if seen != 2 {
		t.Fatalf("a request of acct-7 looked at %d API rules, want 2 (its own and the glob)", seen)
	}
	seen = 0
	sn.replica.each(pushAction, "acct-8", func(*entry) bool { seen++; return true })
	if seen != 0 {
		t.Fatalf("a push of acct-8 looked at %d replica rules, want 0", seen)
	}
}
