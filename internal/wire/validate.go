package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/ensmock/ensmock/spec"
)

// Validator checks a request's parameters against the OpenAPI document, where
// each action is the operation at the pseudo-path "/<Action>". It is built once;
// nothing about the document is re-parsed per request.
type Validator struct {
	ops  map[string]*operation
	opts *openapi3filter.Options
}

type operation struct {
	route   *routers.Route
	methods map[string]bool // HTTP methods the action answers
	memos   []*memo         // per parameter of route.Operation (nil: not in the query)
}

// NewValidator compiles doc. The HTTP methods of each action come from the
// path item's x-ensmock-methods extension (see spec.Methods).
func NewValidator(doc *openapi3.T) *Validator {
	v := &Validator{ops: map[string]*operation{}, opts: &openapi3filter.Options{
		ExcludeRequestBody:  true,
		SkipSettingDefaults: true,
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	}}
	for path, item := range doc.Paths.Map() {
		action := strings.TrimPrefix(path, "/")
		op := &operation{methods: map[string]bool{}}
		for _, m := range spec.Methods(doc, action) {
			op.methods[m] = true
		}
		for method, o := range item.Operations() {
			if op.route == nil || method == http.MethodGet {
				op.route = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: o}
			}
		}
		if op.route != nil {
			op.memos = make([]*memo, len(op.route.Operation.Parameters))
			for i, p := range op.route.Operation.Parameters {
				if p.Value.In == openapi3.ParameterInQuery {
					op.memos[i] = newMemo()
				}
			}
			v.ops[action] = op
		}
	}
	return v
}

// Actions lists the actions of the document, sorted.
func (v *Validator) Actions() []string {
	return slices.Sorted(maps.Keys(v.ops))
}

// Check answers InvalidAction.NotFound for an action the document lacks, and
// UnsupportedHTTPMethod for a method the action does not answer.
func (v *Validator) Check(action, method string) *Error {
	op := v.ops[action]
	if op == nil {
		return InvalidActionNotFound.WithDetail("action %q is not emulated; ensmock answers %s", action, strings.Join(v.Actions(), ", "))
	}
	if !op.methods[method] {
		return UnsupportedHTTPMethod.WithDetail("%s answers only %s", action, methodList(op.methods))
	}
	return nil
}

func methodList(m map[string]bool) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

var dummyRequest = &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: http.Header{}}

// Validate checks the request's parameters against its action's operation: a
// required parameter absent answers MissingParameter, any other violation
// InvalidParameter.<Name>. Check must have accepted the action. The JSON
// parameters (content: application/json) are decoded once, here, and their
// validated values are left in req.JSON for the action. A single value that
// passed before is not checked again (see memo).
func (v *Validator) Validate(ctx context.Context, req *Request) *Error {
	op := v.ops[req.Action]
	params := req.Params
	var in *openapi3filter.RequestValidationInput // made at the first value the memo lacks
	for i, p := range op.route.Operation.Parameters {
		param := p.Value
		if param.In != openapi3.ParameterInQuery {
			continue
		}
		values, sent := params[param.Name]
		if !sent && !param.Required {
			continue // nothing to check (defaults are not set: SkipSettingDefaults)
		}
		m := op.memos[i]
		if len(values) == 1 {
			if e := m.get(values[0]); e != nil {
				if param.Content != nil {
					req.setJSON(param.Name, e.decoded)
				}
				continue
			}
		}
		if in == nil {
			in = &openapi3filter.RequestValidationInput{Request: dummyRequest, QueryParams: params, Route: op.route, Options: v.opts,
				ParamDecoder: req.decodeJSONParam}
		}
		err := openapi3filter.ValidateParameter(ctx, in, param)
		if err == nil {
			if len(values) == 1 {
				m.put(values[0], req.JSON[param.Name])
			}
			continue
		}
		if param.Required && !sent {
			return req.Missing(param.Name)
		}
		return InvalidParameter(param.Name).WithDetail("%s", reason(param.Name, err))
	}
	return nil
}

