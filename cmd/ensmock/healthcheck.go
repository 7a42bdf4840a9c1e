package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck probes /_ensmock/health: the container image's HEALTHCHECK (no shell or curl there).
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/_ensmock/health", "health URL")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after")
	if err := envFlags(fs); err != nil {
		fmt.Fprintln(stderr, "ensmock:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(*url)
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
