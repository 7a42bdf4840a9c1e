package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The crash test (issue 17): the real binary on a data dir, a load of pushes,
// SIGKILL at a seeded point (counted in answered requests, not in time), a
// restart on the same directory, and every push answered ResultCode 0 before
// the kill must be there with its replicas. `make test` runs 10 kill points,
// `make test-crash` 50.
var crashPoints = flag.Int("crash-points", 10, "kill points of TestCrashKeepsAcknowledgedPushes")

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ensmockBinary builds this command once per test process.
func ensmockBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ensmock-crash-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ensmock")
		gobin, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		out, err := exec.Command(gobin, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is one running `ensmock serve`.
type proc struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCrashServe starts the binary on a port the kernel picks and returns
// once /_ensmock/health answers 200: it waits for the "ensmock listening" log
// line (an event, not a timer), takes the URL from it, then polls health a
// bounded number of times.
func startCrashServe(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...)...)
	pr, pw := io.Pipe()
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			var m struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "ensmock listening" {
				once.Do(func() { listening <- m.URL })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { err := cmd.Wait(); pw.Close(); p.exited <- err }()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	select {
	case p.base = <-listening:
	case err := <-p.exited:
		t.Fatalf("ensmock exited before listening: %v\n%s", err, p.stderr.String())
	case <-deadline.C:
		_ = cmd.Process.Kill()
		t.Fatalf("ensmock did not start within 60s\n%s", p.stderr.String())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ; i++ {
		resp, err := client.Get(p.base + "/_ensmock/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if i == 50 {
			_ = cmd.Process.Kill()
			t.Fatalf("health never answered 200: %v\n%s", err, p.stderr.String())
		}
	}
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

const crashRegion = "cn-wuxi-5" // two file servers: every acknowledged file has two replicas

type crashState struct {
	Now      time.Time `json:"now"`
	Accounts []struct {
		Account string `json:"account"`
		Apps    []struct {
			AppID     string `json:"appId"`
			Instances []struct {
				InstanceID string `json:"instanceId"`
			} `json:"instances"`
			Dists []struct {
				Name     string `json:"name"`
				Replicas []struct {
					Attempt int `json:"attempt"`
				} `json:"replicas"`
			} `json:"dists"`
			Files []struct {
				Name     string `json:"name"`
				Version  string `json:"version"`
				Attempts int    `json:"attempts"`
				Replicas []struct {
					Server string `json:"server"`
					Region string `json:"region"`
				} `json:"replicas"`
			} `json:"files"`
		} `json:"apps"`
	} `json:"accounts"`
}

func TestCrashKeepsAcknowledgedPushes(t *testing.T) {
	bin := ensmockBinary(t)
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--clock", "manual", "--auth", "off"}
	client := &http.Client{Timeout: 10 * time.Second}
	acked := map[string]bool{}      // "app/name": answered ResultCode 0 before a kill
	var ackedClock time.Time        // the latest clock an acknowledged advance showed
	ackedRules := map[string]bool{} // fault rules whose POST answered 201
	ackedApps := map[string]bool{}  // AppIds CreateApplication answered
	ackedDists := map[string]bool{} // "app/name": DistApplicationData answered ResultCode 0
	p := startCrashServe(t, bin, args...)
	for point := range *crashPoints {
		rng := rand.New(rand.NewPCG(uint64(point)+1, 17))
		killAt := int64(5 + rng.IntN(150))
		app := fmt.Sprintf("app-%d", point)
		var answered atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		var killOnce sync.Once
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					if w == 0 && n%10 == 9 { // now and then an acknowledged clock advance
						resp, err := client.Post(p.base+"/_ensmock/clock/advance", "application/json", strings.NewReader(`{"by":"1s"}`))
						if err != nil {
							return
						}
						var c struct{ Now time.Time }
						err = json.NewDecoder(resp.Body).Decode(&c)
						resp.Body.Close()
						if err == nil && resp.StatusCode == 200 {
							mu.Lock()
							if c.Now.After(ackedClock) {
								ackedClock = c.Now
							}
							mu.Unlock()
						}
					}
					if w == 1 && n%10 == 4 { // and an acknowledged fault rule (it matches no push of the test)
						id := fmt.Sprintf("p%d-n%d", point, n)
						resp, err := client.Post(p.base+"/_ensmock/faults", "application/json",
							strings.NewReader(`{"id":"`+id+`","match":{"name":"never-*"},"effect":"corrupt"}`))
						if err != nil {
							return
						}
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode == 201 {
							mu.Lock()
							ackedRules[id] = true
							mu.Unlock()
						}
					}
					if w == 2 && n%10 == 7 { // and an application, a push to it and a dist
						if !crashAppFlow(client, p.base, &mu, ackedApps, ackedDists) {
							return
						}
					}
					names := []string{fmt.Sprintf("w%d-n%d-a", w, n), fmt.Sprintf("w%d-n%d-b", w, n)}
					data, _ := json.Marshal([]map[string]any{
						{"name": names[0], "version": "1", "size": 1024, "url": "http://127.0.0.1/x"},
						{"name": names[1], "version": "1", "size": 2048, "url": "http://127.0.0.1/y"},
					})
					q := url.Values{"Action": {"PushApplicationData"}, "Version": {"2017-11-10"}, "Format": {"JSON"},
						"AppId": {app}, "Data": {string(data)},
						"PushStrategy": {`{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["` + crashRegion + `"]}}`}}
					resp, err := client.Get(p.base + "/?" + q.Encode())
					if err != nil {
						return // killed: no answer, no promise
					}
					var body struct {
						PushResults struct {
							PushResult []struct {
								Name       string
								ResultCode int
							}
						}
					}
					err = json.NewDecoder(resp.Body).Decode(&body)
					resp.Body.Close()
					if err != nil {
						return
					}
					if resp.StatusCode != 200 {
						t.Errorf("push answered %d", resp.StatusCode)
						return
					}
					mu.Lock()
					for _, r := range body.PushResults.PushResult {
						if r.ResultCode == 0 {
							acked[app+"/"+r.Name] = true
						}
					}
					mu.Unlock()
					if answered.Add(1) >= killAt {
						killOnce.Do(func() { p.kill(t) })
						return
					}
				}
			}()
		}
		wg.Wait()
		killOnce.Do(func() { p.kill(t) })
		if t.Failed() {
			return
		}

		// Restart on the same directory: it opens (corruption would refuse it,
		// exit 2), and every acknowledged push is there with its replicas.
		p = startCrashServe(t, bin, args...)
		resp, err := client.Get(p.base + "/_ensmock/state")
		if err != nil {
			t.Fatal(err)
		}
		var st crashState
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("kill point %d: state: %v", point, err)
		}
		have := map[string]int{}
		apps, dists := map[string]bool{}, map[string]bool{}
		for _, a := range st.Accounts {
			for _, ap := range a.Apps {
				if len(ap.Instances) == 1 {
					apps[ap.AppID] = true
				}
				for _, d := range ap.Dists {
					if len(d.Replicas) == 1 && d.Replicas[0].Attempt == 1 {
						dists[ap.AppID+"/"+d.Name] = true
					}
				}
				for _, f := range ap.Files {
					for _, r := range f.Replicas {
						if r.Region != crashRegion {
							t.Fatalf("kill point %d: %s/%s has a replica in %s", point, ap.AppID, f.Name, r.Region)
						}
					}
					if f.Attempts < 1 {
						t.Fatalf("kill point %d: %s/%s has %d attempts", point, ap.AppID, f.Name, f.Attempts)
					}
					have[ap.AppID+"/"+f.Name] = len(f.Replicas)
				}
			}
		}
		lost := 0
		for k := range acked {
			if have[k] != 2 {
				lost++
				if lost <= 5 {
					t.Errorf("kill point %d (after %d answers): acknowledged push %s came back with %d replicas", point, killAt, k, have[k])
				}
			}
		}
		if lost > 0 {
			t.Fatalf("kill point %d: %d of %d acknowledged pushes lost", point, lost, len(acked))
		}
		for id := range ackedApps {
			if !apps[id] {
				t.Fatalf("kill point %d: acknowledged application %s (one instance) is not back", point, id)
			}
		}
		for k := range ackedDists {
			if !dists[k] {
				t.Fatalf("kill point %d: acknowledged dist %s (one instance replica) is not back", point, k)
			}
		}
		resp, err = client.Get(p.base + "/_ensmock/faults")
		if err != nil {
			t.Fatal(err)
		}
		var fl struct{ Faults []struct{ ID string } }
		err = json.NewDecoder(resp.Body).Decode(&fl)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("kill point %d: faults: %v", point, err)
		}
		rules := map[string]bool{}
		for _, f := range fl.Faults {
			rules[f.ID] = true
		}
		for id := range ackedRules {
			if !rules[id] {
				t.Fatalf("kill point %d: acknowledged fault rule %s is gone", point, id)
			}
		}
		if st.Now.Before(ackedClock) {
			t.Fatalf("kill point %d: the clock came back at %s, before the acknowledged %s", point, st.Now, ackedClock)
		}
		t.Logf("kill point %d: killed after %d answers; %d acknowledged files, %d stored; %d acknowledged fault rules; %d apps, %d dists",
			point, killAt, len(acked), len(have), len(ackedRules), len(ackedApps), len(ackedDists))
	}
	// A clean stop commits and releases the store: a last start opens it.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Fatalf("clean stop: %v\n%s", err, p.stderr.String())
	}
	p = startCrashServe(t, bin, args...)
	p.kill(t)
}

