package engine

import "time"

// Rewind moves every recorded time of the state back by d, after the clock
// was put back by d (POST /_ensmock/clock/reset, the one sanctioned rewind):
// the state moves with the clock, so a replica that had finished stays
// finished, one still pushing keeps its remaining time, and no start time lies
// in the future. With a persister the moved records are saved before it
// returns. A d ≤ 0 changes nothing.
func (e *Engine) Rewind(d time.Duration) {
	if d <= 0 {
		return
	}
	by := int64(d)
	e.mu.RLock()
	accts := make(map[string]*account, len(e.accounts))
	for name, a := range e.accounts {
		accts[name] = a
	}
	e.mu.RUnlock()
	var ticket uint64
	defer e.waitDurable(&ticket)
	for name, a := range accts {
		a.mu.Lock()
		for id, p := range a.apps {
			for i, f := range p.order {
				f.created -= by
				p.meta[i].created -= by
				for j := range f.replicas {
					f.replicas[j].start -= by
					f.replicas[j].done -= by
				}
				if t := e.persistFile(a, name, id, f); t != 0 {
					ticket = t
				}
			}
			p.x.rewind(by) // applications and distribution (applications.go)
			if p.x != nil {
				if t := e.persistExt(a, id, p.x); t != 0 {
					ticket = t
				}
				for i, d := range p.x.distOrder {
					if t := e.persistDist(a, id, i, d); t != 0 {
						ticket = t
					}
				}
			}
		}
		a.mu.Unlock()
	}
}
