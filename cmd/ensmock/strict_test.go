package main

import "testing"

// --strict and ENSMOCK_STRICT set Options.Strict; lenient is the default.
func TestStrictFlag(t *testing.T) {
	opts, err := serveOptions()
	if err != nil || opts.Strict {
		t.Fatalf("default: strict %v, err %v", opts.Strict, err)
	}
	if opts, err = serveOptions("--strict"); err != nil || !opts.Strict {
		t.Fatalf("--strict: strict %v, err %v", opts.Strict, err)
	}
	t.Setenv("ENSMOCK_STRICT", "true")
	if opts, err = serveOptions(); err != nil || !opts.Strict {
		t.Fatalf("ENSMOCK_STRICT=true: strict %v, err %v", opts.Strict, err)
	}
	if opts, err = serveOptions("--strict=false"); err != nil || opts.Strict {
		t.Fatalf("--strict=false over the environment: strict %v, err %v", opts.Strict, err)
	}
}
