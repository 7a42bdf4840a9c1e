// Package wire is the Alibaba Cloud RPC ("POP") wire format of the mock: parameters
// from query and form body, Action and Version, Format negotiation, the success and
// error envelopes in JSON and XML, and the error catalogue.
package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// APIVersion is the only version ENS data APIs answer.
const APIVersion = "2017-11-10"

// Format of a response body.
type Format uint8

const (
	XML Format = iota
	JSON
)

// Content types the SDKs expect ([DARA] only parses an XML error with exactly this one).
const (
	ContentTypeJSON = "application/json;charset=utf-8"
	ContentTypeXML  = "text/xml;charset=utf-8"
)

// Limits bound what one request may carry.
type Limits struct {
	MaxBodyBytes  int64 // form body; default 1 MiB
	MaxQueryBytes int   // raw query string; default 1 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxQueryBytes <= 0 {
		l.MaxQueryBytes = 1 << 20
	}
	return l
}

// Request is a decoded RPC request.
type Request struct {
	HTTP      *http.Request
	RequestID string
	Action    string
	Version   string
	Format    Format
	Params    url.Values     // query and form body merged (query values first)
	Body      []byte         // the raw body, for the V3 content hash
	Form      []byte         // the body when it was a form merged into Params, else nil
	JSON      map[string]any // JSON parameters as decoded by validation (see Validator.Validate)
	// Warnings are the ensmock limits the request broke and was accepted with
	// (X-Ensmock-Warning, the journal, the log).
	Warnings []string
	// bodyNotRead says why a body was not read as parameters (e.g. a JSON
	// body), for the detail of a MissingParameter.
	bodyNotRead string
}

// Missing answers MissingParameter for name, saying why the body did not supply
// it when the request had a body that is not a form.
func (r *Request) Missing(name string) *Error {
	e := MissingParameter(name)
	if r.bodyNotRead != "" {
		return e.WithDetail("%s is not supplied: %s", name, r.bodyNotRead)
	}
	return e
}

// Get returns the first value of a parameter.
func (r *Request) Get(name string) string {
	if v := r.Params[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// List is a comma-separated parameter (DataNames, RegionIds, ...) as a list:
// blanks trimmed, empty items dropped, nil when absent.
func (r *Request) List(name string) []string {
	v := r.Get(name)
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Has says whether a parameter was sent (even empty).
func (r *Request) Has(name string) bool { _, ok := r.Params[name]; return ok }

// NewRequestID returns an upper-case UUID (version 4), as the gateway's RequestId.
// Its 122 random bits come from math/rand/v2's per-thread ChaCha8 generator: a
// request id must be unique, not secret.
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const upper = "0123456789ABCDEF"
	var s [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = upper[c>>4], upper[c&15]
		j += 2
	}
	return string(s[:])
}

// Decode reads an RPC request. On error the returned Request still carries the
// RequestID and the best Format known, so the error can be answered in kind.
func Decode(r *http.Request, lim Limits) (*Request, *Error) {
	lim = lim.withDefaults()
	req := &Request{HTTP: r, RequestID: NewRequestID(), Format: XML}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		req.Format = JSON
	}
	if len(r.URL.RawQuery) > lim.MaxQueryBytes {
		return req, InvalidRequest("the query string exceeds " + itoa(lim.MaxQueryBytes) + " bytes")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, InvalidRequest("the query string is not valid URL encoding")
	}
	req.Params = q
	if f, ok := formatOf(q); ok {
		req.Format = f
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return req, UnsupportedHTTPMethod.WithDetail("method %s: the RPC API answers GET and POST", r.Method)
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, lim.MaxBodyBytes+1))
		if err != nil {
			return req, InvalidRequest("the request body could not be read")
		}
		if int64(len(body)) > lim.MaxBodyBytes {
			return req, InvalidRequest("the request body exceeds " + itoa(int(lim.MaxBodyBytes)) + " bytes")
		}
		req.Body = body
		if ct := r.Header.Get("Content-Type"); len(body) > 0 && !isForm(ct) {
			what := "a " + ct + " body"
			if ct == "" {
				what = "a body without Content-Type"
			} else if mt, _, _ := mime.ParseMediaType(ct); strings.HasSuffix(mt, "json") {
				what = "a JSON body (" + ct + ")"
			}
			req.bodyNotRead = "the request has " + what + ", which ENS does not read: RPC parameters go in the query string or in a form-encoded body (Content-Type: application/x-www-form-urlencoded)"
		}
		if len(body) > 0 && isForm(r.Header.Get("Content-Type")) {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return req, InvalidRequest("the form body is not valid URL encoding")
			}
			req.Form = body
			for k, vs := range form {
				q[k] = append(q[k], vs...)
			}
			if f, ok := formatOf(q); ok {
				req.Format = f
			}
		}
	}
	if f := req.Get("Format"); f != "" {
		if !strings.EqualFold(f, "JSON") && !strings.EqualFold(f, "XML") {
			return req, InvalidParameter("Format").WithDetail("Format %q: want JSON or XML", f)
		}
	}
	req.Action = req.Get("Action")
	if req.Action == "" {
		req.Action = r.Header.Get("x-acs-action")
	}
	req.Version = req.Get("Version")
	if req.Version == "" {
		req.Version = r.Header.Get("x-acs-version")
	}
	if req.Action == "" {
		return req, req.Missing("Action")
	}
	if req.Version == "" {
		return req, req.Missing("Version")
	}
	if req.Version != APIVersion {
		return req, InvalidVersion.WithDetail("Version %q: ENS answers %s", req.Version, APIVersion)
	}
	return req, nil
}

