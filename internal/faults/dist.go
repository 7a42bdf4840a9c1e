package faults

import (
	"fmt"

	"github.com/ensmock/ensmock/internal/engine"
)

// distAction is the API action whose per-instance transfers the dist effects bend.
const distAction = "DistApplicationData"

// forDist reports whether the rule targets distributions: it must opt in, by
// naming the action DistApplicationData (a glob that matches it), an instance,
// or by being instance_down; so the push rules of before never touch a dist.
func (e *entry) forDist() bool {
	if e.Match.Action == "" && e.Match.Instance == "" && e.Effect != InstanceDown {
		return false
	}
	return glob(e.Match.Action, distAction)
}

// Dist implements engine.DistHooks: instance_down, slow, fail_after and
// corrupt on the transfer of d.File from the file server from to one instance.
func (h hooks) Dist(d engine.DistContext, instanceID, region string, from engine.Server, plan *engine.ReplicaPlan) {
	sn := h.s.snap.Load()
	if sn == nil {
		return
	}
	for _, e := range sn.rules { // dists are rare: no index, every rule in the order added
		switch e.Effect {
		case InstanceDown, Slow, FailAfter, Corrupt:
		default:
			continue
		}
		if !e.forDist() || !glob(e.Match.Account, d.Account) || !glob(e.Match.Name, d.File.Name) || !glob(e.Match.Version, d.File.Version) ||
			!glob(e.Match.Region, region) || !glob(e.Match.Server, from.ID) || !glob(e.Match.Instance, instanceID) || !e.fire() {
			continue
		}
		switch e.Effect {
		case InstanceDown:
			if plan.Fail == "" {
				plan.Duration, plan.Fail = 0, fmt.Sprintf("instance %s is down (fault %s)", instanceID, e.ID)
			}
		case Slow:
			e.slow(plan)
		case FailAfter:
			e.failAfter(plan, "distribution to "+instanceID)
		case Corrupt:
			if plan.Fail == "" {
				plan.Fail = fmt.Sprintf("md5 mismatch on %s (fault %s)", instanceID, e.ID)
			}
		}
	}
}

// The hooks the engine gets also bend distributions.
var _ engine.DistHooks = hooks{}
