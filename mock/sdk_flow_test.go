package mock_test

// The whole data-distribution workflow of issue 15 with the official clients:
// CreateApplication → ListApplications → PushApplicationData → poll
// DescribeDataPushResult → DistApplicationData with a canary DistStrategy →
// poll DescribeDataDistResult → DescribeDataDownloadURL → DeleteApplication,
// on the mock's manual clock (no sleeps), with SDK1's typed requests (JSON and
// XML) and darabonba CallApi (V3 signature, JSON; XML read as a string),
// including the SDKs' error parsing.

import (
	"encoding/json"
	goxml "encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"

	"github.com/ensmock/ensmock/internal/engine"
	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

const (
	flowTemplate = `{"appMetaData":{"appName":"nginx","clusterName":"poc","appType":"Common","description":"flow"},
		"resourceAttribute":{"instanceSpec":"ens.sn1.tiny","systemDiskSize":20},
		"resourceSelector":[{"regionCode":"cn-chengdu-telecom-4","count":2},{"regionCode":"cn-xiangyang-19","count":1}],
		"workload":[{"name":"nginx","podCount":1}]}`
	flowData     = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://127.0.0.1:1/app01.tar.gz","timeout":1000}]`
	flowDistData = `[{"name":"app01","version":"1.0","destPath":"/root/installed","decompress":true,"fileMode":755,"timeout":1000}]`
	flowCanary   = `{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["cn-xiangyang-19"]}]}}`
)

// flowMock is a mock with auth on, a manual clock, the default topology and a fixed seed.
func flowMock(t *testing.T) (*mock.Server, *clock.Clock) {
	return sdkMockWith(t, func(o *mock.Options) { o.Seed = 15 })
}

func advance(t *testing.T, clk *clock.Clock, d time.Duration) {
	t.Helper()
	if err := clk.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// statusCounts maps each Status of a DescribeDataDistResult file to its InstanceCount,
// checking that the count (a string) agrees with the instances listed.
func statusCounts(t *testing.T, stats []ens.StatusStat) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range stats {
		if n := len(s.Instances.Instance); s.InstanceCount != strconv.Itoa(n) {
			t.Errorf("status %s: InstanceCount %q but %d instances", s.Status, s.InstanceCount, n)
		}
		for _, in := range s.Instances.Instance {
			if in.InstanceId == "" || in.StartTime == "" || in.UpdateTime == "" {
				t.Errorf("instance entry %+v", in)
			}
		}
		out[s.Status] = s.InstanceCount
	}
	return out
}

// sdk1Code reports whether err is a 400 ServerError with code. SDK1 parses
// only JSON error bodies: with XML, ErrorCode is "" and Message the raw body.
func sdk1Code(t *testing.T, err error, format, code string) bool {
	t.Helper()
	if err == nil {
		return false
	}
	se := sdk1Error(t, err)
	if se.HttpStatus() != 400 {
		return false
	}
	if format == "XML" {
		return se.ErrorCode() == "" && strings.Contains(se.Message(), "<Code>"+code+"</Code>")
	}
	return se.ErrorCode() == code && se.RequestId() != ""
}

func TestSDK1Workflow(t *testing.T) {
	for _, format := range []string{"JSON", "XML"} {
		t.Run(format, func(t *testing.T) {
			srv, clk := flowMock(t)
			c := sdk1Client(t, "testid", "testsecret", "")
			ep := srv.Endpoint()
			rpc := func(r *requests.RpcRequest) { r.Domain, r.Scheme, r.AcceptFormat = ep, "http", format }

			// create and list
			cr := ens.CreateCreateApplicationRequest()
			rpc(cr.RpcRequest)
			cr.Template = flowTemplate
			created, err := c.CreateApplication(cr)
			if err != nil {
				t.Fatal(err)
			}
			app := created.AppId
			if app == "" || created.RequestId == "" {
				t.Fatalf("CreateApplication %+v", created)
			}
			lr := ens.CreateListApplicationsRequest()
			rpc(lr.RpcRequest)
			lr.ClusterNames = "poc"
			list, err := c.ListApplications(lr)
			if err != nil {
				t.Fatal(err)
			}
			if list.TotalCount != 1 || len(list.Applications.Application) != 1 || list.Applications.Application[0].ClusterName != "poc" ||
				len(list.Applications.Application[0].AppList.App) != 1 || list.Applications.Application[0].AppList.App[0].AppId != app {
				t.Fatalf("ListApplications %+v", list.Applications)
			}
			var appInfo map[string]any
			if err := json.Unmarshal([]byte(list.Applications.Application[0].AppList.App[0].AppInfo), &appInfo); err != nil || appInfo["AppStatus"] == nil {
				t.Fatalf("AppInfo is not the JSON of an app: %v %v", err, appInfo)
			}

			// push and poll
			pr := ens.CreatePushApplicationDataRequest()
			rpc(pr.RpcRequest)
			pr.AppId, pr.Data = app, flowData
			push, err := c.PushApplicationData(pr)
			if err != nil || push.PushResults.PushResult[0].ResultCode != 0 {
				t.Fatalf("push %+v %v", push, err)
			}
			dpr := ens.CreateDescribeDataPushResultRequest()
			rpc(dpr.RpcRequest)
			dpr.AppId = app
			pushed := func() bool {
				d, err := c.DescribeDataPushResult(dpr)
				if err != nil {
					t.Fatal(err)
				}
				st := d.PushResults.PushResult[0].StatusStatS.StatusStat
				return len(st) == 1 && st[0].Status == "SUCCESS"
			}
			if pushed() {
				t.Fatal("SUCCESS before any time passed")
			}

			// dist before the push completed: refused per file
			// SDK1 keeps a request's parameters between calls (an emptied field is
			// not sent, the old value stays): one request per strategy.
			newDist := func(strategy string) *ens.DistApplicationDataRequest {
				dr := ens.CreateDistApplicationDataRequest()
				rpc(dr.RpcRequest)
				dr.AppId, dr.Data, dr.DistStrategy = app, flowDistData, strategy
				return dr
			}
			dr := newDist(flowCanary)
			early, err := c.DistApplicationData(dr)
			if err != nil {
				t.Fatal(err)
			}
			if r := early.DistResults.DistResult; len(r) != 1 || r[0].ResultCode != engine.DistCodeFail {
				t.Fatalf("dist of data still pushing: %+v", early)
			}
			for i := 0; !pushed(); i++ {
				if i == 10 {
					t.Fatal("the push never completed")
				}
				advance(t, clk, 10*time.Second)
			}

			// canary dist to one region, then poll
			dist, err := c.DistApplicationData(dr)
			if err != nil {
				t.Fatal(err)
			}
			if dist.DistInstanceTotalCount != 1 || len(dist.DistInstanceIds.DistInstanceId) != 1 ||
				len(dist.DistResults.DistResult) != 1 || dist.DistResults.DistResult[0].ResultCode != 0 {
				t.Fatalf("canary dist %+v", dist)
			}
			canaryInstance := dist.DistInstanceIds.DistInstanceId[0]
			ddr := ens.CreateDescribeDataDistResultRequest()
			rpc(ddr.RpcRequest)
			ddr.AppId = app
			describe := func() map[string]string {
				d, err := c.DescribeDataDistResult(ddr)
				if err != nil {
					t.Fatal(err)
				}
				if d.TotalCount != 1 || len(d.DistResults.DistResult) != 1 || d.DistResults.DistResult[0].Name != "app01" {
					t.Fatalf("DescribeDataDistResult %+v", d)
				}
				return statusCounts(t, d.DistResults.DistResult[0].StatusStats.StatusStat)
			}
			if got := describe(); got["DISTING"] != "1" || len(got) != 1 {
				t.Fatalf("right after the canary dist: %v", got)
			}
			advance(t, clk, time.Minute)
			if got := describe(); got["SUCCESS"] != "1" || len(got) != 1 {
				t.Fatalf("canary after a minute: %v", got)
			}

			// filters: EnsRegionIds (one JSON-encoded parameter) and InstanceIds
			regions := []string{"cn-chengdu-telecom-4"}
			ddr.EnsRegionIds = &regions
			if d, err := c.DescribeDataDistResult(ddr); err != nil || d.TotalCount != 0 {
				t.Fatalf("EnsRegionIds filter (no canary there): %+v %v", d, err)
			}
			ddr.EnsRegionIds = nil
			byInstance := ens.CreateDescribeDataDistResultRequest()
			rpc(byInstance.RpcRequest)
			byInstance.AppId, byInstance.InstanceIds = app, canaryInstance
			if d, err := c.DescribeDataDistResult(byInstance); err != nil || d.TotalCount != 1 ||
				statusCounts(t, d.DistResults.DistResult[0].StatusStats.StatusStat)["SUCCESS"] != "1" {
				t.Fatalf("InstanceIds filter: %+v %v", d, err)
			}

			// the rest of the instances
			dr = newDist("")
			all, err := c.DistApplicationData(dr)
			if err != nil || all.DistInstanceTotalCount != 3 {
				t.Fatalf("full dist %+v %v", all, err)
			}
			if got := describe(); got["SUCCESS"] != "1" || got["DISTING"] != "2" {
				t.Fatalf("full dist, canary already done: %v", got)
			}
			advance(t, clk, time.Minute)
			if got := describe(); got["SUCCESS"] != "3" || len(got) != 1 {
				t.Fatalf("full dist after a minute: %v", got)
			}

			// download
			dl := ens.CreateDescribeDataDownloadURLRequest()
			rpc(dl.RpcRequest)
			dl.AppId, dl.DataName, dl.DataVersion = app, "app01", "1.0"
			link, err := c.DescribeDataDownloadURL(dl)
			if err != nil || len(link.Data.ServerList) == 0 {
				t.Fatalf("download URL %+v %v", link, err)
			}
			if status, body := fetchLink(t, link.Data.ServerList[0].Host, link.Data.Url); status != 200 || len(body) != 100 {
				t.Fatalf("download: %d, %d bytes", status, len(body))
			}

			// errors the SDK parses: a strategy that is not the example's shape
			if _, err := c.DistApplicationData(newDist(`{"name":["ScheduleToNowhere"],"parameters":{}}`)); !sdk1Code(t, err, format, "InvalidParameter.DistStrategy") {
				t.Fatalf("bad DistStrategy: %v", err)
			}

			// delete: DELETING, then gone
			del := ens.CreateDeleteApplicationRequest()
			rpc(del.RpcRequest)
			del.AppId = app
			if r, err := c.DeleteApplication(del); err != nil || r.RequestId == "" {
				t.Fatalf("DeleteApplication %+v %v", r, err)
			}
			da := ens.CreateDescribeApplicationRequest()
			rpc(da.RpcRequest)
			da.AppId = app
			desc, err := c.DescribeApplication(da)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				AppMetaData struct{ AppId, AppName string }
				AppStatus   struct{ Phase string }
			}
			if err := json.Unmarshal([]byte(desc.Application), &doc); err != nil || doc.AppMetaData.AppId != app ||
				doc.AppMetaData.AppName != "nginx" || doc.AppStatus.Phase != "DELETING" {
				t.Fatalf("Application while deleting: %v %s", err, desc.Application)
			}
			if got := describe(); got["DELETED"] != "3" {
				t.Fatalf("dist status while deleting: %v", got)
			}
			advance(t, clk, time.Minute)
			for name, call := range map[string]func() error{
				"DescribeApplication":    func() error { _, err := c.DescribeApplication(da); return err },
				"DescribeDataDistResult": func() error { _, err := c.DescribeDataDistResult(ddr); return err },
				"DistApplicationData":    func() error { _, err := c.DistApplicationData(dr); return err },
				"PushApplicationData":    func() error { _, err := c.PushApplicationData(pr); return err },
				"DescribeDataPushResult": func() error { _, err := c.DescribeDataPushResult(dpr); return err },
			} {
				err := call()
				if err == nil {
					t.Errorf("%s after the delete: no error", name)
					continue
				}
				if !sdk1Code(t, err, format, "InvalidParameter.AppId") {
					t.Errorf("%s after the delete: %v", name, err)
				}
			}
			if list, err := c.ListApplications(lr); err != nil || list.TotalCount != 0 {
				t.Fatalf("ListApplications after the delete: %+v %v", list, err)
			}
		})
	}
}

