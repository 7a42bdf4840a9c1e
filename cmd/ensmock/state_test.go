package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ensmock/ensmock/mock"
)

func TestStateFlags(t *testing.T) {
	seed := writeFile(t, "state.yaml", "accounts:\n  - account: testid\n    apps:\n      - appId: seeded-app\n")
	dir := t.TempDir()
	t.Setenv("ENSMOCK_DATA_DIR", dir)
	t.Setenv("ENSMOCK_STATE", seed)
	opts, err := serveOptions("--auth", "off")
	if err != nil {
		t.Fatal(err)
	}
	if opts.DataDir != dir || opts.State == nil || opts.OnStoreFailure == nil {
		t.Fatalf("options: dataDir %q state %v", opts.DataDir, opts.State)
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if st := srv.Engine().Snapshot("testid"); len(st.Accounts) != 1 || st.Accounts[0].Apps[0].AppID != "seeded-app" {
		t.Fatalf("seeded state: %+v", st)
	}
}

// A seed that does not parse, or does not load, is a configuration error: exit 2.
func TestStateFlagErrorsExit2(t *testing.T) {
	for content, want := range map[string]string{
		"accounts: [{account: a, bogus: 1}]": "unknown field",
		"accounts: [{account: a, apps: [{appId: p, files: [{name: f, version: '1', replicas: [{server: nope}]}]}]}]": `file server "nope" is not in the topology`,
	} {
		var stderr bytes.Buffer
		code := run([]string{"serve", "--addr", "127.0.0.1:0", "--state", writeFile(t, "s.yaml", content)}, &bytes.Buffer{}, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("--state %q: exit %d, stderr %s; want 2 and %q", content, code, stderr.String(), want)
		}
	}
}
