package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Seeding: a State (what Snapshot prints, what GET /_ensmock/state answers)
// loads back with Load. A dump carries every field; a hand-written seed may
// leave most out, and then:
//
//   - firstPush defaults to the clock's now; attempts to the highest replica
//     attempt (1 when a replica has none);
//   - a replica names its file server, or only a region: then it stands for
//     every file server of that region;
//   - start defaults to firstPush; done to start for a SUCCESS or FAILED
//     replica (already over), and to start + the transfer time the engine
//     would draw for a PUSHING one;
//   - the failure a replica ends with is "fail", else, for a FAILED one, its
//     descrip (default "failed").
//
// The status itself is not stored: it is computed from the clock as always, so
// a seed's times decide (a "SUCCESS" replica whose done is in the future shows
// PUSHING until then). "now" and "fetched" are ignored: loading a state moves
// no clock and brings no content.

// ParseState reads a State from JSON or YAML, strictly: an unknown key is an error.
func ParseState(data []byte) (State, error) {
	var st State
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return st, fmt.Errorf("state: %w", err)
	}
	if doc == nil {
		return st, errors.New("state: the document is empty")
	}
	js, err := json.Marshal(normalizeYAML(doc))
	if err != nil {
		return st, fmt.Errorf("state: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("state: %w", err)
	}
	return st, nil
}

// normalizeYAML turns what yaml.v3 decodes into values encoding/json takes
// (maps with non-string keys; timestamps stay time.Time).
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
	}
	return v
}

// fromState validates st and turns it into records; it changes nothing.
func (e *Engine) fromState(st State) ([]AppKey, []*FileRecord, error) {
	now := e.cfg.Clock.Now()
	var apps []AppKey
	var files []*FileRecord
	seenAcct := map[string]bool{}
	for _, as := range st.Accounts {
		if as.Account == "" {
			return nil, nil, errors.New("state: an account has no name")
		}
		if seenAcct[as.Account] {
			return nil, nil, fmt.Errorf("state: account %q is listed twice", as.Account)
		}
		seenAcct[as.Account] = true
		seenApp := map[string]bool{}
		for _, ps := range as.Apps {
			if strings.TrimSpace(ps.AppID) == "" {
				return nil, nil, fmt.Errorf("state: account %q: an app has no appId", as.Account)
			}
			if seenApp[ps.AppID] {
				return nil, nil, fmt.Errorf("state: account %q: app %q is listed twice", as.Account, ps.AppID)
			}
			seenApp[ps.AppID] = true
			apps = append(apps, AppKey{as.Account, ps.AppID})
			for i, fs := range ps.Files {
				r, err := e.fileFromState(as.Account, ps.AppID, int32(i), fs, now)
				if err != nil {
					return nil, nil, fmt.Errorf("state: account %q app %q file %q version %q: %w", as.Account, ps.AppID, fs.Name, fs.Version, err)
				}
				files = append(files, r)
			}
		}
	}
	return apps, files, nil
}

func (e *Engine) fileFromState(acct, appID string, pos int32, fs FileState, now time.Time) (*FileRecord, error) {
	first := fs.FirstPush
	if first.IsZero() {
		first = now
	}
	created, err := nanos(first)
	if err != nil {
		return nil, fmt.Errorf("firstPush: %w", err)
	}
	r := &FileRecord{Account: acct, App: appID, DataFile: fs.DataFile, Pos: pos, Created: created, Attempts: fs.Attempts}
	if r.Attempts < 0 || r.Attempts > 0xffff {
		return nil, fmt.Errorf("attempts %d: want 0 … 65535", r.Attempts)
	}
	maxAttempt := 0
	for _, rs := range fs.Replicas {
		servers, err := e.seedServers(rs)
		if err != nil {
			return nil, err
		}
		status := strings.ToUpper(rs.Status)
		switch status {
		case "", StatusSuccess, StatusFailed, StatusPushing:
		default:
			return nil, fmt.Errorf("replica status %q: want SUCCESS, FAILED or PUSHING", rs.Status)
		}
		fail := rs.Fail
		switch {
		case status == StatusSuccess && fail != "":
			return nil, fmt.Errorf("replica on %s: a SUCCESS replica has no failure (fail %q)", servers[0].ID, fail)
		case status == StatusFailed && fail == "":
			fail = rs.Descrip
			if fail == "" {
				fail = "failed"
			}
		}
		attempt := rs.Attempt
		if attempt == 0 {
			attempt = max(fs.Attempts, 1)
		}
		if attempt < 0 || attempt > 0xffff {
			return nil, fmt.Errorf("replica on %s: attempt %d: want 1 … 65535", servers[0].ID, attempt)
		}
		maxAttempt = max(maxAttempt, attempt)
		start := created
		if !rs.Start.IsZero() {
			if start, err = nanos(rs.Start); err != nil {
				return nil, fmt.Errorf("replica on %s: start: %w", servers[0].ID, err)
			}
		}
		for _, s := range servers {
			done := start
			switch {
			case !rs.Done.IsZero():
				if done, err = nanos(rs.Done); err != nil {
					return nil, fmt.Errorf("replica on %s: done: %w", s.ID, err)
				}
			case status == StatusPushing:
				done = start + int64(e.transfer(jitterHashFile(e.seedHash, fs.Name, fs.Version), uint16(attempt), s, fs.Size))
			}
			if done < start {
				return nil, fmt.Errorf("replica on %s: done %s is before start %s", s.ID, time.Unix(0, done).UTC().Format(time.RFC3339Nano), time.Unix(0, start).UTC().Format(time.RFC3339Nano))
			}
			r.Replicas = append(r.Replicas, ReplicaRecord{Server: s.ID, Attempt: attempt, Start: start, Done: done, Fail: fail})
		}
	}
	if r.Attempts == 0 {
		r.Attempts = maxAttempt
	}
	if maxAttempt > r.Attempts {
		return nil, fmt.Errorf("a replica's attempt %d exceeds the file's attempts %d", maxAttempt, r.Attempts)
	}
	return r, nil
}

// seedServers resolves a replica's server (or, without one, its region's servers).
func (e *Engine) seedServers(rs ReplicaState) ([]Server, error) {
	if rs.Server == "" {
		if rs.Region == "" {
			return nil, errors.New("a replica needs a server (or a region)")
		}
		ix := e.ix.byRegion[rs.Region]
		if len(ix) == 0 {
			return nil, fmt.Errorf("region %q is not in the topology", rs.Region)
		}
		return e.servers(ix), nil
	}
	for _, s := range e.ix.servers {
		if s.ID == rs.Server {
			if rs.Region != "" && rs.Region != s.Region {
				return nil, fmt.Errorf("file server %q is in region %q, not %q", s.ID, s.Region, rs.Region)
			}
			return []Server{s}, nil
		}
	}
	return nil, fmt.Errorf("file server %q is not in the topology", rs.Server)
}
