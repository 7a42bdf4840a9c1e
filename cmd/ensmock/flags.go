package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The one definition of how flags meet the environment, shared by every command:
//
//   - each flag has one variable (ENSMOCK_<NAME> by default, dashes become
//     underscores; conform names its target ENS_*); the variable sets the
//     default and a flag on the command line wins;
//   - `-h` lists every flag with its variable and exits 0;
//   - a bad value names where it came from: the flag (--clock-speed) or the
//     variable (ENSMOCK_CLOCK_SPEED), never the other;
//   - a stray argument is an error;
//   - an ENSMOCK_* variable that no command reads gets a warning naming the
//     closest one.
//
// Every configuration error exits 2 (exitConfig), before anything listens.

const exitConfig = 2

// envVar is the default variable of a flag: ENSMOCK_<NAME>.
func envVar(flagName string) string {
	return "ENSMOCK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// command is a flag set bound to the environment.
type command struct {
	fs       *flag.FlagSet
	name     string            // "serve", "conform", ...
	synopsis string            // first line of -h
	about    string            // what the command does, for -h
	after    string            // printed after the flags by -h (exit status, say)
	env      map[string]string // flag name → variable; default envVar(name)
	fromEnv  map[string]bool   // flags whose value came from the environment
	stdout   io.Writer
	stderr   io.Writer
}

func newCommand(name, synopsis, about string, stdout, stderr io.Writer) *command {
	c := &command{fs: flag.NewFlagSet(name, flag.ContinueOnError), name: name, synopsis: synopsis, about: about,
		env: map[string]string{}, fromEnv: map[string]bool{}, stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() { c.usage(c.fs.Output()) }
	return c
}

// variable is the environment variable of flag name.
func (c *command) variable(name string) string {
	if v, ok := c.env[name]; ok {
		return v
	}
	return envVar(name)
}

// variables lists the environment variables the command reads.
func (c *command) variables() []string {
	var out []string
	c.fs.VisitAll(func(f *flag.Flag) { out = append(out, c.variable(f.Name)) })
	return out
}

// source names where flag name's value came from, for error messages.
func (c *command) source(name string) string {
	if c.fromEnv[name] {
		set := false
		c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
		if !set {
			return c.variable(name)
		}
	}
	return "--" + name
}

func (c *command) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags (the environment variable in brackets sets the default; a flag wins):\n", c.synopsis, c.about)
	c.fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s [%s]\n    \t%s%s\n", f.Name, c.variable(f.Name), f.Usage, def)
	})
	if c.after != "" {
		fmt.Fprintf(w, "\n%s\n", c.after)
	}
}

// errHelp: -h was asked for and the usage printed (exit 0).
var errHelp = errors.New("help")

// parse applies the environment, then the command line. It returns errHelp
// after printing the usage for -h, or an error naming the flag or the variable
// whose value is bad.
func (c *command) parse(args []string) error {
	if err := c.applyEnv(); err != nil {
		return err
	}
	return c.parseArgs(args)
}

// applyEnv warns about unknown ENSMOCK_* variables and sets every flag whose
// variable is set.
func (c *command) applyEnv() error {
	known := knownVariables()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ENSMOCK_") && !known[k] {
			fmt.Fprintf(c.stderr, "ensmock: warning: %s is not a variable ensmock reads (did you mean %s?)\n", k, closest(k, known))
		}
	}
	var err error
	c.fs.VisitAll(func(f *flag.Flag) {
		key := c.variable(f.Name)
		v, ok := os.LookupEnv(key)
		if !ok || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", key, v, e)
			return
		}
		c.fromEnv[f.Name] = true
		f.DefValue = v
	})
	return err
}

// parseArgs parses the command line; see parse.
func (c *command) parseArgs(args []string) error {
	if wantsHelp(args) {
		c.fs.SetOutput(c.stdout)
	} else {
		c.fs.SetOutput(io.Discard) // the error is reported below, without the whole usage
	}
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		msg := strings.Replace(err.Error(), "defined: -", "defined: --", 1)
		msg = strings.Replace(msg, "for flag -", "for flag --", 1)
		return fmt.Errorf("%s (ensmock %s -h lists every flag)", msg, c.name)
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (every setting is a --flag; ensmock %s -h lists them)", c.fs.Arg(0), c.name)
	}
	return nil
}

// wantsHelp reports whether args ask for -h before a "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

