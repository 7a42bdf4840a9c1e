package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

func init() {
	commandVariables["healthcheck"] = func() []string {
		var f healthFlags
		return healthCommand(&f, io.Discard, io.Discard).variables()
	}
}

type healthFlags struct {
	url     string
	timeout time.Duration
}

func healthCommand(f *healthFlags, stdout, stderr io.Writer) *command {
	c := newCommand("healthcheck", "ensmock healthcheck [flags]",
		"Exits 0 when a mock answers its health URL with 200, 1 otherwise: the container image's HEALTHCHECK (it has no shell or curl).", stdout, stderr)
	c.fs.StringVar(&f.url, "url", "http://127.0.0.1:8080/_ensmock/health", "health URL")
	durationVar(c.fs, &f.timeout, "timeout", 2*time.Second, time.Millisecond, time.Minute, "give up after")
	return c
}

// healthcheck probes /_ensmock/health.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	var f healthFlags
	c := healthCommand(&f, stdout, stderr)
	if code, ok := c.exit(c.parse(args)); !ok {
		return code
	}
	client := &http.Client{Timeout: f.timeout}
	resp, err := client.Get(f.url)
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: %s %s\n", resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: %s\n", body)
	return 0
}
