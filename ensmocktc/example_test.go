package ensmocktc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ens"
	"github.com/testcontainers/testcontainers-go"

	"github.com/ensmock/ensmock/ensmocktc"
)

// Start the image (`make image` builds ensmock:dev), point the official SDK at it
// and push. Needs a Docker engine, so it is compiled but not run by `go test`.
func ExampleRun() {
	ctx := context.Background()
	ctr, err := ensmocktc.Run(ctx, ensmocktc.DefaultImage,
		ensmocktc.WithClock("manual"),           // time moves only through the control plane
		ensmocktc.WithScenario("scenario.yaml"), // faults in force from the start
	)
	defer func() {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			log.Print(err)
		}
	}()
	if err != nil {
		log.Fatal(err)
	}

	endpoint, err := ctr.Endpoint(ctx, "") // 127.0.0.1:PORT
	if err != nil {
		log.Fatal(err)
	}
	client, err := ens.NewClientWithAccessKey("cn-hangzhou", "testid", "testsecret")
	if err != nil {
		log.Fatal(err)
	}
	req := ens.CreatePushApplicationDataRequest()
	req.Domain, req.Scheme = endpoint, "http" // the container; never the location service
	req.AppId = "e76f8985-7965-41fc-925b-9648bb6bf650"
	req.Data = `[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.invalid/app01.tar.gz","timeout":1000}]`
	resp, err := client.PushApplicationData(req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.PushResults.PushResult[0].ResultCode)

	// The control plane (clock, faults, state, journal) for conformance.Config
	// or plain HTTP: controlURL + "/_ensmock/clock/advance".
	controlURL, _ := ctr.ControlURL(ctx)
	fmt.Println(controlURL)
}
