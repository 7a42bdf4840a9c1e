package faults

// OnChange has f told the whole list of rules after every Add, Remove and
// Clear, synchronously and in order (a store makes it durable before the
// change is acknowledged). Call it before the set is shared. What a store
// keeps are the rules: how often each has been applied, and where its seeded
// dice stand, start afresh after a restart.
func (s *Set) OnChange(f func([]Rule)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = f
}

// changed tells onChange the rules. s.mu held.
func (s *Set) changed() {
	if s.onChange == nil {
		return
	}
	cur := s.rules()
	rules := make([]Rule, len(cur))
	for i, e := range cur {
		rules[i] = e.Rule
	}
	s.onChange(rules)
}
