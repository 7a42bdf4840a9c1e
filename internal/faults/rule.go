// Package faults holds fault rules: what to break, where, how often (seeded, deterministic).
package faults

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ensmock/ensmock/mock/clock"
)

// Effects a rule can have.
const (
	RegionDown = "region_down" // push refused (mode refuse) or replicas FAILED (mode fail) in matched regions
	ServerDown = "server_down" // the same, per file server
	Slow       = "slow"        // transfer duration × factor + latency
	FailAfter  = "fail_after"  // the replica fails after fraction of its transfer time
	Corrupt    = "corrupt"     // the replica ends FAILED with an md5 mismatch
	Error      = "error"       // API-level error answered before the action runs
	Latency    = "latency"     // API-level added response latency (the only real delay)
	// InstanceDown: a DistApplicationData transfer to a matched instance fails at once (dist.go).
	InstanceDown = "instance_down"
)

// Modes of region_down and server_down.
const (
	ModeRefuse = "refuse" // the push answers ResultCode 300 (default)
	ModeFail   = "fail"   // the matched replicas end FAILED
)

// Match selects where a rule applies. Every field is a path.Match glob; empty matches anything.
type Match struct {
	Action  string `json:"action,omitempty" yaml:"action,omitempty"`
	Account string `json:"account,omitempty" yaml:"account,omitempty"`
	Region  string `json:"region,omitempty" yaml:"region,omitempty"`
	Server  string `json:"server,omitempty" yaml:"server,omitempty"`
	Name    string `json:"name,omitempty" yaml:"name,omitempty"`
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
	// Instance selects edge instances of DistApplicationData (dist.go); a rule with it never touches pushes.
	Instance string `json:"instance,omitempty" yaml:"instance,omitempty"`
}

// Params are the effect's parameters. They may be given under "params" or,
// as a shorthand, directly in the rule; both at once for one key is an error.
type Params struct {
	Mode       string   `json:"mode,omitempty" yaml:"mode,omitempty"`             // region_down, server_down: refuse | fail
	Factor     float64  `json:"factor,omitempty" yaml:"factor,omitempty"`         // slow: duration multiplier (> 0)
	Latency    Duration `json:"latency,omitempty" yaml:"latency,omitempty"`       // slow: added transfer time; latency: added response time
	Fraction   *float64 `json:"fraction,omitempty" yaml:"fraction,omitempty"`     // fail_after: 0..1 of the transfer time
	Code       string   `json:"code,omitempty" yaml:"code,omitempty"`             // error: the error code
	Status     int      `json:"status,omitempty" yaml:"status,omitempty"`         // error: HTTP status (default from the catalogue, else 400)
	Message    string   `json:"message,omitempty" yaml:"message,omitempty"`       // error: message (default from the catalogue)
	RetryAfter Duration `json:"retryAfter,omitempty" yaml:"retryAfter,omitempty"` // error, Throttling codes: TimeLeft of x-ratelimit-user-api (default 2s)
}

// flatParams lets the parameters sit directly in the rule (shorthand).
type flatParams Params

// Rule is one fault. The zero Probability means 1 (always); Count 0 means unlimited.
type Rule struct {
	ID          string   `json:"id,omitempty" yaml:"id,omitempty"`
	Match       Match    `json:"match" yaml:"match,omitempty"`
	Effect      string   `json:"effect" yaml:"effect"`
	Params      Params   `json:"params" yaml:"params,omitempty"`
	Probability *float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
	Count       int      `json:"count,omitempty" yaml:"count,omitempty"`

	flatParams `yaml:",inline"`
}

// canonicalRule is a rule's one JSON form (parameters under "params"), for
// Rule and Status alike.
type canonicalRule struct {
	ID          string   `json:"id,omitempty"`
	Match       Match    `json:"match"`
	Effect      string   `json:"effect"`
	Params      Params   `json:"params"`
	Probability *float64 `json:"probability,omitempty"`
	Count       int      `json:"count,omitempty"`
}

