package main

import (
	"strings"
	"testing"
)

// TestCredentialsFileMistakesNameTheLine: what the file gets wrong is an error
// naming the file and line, exit 2, before anything listens.
func TestCredentialsFileMistakesNameTheLine(t *testing.T) {
	for _, c := range []struct{ name, content, want string }{
		{"allow without a value", "credentials:\n  - accessKeyId: a\n    accessKeySecret: s\n    allow:\n",
			":4: credentials[0]: allow has no value: write allow: [] for no permission, or leave allow out for every action"},
		{"duplicate key id", "credentials:\n  - accessKeyId: a\n    accessKeySecret: s\n  - accessKeyId: a\n    accessKeySecret: t\n",
			":4: credentials[1]: accessKeyId a is listed twice (first on line 2)"},
		{"empty secret", "credentials:\n  - accessKeyId: a\n    accessKeySecret: \"\"\n", ":2: credentials[0] (a): accessKeySecret is missing or empty"},
		{"no secret", "credentials:\n  - accessKeyId: a\n", ":2: credentials[0] (a): accessKeySecret is missing or empty"},
		{"empty key id", "credentials:\n  - accessKeyId: \" \"\n    accessKeySecret: s\n", ":2: credentials[0]: accessKeyId is missing or empty"},
		{"invalid pattern", "credentials:\n  - accessKeyId: a\n    accessKeySecret: s\n  - accessKeyId: b\n    accessKeySecret: s\n    allow: [\"ens:[\"]\n",
			`:4: credentials[1] (b): allow pattern "ens:[" is not a valid pattern`},
		{"empty file", "", "the file is empty"},
		{"only a comment", "# nothing yet\n", "the file is empty"},
		{"credentials without a value", "credentials:\n", ":1: no credentials listed"},
		{"unknown key", "credentials:\n  - accessKeyId: a\n    accessKeySecret: s\n    role: admin\n", ":4: credentials[0]: field role not found"},
		{"unknown top-level key", "credentials: []\nusers: []\n", ":2: field users not found"},
		{"not a mapping", "- a\n", ":1: want a mapping"},
		{"entry not a mapping", "credentials:\n  - a\n", ":2: credentials[0]: want a mapping"},
		{"allow not a list", "credentials:\n  - accessKeyId: x\n    accessKeySecret: y\n    allow: ens:*\n", "line 4: cannot unmarshal"},
		{"bad yaml", "credentials: [\n", "credentials.yaml: yaml:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, "credentials.yaml", c.content)
			code, _, errOut := runCLI("serve", "--credentials", file)
			if code != 2 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, file) {
				t.Errorf("exit %d, stderr %q\nwant 2, the file name and %q", code, errOut, c.want)
			}
		})
	}
}

// TestCredentialsAllowForms: allow omitted is every action, allow: [] none.
func TestCredentialsAllowForms(t *testing.T) {
	creds, err := loadCredentials(writeFile(t, "c.yaml", "credentials:\n  - accessKeyId: all\n    accessKeySecret: s\n  - accessKeyId: none\n    accessKeySecret: s\n    allow: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if creds[0].Allow != nil || creds[1].Allow == nil || len(creds[1].Allow) != 0 {
		t.Fatalf("%#v", creds)
	}
	srv := credMock(t, "--credentials", writeFile(t, "c.yaml", "credentials:\n  - accessKeyId: all\n    accessKeySecret: s\n  - accessKeyId: none\n    accessKeySecret: s\n    allow: []\n"))
	if status, body := credPush(t, srv, "all", "s", ""); status != 200 {
		t.Errorf("allow omitted: %d %v", status, body)
	}
	if status, body := credPush(t, srv, "none", "s", ""); status != 400 || body["Code"] != "NoPermission" {
		t.Errorf("allow: []: %d %v", status, body)
	}
}
