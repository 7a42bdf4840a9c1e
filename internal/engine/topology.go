package engine

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

// Topology is the set of ENS nodes (regions) and the file servers in each.
type Topology struct {
	Regions []Region `json:"regions" yaml:"regions"`
}

// Region is one ENS node, e.g. cn-chengdu-telecom-4.
type Region struct {
	ID      string   `json:"id" yaml:"id"`
	Servers []string `json:"servers" yaml:"servers"` // file server ids, unique across the topology
	// Instances is how many edge instances one account may have in the region
	// (all its applications together); 0 means DefaultRegionInstances.
	Instances int `json:"instances,omitempty" yaml:"instances,omitempty"`
}

// Server is one file server of a region.
type Server struct {
	Index  int    `json:"-"`
	ID     string `json:"id"`
	Region string `json:"region"`
}

//go:embed topology.json
var defaultTopologyJSON []byte

// DefaultTopology is the embedded topology: eight ENS nodes named as in the
// official examples, two file servers each.
func DefaultTopology() Topology {
	var t Topology
	if err := json.Unmarshal(defaultTopologyJSON, &t); err != nil {
		panic("engine: embedded topology: " + err.Error())
	}
	return t
}

// index is the compiled topology: servers by dense index (a replica stores a uint16).
type index struct {
	servers  []Server
	all      []int // every server index: the targets of an empty strategy
	byRegion map[string][]int
	regions  []string // sorted
	// regionBit[server] is 1<<(index of its region in regions), 0 beyond 64 regions.
	regionBit   []uint64
	regionBitOf map[string]uint64
	capacity    []int // capacity[i]: Region.Instances of regions[i]
}

func compile(t Topology) (*index, error) {
	ix := &index{byRegion: map[string][]int{}}
	seen := map[string]bool{}
	for _, r := range t.Regions {
		if r.ID == "" {
			return nil, fmt.Errorf("topology: region without id")
		}
		if _, dup := ix.byRegion[r.ID]; dup {
			return nil, fmt.Errorf("topology: region %q listed twice", r.ID)
		}
		if len(r.Servers) == 0 {
			return nil, fmt.Errorf("topology: region %q has no file server", r.ID)
		}
		ix.byRegion[r.ID] = nil
		for _, s := range r.Servers {
			if s == "" || seen[s] {
				return nil, fmt.Errorf("topology: file server id %q empty or repeated", s)
			}
			seen[s] = true
			ix.byRegion[r.ID] = append(ix.byRegion[r.ID], len(ix.servers))
			ix.all = append(ix.all, len(ix.servers))
			ix.servers = append(ix.servers, Server{Index: len(ix.servers), ID: s, Region: r.ID})
		}
		ix.regions = append(ix.regions, r.ID)
	}
	if len(ix.servers) == 0 {
		return nil, fmt.Errorf("topology: no region")
	}
	if len(ix.servers) > 65535 {
		return nil, fmt.Errorf("topology: more than 65535 file servers")
	}
	sort.Strings(ix.regions)
	for _, r := range t.Regions {
		if r.Instances < 0 {
			return nil, fmt.Errorf("topology: region %q has a negative instance count", r.ID)
		}
	}
	ix.capacity = make([]int, len(ix.regions))
	for _, r := range t.Regions {
		i := sort.SearchStrings(ix.regions, r.ID)
		ix.capacity[i] = r.Instances
	}
	ix.regionBitOf = map[string]uint64{}
	for i, r := range ix.regions {
		if i < 64 {
			ix.regionBitOf[r] = 1 << i
		}
	}
	ix.regionBit = make([]uint64, len(ix.servers))
	for i, s := range ix.servers {
		ix.regionBit[i] = ix.regionBitOf[s.Region]
	}
	return ix, nil
}

// Selector is one ScheduleToRegionId policy: operator In or NotIn over ENS node ids.
type Selector struct {
	Operator string   // "In" or "NotIn"
	Values   []string // ENS node ids
}

// Strategy is a list of selectors that must all hold; empty selects every file server.
type Strategy []Selector

// targets returns the server indexes the strategy selects, in topology order.
// The result is shared and must not be modified.
func (ix *index) targets(st Strategy) []int {
	if len(st) == 0 {
		return ix.all
	}
	var out []int
	for _, s := range ix.servers {
		if st.matches(s.Region) {
			out = append(out, s.Index)
		}
	}
	return out
}

func (st Strategy) matches(region string) bool {
	for _, sel := range st {
		in := false
		for _, v := range sel.Values {
			if v == region {
				in = true
				break
			}
		}
		if (sel.Operator == "NotIn") == in {
			return false
		}
	}
	return true
}