func (r Rule) canonical() canonicalRule {
	return canonicalRule{r.ID, r.Match, r.Effect, r.Params, r.Probability, r.Count}
}

// MarshalJSON writes the canonical form (parameters under "params").
func (r Rule) MarshalJSON() ([]byte, error) { return json.Marshal(r.canonical()) }

// Duration is the JSON/YAML duration type of rules (clock.Duration).
type Duration = clock.Duration

// normalize merges the shorthand parameters into Params, fills defaults and
// validates the rule. The error names the offending field.
func (r *Rule) normalize() error {
	if err := mergeParams(&r.Params, Params(r.flatParams)); err != nil {
		return err
	}
	r.flatParams = flatParams{}
	if r.ID != "" && (strings.ContainsAny(r.ID, "/?#% \t\n") || len(r.ID) > 64) {
		return fmt.Errorf("id %q: at most 64 characters, no '/', '?', '#', '%%' or blanks", r.ID)
	}
	for _, g := range []struct{ name, pat string }{{"action", r.Match.Action}, {"account", r.Match.Account},
		{"region", r.Match.Region}, {"server", r.Match.Server}, {"name", r.Match.Name}, {"version", r.Match.Version}, {"instance", r.Match.Instance}} {
		if _, err := path.Match(g.pat, ""); err != nil {
			return fmt.Errorf("match.%s %q: bad glob pattern", g.name, g.pat)
		}
	}
	if r.Probability != nil && (*r.Probability < 0 || *r.Probability > 1 || math.IsNaN(*r.Probability)) {
		return fmt.Errorf("probability %v: want 0..1", *r.Probability)
	}
	if r.Count < 0 {
		return fmt.Errorf("count %d: want 0 (unlimited) or more", r.Count)
	}
	p := &r.Params
	used := map[string]bool{"mode": p.Mode != "", "factor": p.Factor != 0, "latency": p.Latency != 0,
		"fraction": p.Fraction != nil, "code": p.Code != "", "status": p.Status != 0, "message": p.Message != "",
		"retryAfter": p.RetryAfter != 0}
	var allowed []string
	api := false
	switch r.Effect {
	case RegionDown, ServerDown:
		allowed = []string{"mode"}
		switch p.Mode {
		case "":
			p.Mode = ModeRefuse
		case ModeRefuse, ModeFail:
		default:
			return fmt.Errorf("params.mode %q: want refuse or fail", p.Mode)
		}
	case Slow:
		allowed = []string{"factor", "latency"}
		if p.Factor < 0 || math.IsNaN(p.Factor) || math.IsInf(p.Factor, 0) || p.Factor > 1e6 {
			return fmt.Errorf("params.factor %v: want a positive multiplier", p.Factor)
		}
		if p.Latency < 0 {
			return fmt.Errorf("params.latency %s: must not be negative", p.Latency)
		}
		if p.Factor == 0 && p.Latency == 0 {
			return errors.New("effect slow needs params.factor and/or params.latency")
		}
	case FailAfter:
		allowed = []string{"fraction"}
		if p.Fraction == nil {
			return errors.New("effect fail_after needs params.fraction (0..1)")
		}
		if f := *p.Fraction; f < 0 || f > 1 || math.IsNaN(f) {
			return fmt.Errorf("params.fraction %v: want 0..1", f)
		}
	case Corrupt, InstanceDown:
	case Error:
		api = true
		allowed = []string{"code", "status", "message", "retryAfter"}
		if p.Code == "" {
			return errors.New("effect error needs params.code (e.g. Throttling.User, ServiceUnavailable, InternalError)")
		}
		if strings.ContainsAny(p.Code, "\r\n<>&\"") || len(p.Code) > 128 {
			return fmt.Errorf("params.code %q: not a valid error code", p.Code)
		}
		if p.Status != 0 && (p.Status < 400 || p.Status > 599) {
			return fmt.Errorf("params.status %d: want 400..599", p.Status)
		}
		if p.RetryAfter < 0 {
			return fmt.Errorf("params.retryAfter %s: must not be negative", p.RetryAfter)
		}
	case Latency:
		api = true
		allowed = []string{"latency"}
		if p.Latency <= 0 {
			return errors.New("effect latency needs a positive params.latency (e.g. \"2s\")")
		}
		if p.Latency.D() > 10*time.Minute {
			return fmt.Errorf("params.latency %s: at most 10m", p.Latency)
		}
	case "":
		return fmt.Errorf("effect is required: one of %s", strings.Join(effects, ", "))
	default:
		return fmt.Errorf("effect %q: want one of %s", r.Effect, strings.Join(effects, ", "))
	}
	for k, on := range used {
		if on && !slices.Contains(allowed, k) {
			return fmt.Errorf("params.%s does not apply to effect %s", k, r.Effect)
		}
	}
	if api {
		for _, g := range []struct{ name, pat string }{{"region", r.Match.Region}, {"server", r.Match.Server},
			{"name", r.Match.Name}, {"version", r.Match.Version}, {"instance", r.Match.Instance}} {
			if g.pat != "" {
				return fmt.Errorf("match.%s does not apply to the API-level effect %s (it matches action and account only)", g.name, r.Effect)
			}
		}
	}
	return nil
}

