package wire

import (
	"fmt"
	"net/http"
)

// Error is an API error as the gateway answers it: an HTTP status, a code and a message.
type Error struct {
	Status  int
	Code    string
	Message string
	// Detail says more than the documented message; it travels in the
	// X-Ensmock-Detail header, never in the body, so the body stays exact.
	Detail string
	// Header holds extra response headers (e.g. x-ratelimit-user-api for throttling).
	Header http.Header
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Code + ": " + e.Message + " (" + e.Detail + ")"
	}
	return e.Code + ": " + e.Message
}

// WithDetail returns a copy of e carrying detail.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// The error catalogue. Codes, messages and statuses follow docs/wire.md §9 and
// the ENS metadata; where sources disagree the choice is noted.

// MissingParameter: a required parameter is absent (400).
func MissingParameter(name string) *Error {
	return &Error{Status: 400, Code: "MissingParameter",
		Message: fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied.", name)}
}

// InvalidParameter: a parameter is malformed, with the documented ENS message (400).
func InvalidParameter(name string) *Error {
	return &Error{Status: 400, Code: "InvalidParameter." + name,
		Message: fmt.Sprintf("The specified field %s invalid. Please check it again.", name)}
}

// InvalidRequest: the request as a whole is unacceptable (e.g. too large), with the
// documented generic InvalidParameter template "The errorMessage is %s. Please check it again." (400).
func InvalidRequest(reason string) *Error {
	return &Error{Status: 400, Code: "InvalidParameter",
		Message: fmt.Sprintf("The errorMessage is %s. Please check it again.", reason)}
}

// Fixed errors.
var (
	NoPermission = &Error{Status: 400, Code: "NoPermission", Message: "Permission denied."}

	InvalidAccessKeyIDNotFound = &Error{Status: 404, Code: "InvalidAccessKeyId.NotFound", Message: "Specified access key is not found."}
	InvalidSecurityToken       = &Error{Status: 400, Code: "InvalidSecurityToken.Malformed", Message: "Specified SecurityToken is malformed."}
	IncompleteSignature        = &Error{Status: 400, Code: "IncompleteSignature", Message: "The request signature does not conform to Aliyun standards."}
	SignatureNonceUsed         = &Error{Status: 400, Code: "SignatureNonceUsed", Message: "Specified signature nonce was used already."}
	InvalidTimeStampExpired    = &Error{Status: 400, Code: "InvalidTimeStamp.Expired", Message: "Specified time stamp or date value is expired."}
	InvalidTimeStampFormat     = &Error{Status: 400, Code: "InvalidTimeStamp.Format", Message: "Specified time stamp or date value is not well formatted."}
	InvalidSignatureMethod     = &Error{Status: 400, Code: "InvalidSignatureMethod", Message: "Specified signature method is not valid."}
	// UnsupportedHTTPMethod: sources say 400 or 403; ensmock answers 400 like the other request errors.
	UnsupportedHTTPMethod = &Error{Status: 400, Code: "UnsupportedHTTPMethod", Message: "This http method is not supported."}
	InvalidActionNotFound = &Error{Status: 404, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}
	// InvalidVersion: the status is not documented; 400 like the other parameter errors.
	InvalidVersion = &Error{Status: 400, Code: "InvalidVersion", Message: "Specified parameter Version is not valid."}

	Throttling         = &Error{Status: 400, Code: "Throttling", Message: "Request was denied due to request throttling."}
	ThrottlingUser     = &Error{Status: 400, Code: "Throttling.User", Message: "Request was denied due to user flow control."}
	ThrottlingAPI      = &Error{Status: 400, Code: "Throttling.Api", Message: "Request was denied due to api flow control."}
	InternalError      = &Error{Status: 500, Code: "InternalError", Message: "The request processing has failed due to some unknown error, exception or failure."}
	ServiceUnavailable = &Error{Status: 503, Code: "ServiceUnavailable", Message: "The request has failed due to a temporary failure of the server."}
)

// SignatureDoesNotMatch carries the server's string-to-sign, as the real gateway does.
func SignatureDoesNotMatch(stringToSign string) *Error {
	return &Error{Status: 400, Code: "SignatureDoesNotMatch",
		Message: "Specified signature is not matched with our calculation. server string to sign is:" + stringToSign}
}

// Known returns the catalogue entry for a code (used by fault injection to send
// "any code" with its usual status and message); ok is false for unknown codes.
func Known(code string) (e *Error, ok bool) {
	for _, k := range []*Error{NoPermission, InvalidAccessKeyIDNotFound, InvalidSecurityToken, IncompleteSignature, SignatureNonceUsed,
		InvalidTimeStampExpired, InvalidTimeStampFormat, InvalidSignatureMethod, UnsupportedHTTPMethod,
		InvalidActionNotFound, InvalidVersion, Throttling, ThrottlingUser, ThrottlingAPI, InternalError, ServiceUnavailable} {
		if k.Code == code {
			c := *k
			return &c, true
		}
	}
	return nil, false
}
