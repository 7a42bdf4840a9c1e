package mock_test

// The promise of issue 13 item 2, proven with the official SDKs as users call
// them: signatures are checked against the machine's time, so however the
// mock's clock is moved (advanced by hours or days, or left standing while the
// machine's time passes), SDK1, DARA V3 and DARA V1 keep working; everything
// in the domain (transfers, download-link expiry) follows the mock's clock.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// sdkUser is one official client, as a user calls it. Each call returns the
// error code the SDK parsed ("" on success).
type sdkUser struct {
	name string
	// push pushes sdkData and returns the file's ResultCode.
	push func(t *testing.T) (int, string)
	// status is the file's first Status in DescribeDataPushResult.
	status func(t *testing.T) (string, string)
	// link is DescribeDataDownloadURL's Url and the Host of its first server.
	link func(t *testing.T) (path, host, code string)
}

func sdkUsers(t *testing.T, endpoint string) []sdkUser {
	sdk1 := sdk1Client(t, "testid", "testsecret", "")
	users := []sdkUser{{
		name: "SDK1",
		push: func(t *testing.T) (int, string) {
			r, err := sdk1Push(sdk1, endpoint, "")
			if err != nil {
				return 0, sdk1Error(t, err).ErrorCode()
			}
			if len(r.PushResults.PushResult) != 1 {
				t.Fatalf("push results %+v", r.PushResults)
			}
			return r.PushResults.PushResult[0].ResultCode, ""
		},
		status: func(t *testing.T) (string, string) {
			r, err := sdk1Describe(sdk1, endpoint, "")
			if err != nil {
				return "", sdk1Error(t, err).ErrorCode()
			}
			if len(r.PushResults.PushResult) != 1 || len(r.PushResults.PushResult[0].StatusStatS.StatusStat) == 0 {
				t.Fatalf("describe %+v", r.PushResults)
			}
			return r.PushResults.PushResult[0].StatusStatS.StatusStat[0].Status, ""
		},
		link: func(t *testing.T) (string, string, string) {
			req := ens.CreateDescribeDataDownloadURLRequest()
			req.Domain, req.Scheme = endpoint, "http"
			req.AppId, req.DataName, req.DataVersion = sdkAppID, "app01", "1.0"
			r, err := sdk1.DescribeDataDownloadURL(req)
			if err != nil {
				return "", "", sdk1Error(t, err).ErrorCode()
			}
			if len(r.Data.ServerList) == 0 {
				t.Fatalf("download URL %+v", r.Data)
			}
			return r.Data.Url, r.Data.ServerList[0].Host, ""
		},
	}}
	for _, m := range daraModes {
		c := daraClient(t, endpoint, m.alg, "testid", "testsecret", "")
		call := func(t *testing.T, method, action string, query map[string]string) (any, string) {
			res, err := daraCallMethod(c, method, action, query, nil, nil)
			if err != nil {
				return nil, tea.StringValue(daraError(t, err).Code)
			}
			return res["body"], ""
		}
		users = append(users, sdkUser{
			name: "DARA-" + m.name,
			push: func(t *testing.T) (int, string) {
				body, code := call(t, "POST", "PushApplicationData", map[string]string{"AppId": sdkAppID, "Data": sdkData})
				if code != "" {
					return 0, code
				}
				rc := daraPath(body, "PushResults", "PushResult", 0, "ResultCode")
				n, err := daraInt(rc)
				if err != nil {
					t.Fatalf("ResultCode %v (%T): %v", rc, rc, body)
				}
				return n, ""
			},
			status: func(t *testing.T) (string, string) {
				body, code := call(t, "POST", "DescribeDataPushResult", map[string]string{"AppId": sdkAppID})
				if code != "" {
					return "", code
				}
				st, _ := daraPath(body, "PushResults", "PushResult", 0, "StatusStatS", "StatusStat", 0, "Status").(string)
				return st, ""
			},
			link: func(t *testing.T) (string, string, string) {
				body, code := call(t, "GET", "DescribeDataDownloadURL", map[string]string{"AppId": sdkAppID, "DataName": "app01", "DataVersion": "1.0"})
				if code != "" {
					return "", "", code
				}
				u, _ := daraPath(body, "Data", "Url").(string)
				h, _ := daraPath(body, "Data", "ServerList", 0, "Host").(string)
				return u, h, ""
			},
		})
	}
	return users
}

// daraInt reads a ResultCode DARA decoded as json.Number or float64.
func daraInt(v any) (int, error) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Int64()
		return int(n), err
	case float64:
		return int(v), nil
	}
	return 0, fmt.Errorf("not a number")
}