var effects = []string{RegionDown, ServerDown, Slow, FailAfter, Corrupt, Error, Latency, InstanceDown}

func mergeParams(dst *Params, flat Params) error {
	return cmp.Or(
		takeParam("mode", &dst.Mode, flat.Mode),
		takeParam("factor", &dst.Factor, flat.Factor),
		takeParam("latency", &dst.Latency, flat.Latency),
		takeParam("fraction", &dst.Fraction, flat.Fraction),
		takeParam("code", &dst.Code, flat.Code),
		takeParam("status", &dst.Status, flat.Status),
		takeParam("message", &dst.Message, flat.Message),
		takeParam("retryAfter", &dst.RetryAfter, flat.RetryAfter),
	)
}

// takeParam moves a parameter given in the rule's shorthand into params; it is an
// error when params has it too.
func takeParam[T comparable](name string, dst *T, flat T) error {
	var zero T
	if flat == zero {
		return nil
	}
	if *dst != zero {
		return fmt.Errorf("%s is given both in params and in the rule", name)
	}
	*dst = flat
	return nil
}

// Scenario is the file format of --scenario: a top-level list of faults.
type Scenario struct {
	Faults []Rule `yaml:"faults" json:"faults"`
}

// ParseScenario decodes a YAML (or JSON) scenario strictly (unknown keys are
// errors) and validates every rule.
func ParseScenario(data []byte) ([]Rule, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	for i := range sc.Faults {
		if err := sc.Faults[i].normalize(); err != nil {
			return nil, fmt.Errorf("faults[%d]: %w", i, err)
		}
	}
	return sc.Faults, nil
}

// LoadScenario reads and parses a scenario file.
func LoadScenario(file string) ([]Rule, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	rules, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return rules, nil
}

// DecodeJSON reads one rule object or {"faults":[...]} strictly (unknown keys are
// errors). many says which form it was.
func DecodeJSON(data []byte) (rules []Rule, many bool, err error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, false, fmt.Errorf("want a fault rule object or {\"faults\":[...]}: %v", err)
	}
	if _, ok := probe["faults"]; ok {
		var sc Scenario
		if err := strictJSON(data, &sc); err != nil {
			return nil, true, err
		}
		for i := range sc.Faults {
			if err := sc.Faults[i].normalize(); err != nil {
				return nil, true, fmt.Errorf("faults[%d]: %w", i, err)
			}
		}
		return sc.Faults, true, nil
	}
	var r Rule
	if err := strictJSON(data, &r); err != nil {
		return nil, false, err
	}
	if err := r.normalize(); err != nil {
		return nil, false, err
	}
	return []Rule{r}, false, nil
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