// decodeJSONParam is the validator's openapi3filter.ContentParameterDecoder. It
// decodes as kin-openapi's default decoder does (one application/json content;
// a value that is not JSON is handed on as a plain string, for the schema to
// refuse, unless the schema wants an object) and keeps the value in r.JSON.
func (r *Request) decodeJSONParam(param *openapi3.Parameter, values []string) (any, *openapi3.Schema, error) {
	mt := param.Content.Get("application/json")
	if len(param.Content) != 1 || mt == nil || mt.Schema == nil {
		return nil, nil, fmt.Errorf("parameter %q: only one application/json content with a schema is supported", param.Name)
	}
	decode := func(s string, _ *openapi3.SchemaRef) (any, error) {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, notJSON(param.Name, s, err)
		}
		return v, nil
	}
	var out any
	if len(values) == 1 {
		v, err := decode(values[0], mt.Schema)
		if err != nil {
			return nil, nil, err
		}
		out = v
	} else {
		arr := make([]any, 0, len(values))
		for _, s := range values {
			v, err := decode(s, mt.Schema.Value.Items)
			if err != nil {
				return nil, nil, err
			}
			arr = append(arr, v)
		}
		out = arr
	}
	r.setJSON(param.Name, out)
	return out, mt.Schema.Value, nil
}

func (r *Request) setJSON(name string, v any) {
	if r.JSON == nil {
		r.JSON = make(map[string]any, 2)
	}
	r.JSON[name] = v
}

// notJSON says where a JSON parameter stops being JSON, e.g.
// "Data is not valid JSON: unexpected ',' at offset 57" (a 0-based byte offset).
func notJSON(name, s string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset) - 1
		if off >= 0 && off < len(s) && !strings.HasPrefix(se.Error(), "unexpected end") {
			r, _ := utf8.DecodeRuneInString(s[off:])
			return fmt.Errorf("%s is not valid JSON: unexpected %s at offset %d", name, strconv.QuoteRune(r), off)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s is not valid JSON: the value is empty", name)
		}
		return fmt.Errorf("%s is not valid JSON: it ends early, after %d bytes", name, len(s))
	}
	return fmt.Errorf("%s is not valid JSON: %v", name, err)
}

// reason turns a kin-openapi error into one readable line for X-Ensmock-Detail,
// naming the parameter and the JSON path inside it, e.g.
// `PushStrategy/parameters: property "values" is missing`.
func reason(param string, err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return schemaReason(param, se)
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Err != nil {
			return re.Err.Error()
		}
		return re.Reason
	}
	return err.Error()
}

// schemaReason explains a schema error at prefix. A value that matches no
// branch of a oneOf is explained by the branch of its own JSON type (an
// object by the object schema, an array by the array schema), so the detail
// names the field that is wrong, not just "doesn't match any schema".
func schemaReason(prefix string, se *openapi3.SchemaError) string {
	if p := se.JSONPointer(); len(p) > 0 {
		prefix += "/" + strings.Join(p, "/")
	}
	if se.SchemaField == "oneOf" && se.Schema != nil {
		var types []string
		for _, br := range se.Schema.OneOf {
			if br.Value == nil || br.Value.Type == nil {
				continue
			}
			types = append(types, (*br.Value.Type)...)
			if !jsonTypeIs(br.Value, se.Value) {
				continue
			}
			var inner *openapi3.SchemaError
			if err := br.Value.VisitJSON(se.Value); errors.As(err, &inner) {
				return schemaReason(prefix, inner)
			}
		}
		return fmt.Sprintf("%s: want %s, got %s", prefix, strings.Join(types, " or "), jsonType(se.Value))
	}
	return prefix + ": " + se.Reason
}

func jsonTypeIs(s *openapi3.Schema, v any) bool {
	return s.Type.Is(jsonType(v)) || (jsonType(v) == "number" && s.Type.Is("integer"))
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// CheckResponse validates a JSON response body of action against the document:
// the status's response (or default) and its schema. Tests of the mock use it so
// that every response the mock sends is proven to match the spec.
func (v *Validator) CheckResponse(ctx context.Context, action string, status int, header http.Header, body []byte) error {
	op := v.ops[action]
	if op == nil {
		return errors.New("wire: unknown action " + action)
	}
	in := &openapi3filter.RequestValidationInput{Request: dummyRequest, Route: op.route, Options: v.opts}
	return openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: false},
	})
}
