package conformance

import (
	"net/http"
	"strings"
	"testing"
)

func answer(status int, ctype, body string) *exchange {
	return &exchange{Status: status, RespHeader: http.Header{"Content-Type": {ctype}}, RespBody: []byte(body), Format: "JSON"}
}

// TestCheckResponse: the documented response schema judges types, required
// fields, enums, the content type and the XML root; unknown fields pass.
func TestCheckResponse(t *testing.T) {
	const js = "application/json;charset=utf-8"
	const xmlType = "text/xml;charset=utf-8"
	good := `{"RequestId":"R","PushResults":{"PushResult":[{"Name":"a","Version":"1","ResultCode":0,"ResultDescrip":"ok"}]}}`
	for _, tc := range []struct {
		name, action string
		ex           *exchange
		ok           bool
	}{
		{"a push", "PushApplicationData", answer(200, js, good), true},
		{"an unknown field", "PushApplicationData", answer(200, "application/json", strings.Replace(good, `"RequestId"`, `"Extra":1,"RequestId"`, 1)), true},
		{"ResultCode as a string", "PushApplicationData", answer(200, js, strings.Replace(good, `"ResultCode":0`, `"ResultCode":"0"`, 1)), false},
		{"ResultCode 1", "PushApplicationData", answer(200, js, strings.Replace(good, `"ResultCode":0`, `"ResultCode":1`, 1)), false},
		{"no RequestId", "PushApplicationData", answer(200, js, strings.Replace(good, `"RequestId":"R",`, ``, 1)), false},
		{"JSON as text/plain", "PushApplicationData", answer(200, "text/plain", good), false},
		{"an error", "PushApplicationData", answer(400, js, `{"RequestId":"R","HostId":"h","Code":"C","Message":"m","Recommend":""}`), true},
		{"an error without Recommend", "PushApplicationData", answer(400, js, `{"RequestId":"R","HostId":"h","Code":"C","Message":"m"}`), false},
		{"a numeric error Code", "PushApplicationData", answer(400, js, `{"RequestId":"R","HostId":"h","Code":400,"Message":"m","Recommend":""}`), false},
		{"XML push", "PushApplicationData", answer(200, xmlType, `<PushApplicationDataResponse><RequestId>R</RequestId><PushResults><PushResult><Name>a</Name><Version>1</Version><ResultCode>100</ResultCode><ResultDescrip/></PushResult></PushResults></PushApplicationDataResponse>`), true},
		{"XML ResultCode not a number", "PushApplicationData", answer(200, xmlType, `<PushApplicationDataResponse><RequestId>R</RequestId><PushResults><PushResult><Name>a</Name><Version>1</Version><ResultCode>zero</ResultCode><ResultDescrip/></PushResult></PushResults></PushApplicationDataResponse>`), false},
		{"XML wrong root", "PushApplicationData", answer(200, xmlType, `<Response><RequestId>R</RequestId><PushResults/></Response>`), false},
		{"XML empty describe", "DescribeDataPushResult", answer(200, xmlType, `<DescribeDataPushResultResponse><RequestId>R</RequestId><PageNumber>1</PageNumber><PageSize>10</PageSize><TotalCount>0</TotalCount><PushResults></PushResults></DescribeDataPushResultResponse>`), true},
		{"XML error", "PushApplicationData", answer(403, xmlType, `<?xml version='1.0' encoding='UTF-8'?><Error><RequestId>R</RequestId><HostId>h</HostId><Code>Forbidden.RAM</Code><Message>m</Message><Recommend></Recommend></Error>`), true},
		{"a bad StartTime", "DescribeDataPushResult", answer(200, js, `{"RequestId":"R","PageNumber":1,"PageSize":10,"TotalCount":1,"PushResults":{"PushResult":[{"Name":"a","Version":"1","StatusStatS":{"StatusStat":[{"Status":"SUCCESS","RegionIdCount":1,"RegionIds":{"RegionId":[{"RegionId":"r","StartTime":"yesterday","StatusDescrip":"","UpdateTime":"2021-12-28T16:00:00Z"}]}}]}}]}}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.ex.RespHeader.Get("Content-Type"), "text/xml") {
				tc.ex.Format = "XML"
			}
			_, err := checkResponse(tc.action, tc.ex)
			if (err == nil) != tc.ok {
				t.Errorf("checkResponse: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestCoverageMissing: an empty coverage misses the whole documented surface,
// and an entry counts only when a @core scenario covered it.
func TestCoverageMissing(t *testing.T) {
	doc, err := Documented()
	if err != nil || len(doc) < 100 {
		t.Fatalf("Documented: %d entries, %v", len(doc), err)
	}
	c := &Coverage{entries: map[string]map[string]bool{}}
	if missing, _ := c.Missing(); len(missing) != len(doc) {
		t.Errorf("an empty coverage misses %d of %d entries", len(missing), len(doc))
	}
	c.add(paramEntry("PushApplicationData", "AppId", "GET", "query", "v1"), "an @extended scenario", false)
	c.add("error   Forbidden.RAM (HTTP 403)", "a @core scenario", true)
	missing, _ := c.Missing()
	if len(missing) != len(doc)-1 {
		t.Errorf("after one @core error and one @extended parameter, %d of %d entries are missing", len(missing), len(doc))
	}
	for _, m := range missing {
		if strings.HasPrefix(m, "error   NoPermission") {
			t.Errorf("Forbidden.RAM (HTTP 403) does not cover %q", m)
		}
	}
}