// crashAppFlow creates an application with one instance in crashRegion,
// pushes a file to it, advances the clock past the push and distributes the
// file, recording what was acknowledged. It returns false once the server is
// gone (killed).
func crashAppFlow(client *http.Client, base string, mu *sync.Mutex, apps, dists map[string]bool) bool {
	call := func(kv ...string) (map[string]any, bool) {
		q := url.Values{"Version": {"2017-11-10"}, "Format": {"JSON"}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		resp, err := client.Get(base + "/?" + q.Encode())
		if err != nil {
			return nil, false
		}
		defer resp.Body.Close()
		var m map[string]any
		if json.NewDecoder(resp.Body).Decode(&m) != nil || resp.StatusCode != 200 {
			return nil, false
		}
		return m, true
	}
	m, ok := call("Action", "CreateApplication", "Template", `{"appMetaData":{"appName":"crash"},"resourceSelector":[{"regionCode":"`+crashRegion+`","count":1}]}`)
	if !ok {
		return false
	}
	id, _ := m["AppId"].(string)
	if id == "" {
		return false
	}
	mu.Lock()
	apps[id] = true
	mu.Unlock()
	if _, ok := call("Action", "PushApplicationData", "AppId", id, "Data", `[{"name":"d","version":"1","size":1024,"url":"http://127.0.0.1/d"}]`,
		"PushStrategy", `{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["`+crashRegion+`"]}}`); !ok {
		return false
	}
	resp, err := client.Post(base+"/_ensmock/clock/advance", "application/json", strings.NewReader(`{"by":"1m"}`))
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	m, ok = call("Action", "DistApplicationData", "AppId", id, "Data", `[{"name":"d","version":"1"}]`)
	if !ok {
		return false
	}
	if rs, _ := m["DistResults"].(map[string]any); rs != nil {
		list, _ := rs["DistResult"].([]any)
		for _, r := range list {
			if r, _ := r.(map[string]any); r != nil && r["ResultCode"] == float64(0) {
				mu.Lock()
				dists[id+"/d"] = true
				mu.Unlock()
			}
		}
	}
	return true
}

// A data dir that is not a readable store is refused at start: exit 2, a
// clear message, the file left as it was.
func TestDataDirRefusedExit2(t *testing.T) {
	bin := ensmockBinary(t)
	dir := t.TempDir()
	junk := bytes.Repeat([]byte("corrupt "), 4096)
	path := filepath.Join(dir, "ensmock.db")
	if err := os.WriteFile(path, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "not a readable ensmock store") {
		t.Fatalf("exit %v, stderr %s; want exit 2 and a clear message", err, stderr.String())
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, junk) {
		t.Fatal("the refused file was changed")
	}
}
