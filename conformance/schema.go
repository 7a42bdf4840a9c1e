package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ensmock/ensmock/spec"
)

// The response schemas of spec/ens.yaml, the documented response fields and
// their types, judge every answer the suite receives. The document is read
// with every "additionalProperties: false" relaxed: a field the documentation
// does not list (a future field, an SDK's merged field) is no deviation, a
// documented field that is missing or of the wrong type is (docs/conformance.md).
var (
	respOnce sync.Once
	respDoc  *openapi3.T
	respErr  error
)

func responseDoc() (*openapi3.T, error) {
	respOnce.Do(func() {
		relaxed := bytes.ReplaceAll(spec.YAML, []byte("additionalProperties: false"), []byte("additionalProperties: true"))
		respDoc, respErr = spec.Parse(relaxed)
	})
	return respDoc, respErr
}

// responseSchema is the schema of an answer of action with the HTTP status: the
// operation's 200 response for a 2xx, the error envelope otherwise.
func responseSchema(action string, status int) (*openapi3.Schema, error) {
	doc, err := responseDoc()
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		ref := doc.Components.Schemas["Error"]
		if ref == nil || ref.Value == nil {
			return nil, errors.New("spec: no Error schema")
		}
		return ref.Value, nil
	}
	item := doc.Paths.Value("/" + action)
	if item == nil || item.Get == nil {
		return nil, nil // an action the documentation does not describe: nothing to check
	}
	r := item.Get.Responses.Status(200)
	if r == nil || r.Value == nil || r.Value.Content["application/json"] == nil {
		return nil, fmt.Errorf("spec: %s has no JSON 200 response", action)
	}
	return r.Value.Content["application/json"].Schema.Value, nil
}

// mediaType is the lower-case media type of a Content-Type header ("" if none).
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	}
	return mt
}

// checkResponse judges the answer of ex to action against the documentation:
// the content type of its format (JSON application/json; XML text/xml, as the
// gateway sends them) and the response schema (required fields, JSON types,
// formats, enums; an XML body is read with the schema's types). It returns the
// answer as the schema sees it (for the coverage table), or why it deviates.
func checkResponse(action string, ex *exchange) (any, error) {
	if ex == nil || ex.Err != nil || ex.Status == 0 {
		return nil, nil
	}
	b := ex.Body()
	if b.Err != nil {
		return nil, fmt.Errorf("the answer (HTTP %d) is neither JSON nor XML: %v", ex.Status, b.Err)
	}
	mt := mediaType(ex.RespHeader)
	switch b.Format {
	case "JSON":
		if mt != "application/json" {
			return nil, fmt.Errorf("a JSON body comes with the Content-Type %q, not application/json", ex.RespHeader.Get("Content-Type"))
		}
	case "XML":
		if mt != "text/xml" && mt != "application/xml" {
			return nil, fmt.Errorf("an XML body comes with the Content-Type %q, not text/xml", ex.RespHeader.Get("Content-Type"))
		}
		want := action + "Response"
		if ex.Status < 200 || ex.Status > 299 {
			want = "Error"
		}
		if b.Root != want {
			return nil, fmt.Errorf("the XML root element is <%s>, the documentation says <%s> (HTTP %d)", b.Root, want, ex.Status)
		}
	}
	schema, err := responseSchema(action, ex.Status)
	if err != nil || schema == nil {
		return nil, err
	}
	var value any
	if b.Format == "JSON" {
		if err := json.Unmarshal(bytes.TrimSpace(ex.RespBody), &value); err != nil {
			return nil, fmt.Errorf("the JSON body does not decode: %v", err)
		}
	} else {
		value = fromXML(schema, b.Doc)
	}
	if err := schema.VisitJSON(value, openapi3.MultiErrors()); err != nil {
		what := "success"
		if ex.Status < 200 || ex.Status > 299 {
			what = "error"
		}
		return value, fmt.Errorf("the %s body (HTTP %d) does not match the documented response of %s:\n%s", what, ex.Status, action, indent(err.Error()))
	}
	return value, nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 12 {
		lines = append(lines[:12], fmt.Sprintf("… (%d more lines)", len(lines)-12))
	}
	return "  " + strings.Join(lines, "\n  ")
}

// fromXML reads the generic XML tree v with the types of schema: integers and
// booleans from their text, a repeated or single element as an array where the
// schema has one, an empty or absent array container as an empty array.
// Text that does not parse stays text, so that the schema reports it.
func fromXML(schema *openapi3.Schema, v any) any {
	if schema == nil {
		return v
	}
	switch {
	case schema.Type.Is("object"):
		m, ok := v.(map[string]any)
		if !ok {
			if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
				m = map[string]any{}
			} else {
				return v
			}
		}
		out := make(map[string]any, len(m))
		for k, child := range m {
			if p := schema.Properties[k]; p != nil {
				out[k] = fromXML(p.Value, child)
			} else {
				out[k] = child
			}
		}
		for k, p := range schema.Properties {
			if _, present := out[k]; !present && p.Value != nil && p.Value.Type.Is("array") {
				out[k] = []any{} // XML cannot tell an empty array from an absent one
			}
		}
		return out
	case schema.Type.Is("array"):
		var items *openapi3.Schema
		if schema.Items != nil {
			items = schema.Items.Value
		}
		var out []any
		for _, e := range list(v) {
			out = append(out, fromXML(items, e))
		}
		if out == nil {
			out = []any{}
		}
		return out
	case schema.Type.Is("integer"), schema.Type.Is("number"):
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f
			}
		}
	case schema.Type.Is("boolean"):
		if s, ok := v.(string); ok {
			if bv, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
				return bv
			}
		}
	}
	return v
}

// commonParams are the RPC protocol's own parameters (not an action's).
var commonParams = map[string]bool{
	"Action": true, "Version": true, "Format": true, "AccessKeyId": true, "Signature": true,
	"SignatureMethod": true, "SignatureVersion": true, "SignatureNonce": true, "SignatureType": true,
	"Timestamp": true, "RegionId": true, "SecurityToken": true,
}

// requestShape describes how ex was sent: the action's parameters, where they
// were (query or form body), and the signature version ("v1", "v3" or "none").
func requestShape(ex *exchange) (params []string, placement, signing string) {
	u, err := url.Parse(ex.URL)
	if err != nil {
		return nil, "", ""
	}
	q := u.Query()
	placement = "query"
	seen := map[string]bool{}
	add := func(vs url.Values) {
		for k := range vs {
			if !commonParams[k] && !seen[k] {
				seen[k] = true
				params = append(params, k)
			}
		}
	}
	add(q)
	if len(ex.ReqBody) > 0 && strings.HasPrefix(strings.ToLower(ex.ReqHeader.Get("Content-Type")), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(ex.ReqBody)); err == nil && len(form) > 0 {
			placement = "form"
			add(form)
		}
	}
	slices.Sort(params)
	switch {
	case strings.HasPrefix(ex.ReqHeader.Get("Authorization"), "ACS3-"):
		signing = "v3"
	case q.Get("Signature") != "" || strings.Contains(string(ex.ReqBody), "Signature="):
		signing = "v1"
	default:
		signing = "none"
	}
	return params, placement, signing
}