func formatOf(q url.Values) (Format, bool) {
	switch strings.ToUpper(q.Get("Format")) {
	case "JSON":
		return JSON, true
	case "XML":
		return XML, true
	}
	return XML, false
}

func isForm(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// marshalJSON writes v without HTML escaping (the gateway sends "&" as is).
func marshalJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// Host is the HostId the mock reports in errors (the real endpoint's host).
const Host = "ens.aliyuncs.com"

// errorBody is the gateway's error envelope.
type errorBody struct {
	XMLName   xml.Name `json:"-" xml:"Error"`
	RequestID string   `json:"RequestId" xml:"RequestId"`
	HostID    string   `json:"HostId" xml:"HostId"`
	Code      string   `json:"Code" xml:"Code"`
	Message   string   `json:"Message" xml:"Message"`
	Recommend string   `json:"Recommend" xml:"-"`
	RecXML    cdata    `json:"-" xml:"Recommend"`
}

type cdata struct {
	Text string `xml:",cdata"`
}

// Recommend is the troubleshooting link the gateway puts in every error.
func Recommend(code, requestID string) string {
	return "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(code) + "&product=Ens&requestId=" + requestID
}

// EncodeError renders the error envelope of e into buf, as WriteError sends it.
func EncodeError(buf *bytes.Buffer, requestID string, f Format, e *Error) {
	rec := Recommend(e.Code, requestID)
	body := errorBody{RequestID: requestID, HostID: Host, Code: e.Code, Message: e.Message, Recommend: rec, RecXML: cdata{rec}}
	if f == JSON {
		_ = marshalJSON(buf, body)
		return
	}
	buf.WriteString("<?xml version='1.0' encoding='UTF-8'?>")
	_ = xml.NewEncoder(buf).Encode(body)
}

// WriteError answers an error in the request's format.
func WriteError(w http.ResponseWriter, requestID string, f Format, e *Error) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	if e.Detail != "" {
		h.Set("X-Ensmock-Detail", e.Detail)
	}
	var buf bytes.Buffer
	if f == JSON {
		h.Set("Content-Type", ContentTypeJSON)
	} else {
		h.Set("Content-Type", ContentTypeXML)
	}
	EncodeError(&buf, requestID, f, e)
	h.Set("x-acs-request-id", requestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write(buf.Bytes())
}

// Encode renders a success body into buf: JSON as is, XML under <Action+"Response">.
func Encode(buf *bytes.Buffer, f Format, action string, body any) error {
	if f == JSON {
		return marshalJSON(buf, body)
	}
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	return xml.NewEncoder(buf).EncodeElement(body, xml.StartElement{Name: xml.Name{Local: action + "Response"}})
}

// EncodeJSON appends v as JSON (no HTML escaping), for bodies written in parts.
func EncodeJSON(buf *bytes.Buffer, v any) error { return marshalJSON(buf, v) }

// EncodeXML appends v as the XML element name, for bodies written in parts.
func EncodeXML(buf *bytes.Buffer, name string, v any) error {
	return xml.NewEncoder(buf).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}})
}

// WriteSuccessHeader sends the headers of a 200 answer whose body follows in parts.
func WriteSuccessHeader(w http.ResponseWriter, requestID string, f Format) {
	h := w.Header()
	if f == JSON {
		h["Content-Type"] = contentTypeJSON
	} else {
		h["Content-Type"] = contentTypeXML
	}
	h["X-Acs-Request-Id"] = []string{requestID}
	w.WriteHeader(http.StatusOK)
}

// WriteSuccess answers 200 with an encoded body.
func WriteSuccess(w http.ResponseWriter, requestID string, f Format, data []byte) {
	h := w.Header()
	// Canonical keys and shared content-type values: no allocation for either.
	if f == JSON {
		h["Content-Type"] = contentTypeJSON
	} else {
		h["Content-Type"] = contentTypeXML
	}
	h["X-Acs-Request-Id"] = []string{requestID}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// The Content-Type header values, shared by every response (never modified).
var (
	contentTypeJSON = []string{ContentTypeJSON}
	contentTypeXML  = []string{ContentTypeXML}
)