// exit turns parse's error into the command's exit code, printing what is left
// to print; ok is false when the command must stop.
func (c *command) exit(err error) (code int, ok bool) {
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, errHelp):
		return 0, false
	}
	fmt.Fprintf(c.stderr, "ensmock %s: %v\n", c.name, err)
	return exitConfig, false
}

// commandVariables lists, per command, the variables it reads; filled by
// each command's init so that an unknown ENSMOCK_* variable is recognised
// whatever command runs (the image sets ENSMOCK_ADDR for serve, and its
// healthcheck must not warn about it).
var commandVariables = map[string]func() []string{}

// otherVariables are ENSMOCK_* variables read by something other than a
// command's flags: the project's tests and CI (which set them in the same
// environment as the binary), scripts/dockerd.sh and make screenshots.
var otherVariables = []string{"ENSMOCK_IMAGE", "ENSMOCK_REQUIRE_DOCKER", "ENSMOCK_REQUIRE_NODE", "ENSMOCK_REQUIRE_BROWSER",
	"ENSMOCK_HOSTILE", "ENSMOCK_CHROMIUM", "ENSMOCK_SCREENSHOTS", "ENSMOCK_DOCKERD_DIR", "ENSMOCK_DOCKERD_TIMEOUT"}

func knownVariables() map[string]bool {
	known := map[string]bool{}
	for _, v := range otherVariables {
		known[v] = true
	}
	for _, vars := range commandVariables {
		for _, v := range vars() {
			known[v] = true
		}
	}
	return known
}

// closest is the known ENSMOCK_* variable nearest to k by edit distance.
func closest(k string, known map[string]bool) string {
	best, bestD := "", math.MaxInt
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !strings.HasPrefix(n, "ENSMOCK_") {
			continue
		}
		if d := editDistance(k, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ---- flag values with a range ------------------------------------------------

// intFlag is an integer flag within [min, max].
type intFlag struct {
	p        *int64
	min, max int64
	unit     string // "bytes", "entries", ...
}

func (f *intFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strconv.FormatInt(*f.p, 10)
}

func (f *intFlag) Set(s string) error {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return fmt.Errorf("want a whole number of %s from %d to %d", f.unit, f.min, f.max)
	}
	if v < f.min || v > f.max {
		return fmt.Errorf("%d is out of range: want %s from %d to %d", v, f.unit, f.min, f.max)
	}
	*f.p = v
	return nil
}

func int64Var(fs *flag.FlagSet, p *int64, name string, def, lo, hi int64, unit, usage string) {
	*p = def
	fs.Var(&intFlag{p: p, min: lo, max: hi, unit: unit}, name, fmt.Sprintf("%s (%d to %d)", usage, lo, hi))
}

// floatFlag is a finite number within (min, max] (or [min, max] when minIncluded).
type floatFlag struct {
	p           *float64
	min, max    float64
	minIncluded bool
}

func (f *floatFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f *floatFlag) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	low := v < f.min || (v == f.min && !f.minIncluded)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || low || v > f.max {
		op := ">"
		if f.minIncluded {
			op = "≥"
		}
		return fmt.Errorf("want a number %s %g and ≤ %g", op, f.min, f.max)
	}
	*f.p = v
	return nil
}

// durationFlag is a duration within [min, max].
type durationFlag struct {
	p        *time.Duration
	min, max time.Duration
}

func (f *durationFlag) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.String()
}

func (f *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v < f.min || v > f.max {
		return fmt.Errorf("want a duration from %s to %s, like 2s or 500ms", f.min, f.max)
	}
	*f.p = v
	return nil
}

func durationVar(fs *flag.FlagSet, p *time.Duration, name string, def, lo, hi time.Duration, usage string) {
	*p = def
	fs.Var(&durationFlag{p: p, min: lo, max: hi}, name, fmt.Sprintf("%s (%s to %s)", usage, lo, hi))
}

// choiceFlag is one of a fixed set of words.
type choiceFlag struct {
	p      *string
	values []string
}

func (f *choiceFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f *choiceFlag) Set(s string) error {
	if !slices.Contains(f.values, s) {
		return fmt.Errorf("want %s", strings.Join(f.values, " or "))
	}
	*f.p = s
	return nil
}

func choiceVar(fs *flag.FlagSet, p *string, name, def, usage string, values ...string) {
	*p = def
	fs.Var(&choiceFlag{p: p, values: values}, name, usage)
}
