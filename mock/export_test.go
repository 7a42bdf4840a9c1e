package mock

// Hooks for the tests of package mock_test.

// SyntheticContent lets the external tests compare a download with the bytes
// the mock generates.
var SyntheticContent = syntheticContent

// LimitIDs lists the ID of every ensmock limit in the table of limits.go, so
// that tests of package mock_test can check each one has a case.
func LimitIDs() []string {
	ids := make([]string, len(limits))
	for i, l := range limits {
		ids[i] = l.ID
	}
	return ids
}
