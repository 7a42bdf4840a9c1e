package signature_test

import (
	"fmt"
	"net/url"
	"time"

	"github.com/ensmock/ensmock/signature"
)

// A client signs a PushApplicationData call with V1 and sends the
// parameters as the query of "POST http://127.0.0.1:8080/?...".
func ExampleSignV1() {
	params := url.Values{
		"Action":        {"PushApplicationData"},
		"Version":       {"2017-11-10"},
		"Format":        {"JSON"},
		"RegionId":      {"cn-hangzhou"},
		"SignatureType": {""}, // sent empty by the classic Go SDK; it is signed too
		"AppId":         {"e76f8985-7965-41fc-925b-9648bb6bf650"},
		"Data":          {`[{"name":"app01","version":"1.0","size":100,"archiveType":"tar.gz","md5":"","url":"http://example.com/app01.tar.gz"}]`},
	}
	// In real use: a fresh random nonce and time.Now().
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	signature.SignV1("POST", params, "testid", "testsecret", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", now)

	fmt.Println(params.Get("Signature"))
	fmt.Println("POST /?" + params.Encode())

	// The server side: form-decode the query and verify.
	_, ok := signature.VerifyV1("POST", params, "testsecret")
	fmt.Println(ok)
	// Output:
	// f0FDJhtI2euKMvh4W9iaughf12o=
	// POST /?AccessKeyId=testid&Action=PushApplicationData&AppId=e76f8985-7965-41fc-925b-9648bb6bf650&Data=%5B%7B%22name%22%3A%22app01%22%2C%22version%22%3A%221.0%22%2C%22size%22%3A100%2C%22archiveType%22%3A%22tar.gz%22%2C%22md5%22%3A%22%22%2C%22url%22%3A%22http%3A%2F%2Fexample.com%2Fapp01.tar.gz%22%7D%5D&Format=JSON&RegionId=cn-hangzhou&Signature=f0FDJhtI2euKMvh4W9iaughf12o%3D&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureType=&SignatureVersion=1.0&Timestamp=2024-01-01T00%3A00%3A00Z&Version=2017-11-10
	// true
}
