package engine

import (
	"maps"
	"slices"
)

// AppSummary names one application of one account and counts its data files.
type AppSummary struct {
	Account, AppID string
	Files          int
}

// Apps lists every account's applications, sorted by account then AppId, with
// their number of data files; unlike Snapshot it copies no file, so it stays
// cheap with many files (the live view calls it on every refresh).
func (e *Engine) Apps() []AppSummary {
	e.mu.RLock()
	names := slices.Sorted(maps.Keys(e.accounts))
	e.mu.RUnlock()
	var out []AppSummary
	for _, n := range names {
		a := e.account(n, false)
		if a == nil {
			continue
		}
		a.mu.Lock()
		for _, id := range slices.Sorted(maps.Keys(a.apps)) {
			out = append(out, AppSummary{Account: n, AppID: id, Files: len(a.apps[id].order)})
		}
		a.mu.Unlock()
	}
	return out
}
