package mock

// SyntheticContent lets the external tests compare a download with the bytes
// the mock generates.
var SyntheticContent = syntheticContent
