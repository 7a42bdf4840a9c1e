package mock_test

import (
	"fmt"
	"log"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"

	"github.com/ensmock/ensmock/mock"
	"github.com/ensmock/ensmock/mock/clock"
)

// The official Go SDK (github.com/aliyun/alibaba-cloud-sdk-go, V1 HMAC-SHA1
// signatures) pointed at the mock: set request.Domain to the mock's host:port,
// so the SDK never asks the location service for an endpoint.
func ExampleNewServer_sdkV1() {
	clk := clock.New(clock.Manual, 0, time.Now()) // time moves only when told
	srv, err := mock.NewServer(mock.Options{Clock: clk})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	client, err := ens.NewClientWithAccessKey("cn-hangzhou", "testid", "testsecret")
	if err != nil {
		log.Fatal(err)
	}
	client.SetNoProxy("127.0.0.1") // the SDK would send even loopback through $HTTP_PROXY
	push := ens.CreatePushApplicationDataRequest()
	push.Domain, push.Scheme = srv.Endpoint(), "http"
	push.AppId = "e76f8985-7965-41fc-925b-9648bb6bf650"
	push.Data = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz"}]`
	pushed, err := client.PushApplicationData(push)
	if err != nil {
		log.Fatal(err)
	}
	r := pushed.PushResults.PushResult[0]
	fmt.Println("pushed", r.Name, r.Version, "ResultCode", r.ResultCode)

	_ = clk.Advance(time.Minute) // let the transfers finish

	describe := ens.CreateDescribeDataPushResultRequest()
	describe.Domain, describe.Scheme = srv.Endpoint(), "http"
	describe.AppId = push.AppId
	result, err := client.DescribeDataPushResult(describe)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range result.PushResults.PushResult {
		fmt.Println(f.Name, f.Version, f.StatusStatS.StatusStat[0].Status)
	}
	// Output:
	// pushed app01 1.0 ResultCode 0
	// app01 1.0 SUCCESS
}

// The Darabonba OpenAPI client (github.com/alibabacloud-go/darabonba-openapi/v2,
// what the generated alibabacloud-go ENS client calls; V3 ACS3-HMAC-SHA256
// signatures by default) pointed at the mock with Config.Endpoint and Protocol.
func ExampleNewServer_darabonba() {
	clk := clock.New(clock.Manual, 0, time.Now())
	srv, err := mock.NewServer(mock.Options{Clock: clk})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	client, err := openapi.NewClient(&openapi.Config{
		Endpoint:        tea.String(srv.Endpoint()), // host:port, no scheme
		Protocol:        tea.String("http"),
		AccessKeyId:     tea.String("testid"),
		AccessKeySecret: tea.String("testsecret"),
		NoProxy:         tea.String(srv.Endpoint()), // the SDK would send even loopback through $HTTP_PROXY
		ReadTimeout:     tea.Int(10_000),            // milliseconds; without them the client waits forever
		ConnectTimeout:  tea.Int(5_000),
	})
	if err != nil {
		log.Fatal(err)
	}
	call := func(action string, query map[string]*string) map[string]any {
		params := &openapi.Params{
			Action: tea.String(action), Version: tea.String("2017-11-10"),
			Protocol: tea.String("HTTP"), Pathname: tea.String("/"), Method: tea.String("POST"),
			AuthType: tea.String("AK"), Style: tea.String("RPC"),
			ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
		}
		res, err := client.CallApi(params, &openapi.OpenApiRequest{Query: query}, &dara.RuntimeOptions{})
		if err != nil {
			log.Fatal(err)
		}
		return res["body"].(map[string]any)
	}

	appID := tea.String("e76f8985-7965-41fc-925b-9648bb6bf650")
	body := call("PushApplicationData", map[string]*string{
		"AppId": appID,
		"Data":  tea.String(`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz"}]`),
	})
	r := body["PushResults"].(map[string]any)["PushResult"].([]any)[0].(map[string]any)
	fmt.Println("pushed", r["Name"], r["Version"], "ResultCode", r["ResultCode"])

	_ = clk.Advance(time.Minute)

	body = call("DescribeDataPushResult", map[string]*string{"AppId": appID})
	for _, f := range body["PushResults"].(map[string]any)["PushResult"].([]any) {
		f := f.(map[string]any)
		stat := f["StatusStatS"].(map[string]any)["StatusStat"].([]any)[0].(map[string]any)
		fmt.Println(f["Name"], f["Version"], stat["Status"])
	}
	// Output:
	// pushed app01 1.0 ResultCode 0
	// app01 1.0 SUCCESS
}