// fetchLink GETs a download link on host (which must be the loopback mock).
func fetchLink(t *testing.T, host, path string) (int, []byte) {
	t.Helper()
	if !strings.HasPrefix(host, "127.0.0.1:") {
		t.Fatalf("download host %q is not the loopback mock", host)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + host + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// sdkFullCycle pushes, waits on the mock's clock, describes, pushes again and
// downloads, failing on any SDK error.
func sdkFullCycle(t *testing.T, u sdkUser, clk *clock.Clock) (path, host string) {
	t.Helper()
	if code, e := u.push(t); e != "" || code != 0 {
		t.Fatalf("first push: ResultCode %d, error %q", code, e)
	}
	if err := clk.Advance(time.Minute); err != nil { // transfers take seconds of the mock's time
		t.Fatal(err)
	}
	if st, e := u.status(t); e != "" || st != "SUCCESS" {
		t.Fatalf("describe: %q, error %q", st, e)
	}
	if code, e := u.push(t); e != "" || code != 100 {
		t.Fatalf("second push: ResultCode %d, error %q", code, e)
	}
	path, host, e := u.link(t)
	if e != "" || path == "" {
		t.Fatalf("download URL: %q, error %q", path, e)
	}
	status, body := fetchLink(t, host, path)
	if status != 200 || len(body) != 100 {
		t.Fatalf("GET of the link: %d, %d bytes, want 200 and the file's 100 bytes", status, len(body))
	}
	return path, host
}

// TestSDKClockAdvancedByHoursAndDays: after the manual clock is advanced by 2
// hours, or by 3 days, every SDK pushes, describes and downloads; the download
// link expires on the mock's clock while SDK calls keep working.
func TestSDKClockAdvancedByHoursAndDays(t *testing.T) {
	for _, jump := range []time.Duration{2 * time.Hour, 3 * 24 * time.Hour} {
		srv, clk := sdkMock(t)
		for _, u := range sdkUsers(t, srv.Endpoint()) {
			t.Run(fmt.Sprintf("%s/+%s", u.name, jump), func(t *testing.T) {
				srv.Engine().Reset("")
				if err := clk.Advance(jump); err != nil {
					t.Fatal(err)
				}
				path, host := sdkFullCycle(t, u, clk)

				// The link lives DownloadURLLifetime on the mock's clock: past it the
				// GET is refused, and the SDKs, signing with the machine's time, still work.
				if err := clk.Advance(mock.DownloadURLLifetime + time.Minute); err != nil {
					t.Fatal(err)
				}
				if status, body := fetchLink(t, host, path); status != http.StatusForbidden || !strings.Contains(string(body), "expired") {
					t.Fatalf("expired link: %d %s", status, body)
				}
				if st, e := u.status(t); e != "" || st != "SUCCESS" {
					t.Fatalf("describe after the link expired: %q, error %q", st, e)
				}
				path, host, e := u.link(t)
				if e != "" {
					t.Fatalf("a new link: %s", e)
				}
				if status, _ := fetchLink(t, host, path); status != 200 {
					t.Fatalf("GET of the new link: %d", status)
				}
			})
		}
	}
}

// TestSDKManualClockStillFor20Minutes: a manual clock that stood still while
// 20 minutes of the machine's time passed (the mock reads a fake machine time
// that was 20 minutes behind when the clock was made, then catches up with the
// real time the SDKs sign with) does not break any SDK call; with the window on
// the mock's clock (TimestampMock) the same setup is refused, so the test is
// about the case that used to fail.
func TestSDKManualClockStillFor20Minutes(t *testing.T) {
	frozen := func(t *testing.T, tsClock string) (*mock.Server, *clock.Clock, time.Time) {
		var wall fakeWall
		wall.set(-20 * time.Minute)
		clk := clock.NewWithWall(clock.Manual, 0, time.Time{}, wall.now) // starts at the machine's time, 20 minutes ago
		start := clk.Now()
		srv, _ := sdkMockWith(t, func(o *mock.Options) { o.Clock, o.TimestampClock = clk, tsClock })
		wall.set(0) // 20 minutes of the machine's time have passed
		if got := clk.Wall().Sub(clk.Now()); got < 20*time.Minute || !clk.Now().Equal(start) {
			t.Fatalf("the manual clock is %s behind the machine's time (moved: %v), want 20m still", got, !clk.Now().Equal(start))
		}
		return srv, clk, start
	}
	t.Run("wall", func(t *testing.T) {
		srv, clk, start := frozen(t, "")
		for _, u := range sdkUsers(t, srv.Endpoint()) {
			t.Run(u.name, func(t *testing.T) {
				srv.Engine().Reset("")
				sdkFullCycle(t, u, clk)
			})
		}
		if got := clk.Now(); !got.Equal(start.Add(3 * time.Minute)) {
			t.Errorf("the mock's clock is at %s, want only the test's three advances", got.Sub(start))
		}
	})
	t.Run("mock", func(t *testing.T) {
		srv, _, _ := frozen(t, mock.TimestampMock)
		for _, u := range sdkUsers(t, srv.Endpoint()) {
			if _, e := u.push(t); e != "InvalidTimeStamp.Expired" {
				t.Errorf("%s on a clock 20 minutes behind, TimestampMock: %q, want InvalidTimeStamp.Expired", u.name, e)
			}
		}
	})
}

// TestSDKSkewedServer: with the window on the mock's clock (TimestampMock, for
// skewed-server tests) and the clock 2 hours ahead, every SDK call fails with
// InvalidTimeStamp.Expired and changes nothing; with the default window the same
// clock works (TestSDKClockAdvancedByHoursAndDays).
func TestSDKSkewedServer(t *testing.T) {
	srv, clk := sdkMockWith(t, func(o *mock.Options) { o.TimestampClock = mock.TimestampMock })
	if err := clk.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, u := range sdkUsers(t, srv.Endpoint()) {
		if _, e := u.push(t); e != "InvalidTimeStamp.Expired" {
			t.Errorf("%s push: %q, want InvalidTimeStamp.Expired", u.name, e)
		}
		if _, e := u.status(t); e != "InvalidTimeStamp.Expired" {
			t.Errorf("%s describe: %q, want InvalidTimeStamp.Expired", u.name, e)
		}
	}
	if n := dataFilesIn(srv); n != 0 {
		t.Errorf("refused pushes changed state: %d files", n)
	}
}
