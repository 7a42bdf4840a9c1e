package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the command line and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpListsTheCommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := runCLI(args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, cmd := range []string{"serve", "conform", "healthcheck", "version"} {
			if !strings.Contains(out, "\n  "+cmd+" ") {
				t.Errorf("%v does not list %s:\n%s", args, cmd, out)
			}
		}
	}
	if code, _, errOut := runCLI("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		if code, out, _ := runCLI(args...); code != 0 || out != "ensmock "+version+"\n" {
			t.Errorf("%v: exit %d %q", args, code, out)
		}
	}
	if code, _, errOut := runCLI("version", "extra"); code != 2 || !strings.Contains(errOut, "extra") {
		t.Errorf("version extra: exit %d %q", code, errOut)
	}
}

// TestEveryCommandHelpNamesItsVariables: -h exits 0, on stdout, and shows
// each flag with its environment variable.
func TestEveryCommandHelpNamesItsVariables(t *testing.T) {
	for name, vars := range commandVariables {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}} {
			code, out, errOut := runCLI(args...)
			if code != 0 {
				t.Errorf("%v: exit %d %s", args, code, errOut)
			}
			for _, v := range vars() {
				if !strings.Contains(out, "["+v+"]") {
					t.Errorf("%v does not name %s:\n%s", args, v, out)
				}
			}
		}
	}
	want := map[string]string{"serve": "ENSMOCK_CLOCK_SPEED", "conform": "ENS_ENDPOINT", "healthcheck": "ENSMOCK_URL"}
	for name, v := range want {
		_, out, _ := runCLI(name, "-h")
		if !strings.Contains(out, "["+v+"]") {
			t.Errorf("%s -h does not name %s", name, v)
		}
	}
}

// TestImpossibleValuesAreErrors: every numeric flag has a range; a value
// outside it, a bad word or a stray argument exits 2 and names the flag.
func TestImpossibleValuesAreErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--clock-speed", "NaN"}, "--clock-speed"},
		{[]string{"--clock-speed", "Inf"}, "--clock-speed"},
		{[]string{"--clock-speed", "-Inf"}, "--clock-speed"},
		{[]string{"--clock-speed", "1e12"}, "--clock-speed"},
		{[]string{"--clock-speed", "0"}, "--clock-speed"},
		{[]string{"--clock-speed", "-1"}, "--clock-speed"},
		{[]string{"--journal-size", "400000000"}, "--journal-size"},
		{[]string{"--journal-size", "0"}, "--journal-size"},
		{[]string{"--journal-size", "-1"}, "--journal-size"},
		{[]string{"--bandwidth", "0"}, "--bandwidth"},
		{[]string{"--bandwidth", "-5"}, "--bandwidth"},
		{[]string{"--base-latency", "-1s"}, "--base-latency"},
		{[]string{"--base-latency", "1000h"}, "--base-latency"},
		{[]string{"--fetch-max-bytes", "0"}, "--fetch-max-bytes"},
		{[]string{"--fetch-max-bytes", "1e3"}, "--fetch-max-bytes"},
		{[]string{"--max-connections", "0"}, "--max-connections"},
		{[]string{"--grace", "0s"}, "--grace"},
		{[]string{"--clock", "sundial"}, "--clock"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--download-key", "not-hex-or-base64!"}, "--download-key"},
		{[]string{"--download-key", "00ff"}, "--download-key: the key is 2 bytes"},
		{[]string{"--no-such-flag"}, "--no-such-flag"},
		{[]string{"--clock", "manual", "stray"}, `unexpected argument "stray"`},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(append([]string{"serve"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("serve %v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(errOut, "usage:") || out != "" {
			t.Errorf("serve %v: an error prints one line, not the usage: %q %q", c.args, out, errOut)
		}
	}
	if code, _, errOut := runCLI("healthcheck", "extra"); code != 2 || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("healthcheck extra: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("healthcheck", "--timeout", "-1s"); code != 2 || !strings.Contains(errOut, "--timeout") {
		t.Errorf("healthcheck --timeout -1s: exit %d %q", code, errOut)
	}
}

// TestEnvErrorsNameTheVariable: a bad value from the environment names the
// variable, not the flag.
func TestEnvErrorsNameTheVariable(t *testing.T) {
	cases := []struct{ key, value string }{
		{"ENSMOCK_CLOCK_SPEED", "0"},
		{"ENSMOCK_CLOCK_SPEED", "NaN"},
		{"ENSMOCK_JOURNAL_SIZE", "400000000"},
		{"ENSMOCK_BASE_LATENCY", "-2s"},
		{"ENSMOCK_AUTH", "maybe"},
		{"ENSMOCK_DOWNLOAD_KEY", "abc"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			t.Setenv(c.key, c.value)
			code, _, errOut := runCLI("serve")
			flagName := "--" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(c.key, "ENSMOCK_")), "_", "-")
			if code != 2 || !strings.Contains(errOut, c.key) || strings.Contains(errOut, flagName) {
				t.Errorf("exit %d, stderr %q: want 2, naming %s and not %s", code, errOut, c.key, flagName)
			}
		})
	}
	// A file named by a variable: the variable is named too.
	t.Run("file", func(t *testing.T) {
		t.Setenv("ENSMOCK_CREDENTIALS", "/nonexistent/credentials.yaml")
		if code, _, errOut := runCLI("serve"); code != 2 || !strings.HasPrefix(errOut, "ensmock serve: ENSMOCK_CREDENTIALS:") {
			t.Errorf("exit %d %q", code, errOut)
		}
	})
	// The command line wins over the environment, and then names the flag.
	t.Run("flag wins", func(t *testing.T) {
		t.Setenv("ENSMOCK_CREDENTIALS", "/nonexistent/a.yaml")
		if code, _, errOut := runCLI("serve", "--credentials", "/nonexistent/b.yaml"); code != 2 || !strings.Contains(errOut, "--credentials: open /nonexistent/b.yaml") {
			t.Errorf("exit %d %q", code, errOut)
		}
	})
}

