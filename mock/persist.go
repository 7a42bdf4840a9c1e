package mock

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/internal/store"
	"github.com/ensmock/ensmock/mock/clock"
)

// ErrState wraps every error of the state a server starts with: a data
// directory refused (another schema, corrupt, in use) or a seed that does not
// load. The binary exits 2 on it (a configuration error), having changed nothing.
var ErrState = errors.New("state")

// setupState wires Options.DataDir (persistence) and Options.State (seed) into
// a built server, before it serves anything. On a data directory that already
// holds a state, that state wins: the seed, the start-up fault rules and the
// clock flags apply to a new (empty) data directory only — the convention of
// database images' init scripts — and the log says so.
func (s *Server) setupState(opts Options) error {
	if opts.DataDir == "" {
		if opts.State != nil {
			if err := s.engine.Load(*opts.State); err != nil {
				return fmt.Errorf("%w: seed: %v", ErrState, err)
			}
		}
		return nil
	}
	st, ld, err := store.Open(opts.DataDir, store.Options{Version: buildVersion(), Logger: s.log, OnFatal: opts.OnStoreFailure})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	fail := func(format string, args ...any) error {
		_ = st.Close()
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrState, st.Path()}, args...)...)
	}
	if !ld.Fresh {
		if err := s.engine.RestoreAll(ld.Apps, ld.Files, &ld.AppExt); err != nil {
			return fail("the stored state does not load (it was left untouched): %v", err)
		}
		if ld.Clock != nil {
			if err := s.clock.Restore(*ld.Clock); err != nil {
				return fail("the stored clock does not load (it was left untouched): %v", err)
			}
		}
		if ld.HasFaults {
			s.faults.Clear()
			if _, err := s.faults.Add(ld.Faults...); err != nil {
				return fail("the stored fault rules do not load (it was left untouched): %v", err)
			}
		}
		if opts.State != nil || len(opts.Faults) > 0 {
			s.log.Info("the data dir already holds a state: the seed and the start-up fault rules are not applied", "dataDir", opts.DataDir)
		}
		s.log.Info("state restored", "dataDir", opts.DataDir, "apps", len(ld.Apps), "files", len(ld.Files), "faults", len(ld.Faults))
	}
	s.store = st
	s.engine.SetPersister(st)
	s.clock.OnChange(func(c clock.Saved) { mustCommit(st, st.SaveClock(c)) })
	s.faults.OnChange(func(rules []faults.Rule) { mustCommit(st, st.SaveFaults(rules)) })
	if ld.Fresh {
		if opts.State != nil {
			if err := s.engine.Load(*opts.State); err != nil {
				_ = st.Close()
				return fmt.Errorf("%w: seed: %v", ErrState, err)
			}
		}
		mustCommit(st, st.SaveClock(s.clock.Saved()))
		rules := make([]faults.Rule, 0)
		for _, r := range s.faults.List() {
			rules = append(rules, r.Rule)
		}
		mustCommit(st, st.SaveFaults(rules))
	}
	return nil
}

// mustCommit waits for a change to be durable; a store that cannot commit
// means the change must not be acknowledged, so the request is aborted (see
// engine's waitDurable).
func mustCommit(st *store.Store, ticket uint64) {
	if err := st.Wait(ticket); err != nil {
		panic(fmt.Errorf("mock: the change could not be made durable, so it is not acknowledged: %w", err))
	}
}

// LoadState replaces the whole engine state with st (what GET /_ensmock/state
// prints), durably with a data dir. A bad state changes nothing.
func (s *Server) LoadState(st State) error { return s.engine.Load(st) }

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Path + " " + bi.Main.Version
	}
	return "unknown"
}