func TestDaraWorkflow(t *testing.T) {
	srv, clk := flowMock(t)
	c := daraClient(t, srv.Endpoint(), "", "testid", "testsecret", "") // V3 ACS3-HMAC-SHA256
	call := func(action string, q map[string]string) any {
		t.Helper()
		res, err := daraCall(c, action, q, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return res["body"]
	}
	app, _ := daraPath(call("CreateApplication", map[string]string{"Template": flowTemplate}), "AppId").(string)
	if app == "" {
		t.Fatal("no AppId")
	}
	if id := daraPath(call("ListApplications", nil), "Applications", "Application", 0, "AppList", "App", 0, "AppId"); id != app {
		t.Fatalf("ListApplications lists %v", id)
	}
	call("PushApplicationData", map[string]string{"AppId": app, "Data": flowData})
	advance(t, clk, time.Minute)
	if st := daraPath(call("DescribeDataPushResult", map[string]string{"AppId": app}), "PushResults", "PushResult", 0, "StatusStatS", "StatusStat", 0, "Status"); st != "SUCCESS" {
		t.Fatalf("push status %v", st)
	}
	one, _ := json.Marshal([]string{"cn-chengdu-telecom-4"})
	canary := `{"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["cn-chengdu-telecom-4"]}]}}`
	body := call("DistApplicationData", map[string]string{"AppId": app, "Data": flowDistData, "DistStrategy": canary})
	if n, _ := daraInt(daraPath(body, "DistInstanceTotalCount")); n != 2 {
		t.Fatalf("canary dist: %v", body)
	}
	q := map[string]string{"AppId": app, "EnsRegionIds": string(one), "PageNumber": "1", "PageSize": "10"}
	if st := daraPath(call("DescribeDataDistResult", q), "DistResults", "DistResult", 0, "StatusStats", "StatusStat", 0); daraPath(st, "Status") != "DISTING" || daraPath(st, "InstanceCount") != "2" {
		t.Fatalf("dist status %v", st)
	}
	advance(t, clk, time.Minute)
	st := daraPath(call("DescribeDataDistResult", q), "DistResults", "DistResult", 0, "StatusStats", "StatusStat", 0)
	if daraPath(st, "Status") != "SUCCESS" || daraPath(st, "InstanceCount") != "2" {
		t.Fatalf("dist status %v", st)
	}

	// XML: the same describe, read as a string and decoded into SDK1's typed response.
	xml := &openapi.OpenApiRequest{Query: map[string]*string{"AppId": tea.String(app), "Format": tea.String("XML")}}
	params := &openapi.Params{
		Action: tea.String("DescribeDataDistResult"), Version: tea.String("2017-11-10"), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("string"),
	}
	res, err := c.CallApi(params, xml, &dara.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := res["body"].(string)
	var x ens.DescribeDataDistResultResponse
	if err := goxml.Unmarshal([]byte(raw), &x); err != nil || x.TotalCount != 1 ||
		len(x.DistResults.DistResult) != 1 || len(x.DistResults.DistResult[0].StatusStats.StatusStat) != 1 ||
		x.DistResults.DistResult[0].StatusStats.StatusStat[0].InstanceCount != "2" {
		t.Fatalf("XML %v %+v\n%s", err, x, raw)
	}

	// download, delete, and the errors DARA parses
	res, err = daraCallMethod(c, "GET", "DescribeDataDownloadURL", map[string]string{"AppId": app, "DataName": "app01", "DataVersion": "1.0"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := daraPath(res["body"], "Data", "ServerList", 0, "Host").(string)
	path, _ := daraPath(res["body"], "Data", "Url").(string)
	if status, b := fetchLink(t, host, path); status != 200 || len(b) != 100 {
		t.Fatalf("download %d %d", status, len(b))
	}
	_, err = daraCall(c, "DistApplicationData", map[string]string{"AppId": app}, nil, nil)
	if se := daraError(t, err); tea.StringValue(se.Code) != "MissingParameter" || tea.IntValue(se.StatusCode) != 400 {
		t.Fatalf("missing Data: %v", err)
	}
	call("DeleteApplication", map[string]string{"AppId": app})
	advance(t, clk, time.Minute)
	_, err = daraCall(c, "DescribeDataDistResult", map[string]string{"AppId": app}, nil, nil)
	if se := daraError(t, err); tea.StringValue(se.Code) != "InvalidParameter.AppId" {
		t.Fatalf("describe after delete: %v", err)
	}
	var se *tea.SDKError
	if _, err := daraCall(c, "DeleteApplication", map[string]string{"AppId": app}, nil, nil); !errors.As(err, &se) {
		t.Fatalf("second delete: %v", err)
	}
}

// TestStateShowsInstancesAndDists: the control plane's /_ensmock/state lists
// an app's phase, instances and per-instance dist status.
func TestStateShowsInstancesAndDists(t *testing.T) {
	srv, clk := flowMock(t)
	c := daraClient(t, srv.Endpoint(), "", "testid", "testsecret", "")
	res, err := daraCall(c, "CreateApplication", map[string]string{"Template": flowTemplate}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := daraPath(res["body"], "AppId").(string)
	if _, err := daraCall(c, "PushApplicationData", map[string]string{"AppId": app, "Data": flowData}, nil, nil); err != nil {
		t.Fatal(err)
	}
	advance(t, clk, time.Minute)
	if _, err := daraCall(c, "DistApplicationData", map[string]string{"AppId": app, "Data": flowDistData, "DistStrategy": flowCanary}, nil, nil); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(srv.URL() + "/_ensmock/state?account=testid")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Accounts []struct {
			Apps []struct {
				AppID     string
				Phase     string
				Instances []struct{ InstanceID, RegionID string }
				Dists     []struct {
					Name     string
					Replicas []struct{ InstanceID, Region, Status string }
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Accounts) != 1 || len(st.Accounts[0].Apps) != 1 {
		t.Fatalf("state %+v", st)
	}
	a := st.Accounts[0].Apps[0]
	if a.AppID != app || a.Phase != "RUNNING" || len(a.Instances) != 3 || len(a.Dists) != 1 ||
		len(a.Dists[0].Replicas) != 1 || a.Dists[0].Replicas[0].Region != "cn-xiangyang-19" || a.Dists[0].Replicas[0].Status != "DISTING" {
		t.Fatalf("app state %+v", a)
	}
}

// TestStrictAppsAcceptsCreatedApplications: with strict apps (--apps strict)
// an AppId exists once CreateApplication made it, and only then.
func TestStrictAppsAcceptsCreatedApplications(t *testing.T) {
	srv, clk := sdkMockWith(t, func(o *mock.Options) { o.StrictApps = true })
	c := daraClient(t, srv.Endpoint(), "", "testid", "testsecret", "")
	_, err := daraCall(c, "PushApplicationData", map[string]string{"AppId": "never-created", "Data": flowData}, nil, nil)
	if se := daraError(t, err); tea.StringValue(se.Code) != "InvalidParameter.AppId" {
		t.Fatalf("push to an unknown app in strict mode: %v", err)
	}
	res, err := daraCall(c, "CreateApplication", map[string]string{"Template": flowTemplate}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := daraPath(res["body"], "AppId").(string)
	if _, err := daraCall(c, "PushApplicationData", map[string]string{"AppId": app, "Data": flowData}, nil, nil); err != nil {
		t.Fatalf("push to a created app in strict mode: %v", err)
	}
	advance(t, clk, time.Minute)
	res, err = daraCall(c, "DistApplicationData", map[string]string{"AppId": app, "Data": flowDistData}, nil, nil)
	if n, _ := daraInt(daraPath(res["body"], "DistInstanceTotalCount")); err != nil || n != 3 {
		t.Fatalf("dist in strict mode: %v %v", res["body"], err)
	}
}