func TestUnknownVariableWarnsWithTheClosestFlag(t *testing.T) {
	t.Setenv("ENSMOCK_CLOK_SPEED", "60")
	t.Setenv("ENSMOCK_IMAGE", "ensmock:dev") // read by the container tests: no warning
	code, _, errOut := runCLI("serve", "--clock", "sundial")
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut, "warning: ENSMOCK_CLOK_SPEED is not a variable ensmock reads (did you mean ENSMOCK_CLOCK_SPEED?)") {
		t.Errorf("stderr %q", errOut)
	}
	if strings.Contains(errOut, "ENSMOCK_IMAGE") {
		t.Errorf("a known variable warned: %q", errOut)
	}
	// A variable of another command is known: the image sets ENSMOCK_ADDR for
	// serve, and its healthcheck must not warn.
	t.Setenv("ENSMOCK_ADDR", "0.0.0.0:8080")
	_, _, errOut = runCLI("healthcheck", "--timeout", "nope")
	if strings.Contains(errOut, "ENSMOCK_ADDR") {
		t.Errorf("healthcheck warned about serve's variable: %q", errOut)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"ab", "abc", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("%q %q: %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func TestDownloadKeyFormats(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	for _, s := range []string{hexKey, "q83vEjRWeJCrze8SNFZ4kA==", "q83vEjRWeJCrze8SNFZ4kA", "q83vEjRWeJCrze8SNFZ4kA-_"} {
		if _, err := parseKey(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	opts, err := serveOptions("--download-key", hexKey)
	if err != nil || len(opts.DownloadKey) != 32 || opts.DownloadKey[0] != 0xab {
		t.Fatalf("%v %x", err, opts.DownloadKey)
	}
	for _, s := range []string{"", "zz", strings.Repeat("ab", 8-1), strings.Repeat("ab", 65)} {
		if _, err := parseKey(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
