package mock

import (
	"github.com/ensmock/ensmock/internal/control"
	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/internal/faults"
	"github.com/ensmock/ensmock/internal/wire"
)

// The types Options and Server's methods take, defined by the internal
// packages that implement them: a user of the mock names them from here.
type (
	// Topology is the set of regions and their file servers (--topology).
	Topology = engine.Topology
	// Region is one ENS region (edge node) of a Topology.
	Region = engine.Region
	// State is a dump of accounts, apps and data files (GET /_ensmock/state),
	// loadable with Options.State, LoadState or PUT /_ensmock/state.
	State = engine.State
	// Limits bound the size of a request.
	Limits = wire.Limits
	// RequestFilter selects journal entries (GET /_ensmock/requests).
	RequestFilter = control.Filter
	// RequestEntry is one API request as the journal records it.
	RequestEntry = control.Entry
	// FaultRule is one fault rule (Options.Faults, POST /_ensmock/faults, a
	// --scenario file's faults).
	FaultRule = faults.Rule
	// FaultStatus is a fault rule in force, with how often it applied.
	FaultStatus = faults.Status
)

// LoadScenario reads a scenario file's fault rules (YAML, top-level faults: [...]).
func LoadScenario(path string) ([]FaultRule, error) { return faults.LoadScenario(path) }

// ParseState reads a state (YAML or JSON, the shape GET /_ensmock/state prints).
func ParseState(data []byte) (State, error) { return engine.ParseState(data) }

// DefaultTopology is the topology the mock starts with when Options.Topology is nil.
func DefaultTopology() Topology { return engine.DefaultTopology() }
