package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// body is a parsed response body, JSON or XML, as one generic tree: objects
// and elements are map[string]any, arrays and repeated elements []any, leaves
// json.Number, string, bool or nil (JSON) and string (XML).
type body struct {
	Format string // "JSON", "XML", or "" when the body is neither
	Root   string // XML root element name
	Doc    map[string]any
	Err    error // why the body could not be parsed
}

func parseBody(raw []byte) *body {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0:
		return &body{Err: errors.New("the body is empty")}
	case trimmed[0] == '{':
		b := &body{Format: "JSON"}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&b.Doc); err != nil {
			b.Err = fmt.Errorf("the body is not valid JSON: %v", err)
		}
		return b
	case trimmed[0] == '<':
		b := &body{Format: "XML"}
		b.Root, b.Doc, b.Err = parseXML(trimmed)
		return b
	}
	return &body{Err: errors.New("the body is neither JSON nor XML")}
}

// parseXML turns an XML document into the generic tree. An element with child
// elements becomes a map (repeated children a list); one without, its text.
func parseXML(raw []byte) (root string, doc map[string]any, err error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		name     string
		children map[string]any
		text     strings.Builder
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("the body is not valid XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != "" {
				return "", nil, errors.New("the XML body has more than one root element")
			}
			stack = append(stack, &frame{name: t.Name.Local})
			if len(stack) == 1 {
				root = t.Name.Local
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			var v any = f.text.String()
			if f.children != nil {
				v = f.children
			}
			if len(stack) == 0 {
				if f.children == nil {
					f.children = map[string]any{}
				}
				doc = f.children
				continue
			}
			p := stack[len(stack)-1]
			if p.children == nil {
				p.children = map[string]any{}
			}
			switch old := p.children[f.name].(type) {
			case nil:
				p.children[f.name] = v
			case []any:
				p.children[f.name] = append(old, v)
			default:
				p.children[f.name] = []any{old, v}
			}
		}
	}
	if root == "" {
		return "", nil, errors.New("the XML body has no root element")
	}
	return root, doc, nil
}

// Code is the error code of an error body ("" when there is none).
func (b *body) Code() string {
	if b == nil || b.Doc == nil {
		return ""
	}
	s, _ := b.Doc["Code"].(string)
	return s
}

// get walks keys down from the document; nil when a key is missing.
func (b *body) get(keys ...string) any {
	if b == nil || b.Doc == nil {
		return nil
	}
	var cur any = b.Doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// list reads v as an array: a single element (XML with one repeated child)
// is a list of one; an empty XML container or a missing value is empty.
func list(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	case string:
		if strings.TrimSpace(t) == "" {
			return nil
		}
	}
	return []any{v}
}

// field reads a leaf of an object as text.
func field(v any, key string) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	switch t := m[key].(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// intField reads a leaf of an object as an integer.
func intField(v any, key string) (int64, error) {
	s, ok := field(v, key)
	if !ok {
		return 0, fmt.Errorf("%s is missing or not a scalar", key)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", key, s)
	}
	return n, nil
}

// pushResult is one PushResult of PushApplicationData.
type pushResult struct {
	Name, Version, Descrip string
	Code                   int64
}

func (b *body) pushResults() ([]pushResult, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	container := b.get("PushResults")
	if container == nil {
		return nil, errors.New("the body has no PushResults")
	}
	var out []pushResult
	for i, v := range list(b.get("PushResults", "PushResult")) {
		var r pushResult
		var ok bool
		if r.Name, ok = field(v, "Name"); !ok {
			return nil, fmt.Errorf("PushResult %d has no Name", i+1)
		}
		if r.Version, ok = field(v, "Version"); !ok {
			return nil, fmt.Errorf("PushResult %d has no Version", i+1)
		}
		code, err := intField(v, "ResultCode")
		if err != nil {
			return nil, fmt.Errorf("PushResult %d: %v", i+1, err)
		}
		r.Code = code
		r.Descrip, _ = field(v, "ResultDescrip")
		out = append(out, r)
	}
	return out, nil
}

// fileStatus is one PushResult of DescribeDataPushResult: the regions of a data
// file by status.
type fileStatus struct {
	Name, Version string
	Regions       map[string]string // region → status
}

func (f fileStatus) key() string { return f.Name + " " + f.Version }

func (b *body) fileStatuses() ([]fileStatus, error) {
	if b.Err != nil {
		return nil, b.Err
	}
	if b.get("PushResults") == nil {
		return nil, errors.New("the body has no PushResults")
	}
	var out []fileStatus
	for i, v := range list(b.get("PushResults", "PushResult")) {
		fs := fileStatus{Regions: map[string]string{}}
		var ok bool
		if fs.Name, ok = field(v, "Name"); !ok {
			return nil, fmt.Errorf("PushResult %d has no Name", i+1)
		}
		if fs.Version, ok = field(v, "Version"); !ok {
			return nil, fmt.Errorf("PushResult %d has no Version", i+1)
		}
		m := v.(map[string]any)
		stats, _ := m["StatusStatS"].(map[string]any)
		for j, st := range list(stats["StatusStat"]) {
			status, ok := field(st, "Status")
			if !ok {
				return nil, fmt.Errorf("PushResult %d StatusStat %d has no Status", i+1, j+1)
			}
			switch status {
			case "SUCCESS", "FAILED", "PUSHING":
			default:
				return nil, fmt.Errorf("PushResult %d StatusStat %d: Status %q is none of SUCCESS, FAILED, PUSHING", i+1, j+1, status)
			}
			sm := st.(map[string]any)
			ids, _ := sm["RegionIds"].(map[string]any)
			regions := list(ids["RegionId"])
			if n, err := intField(st, "RegionIdCount"); err == nil && n != int64(len(regions)) {
				return nil, fmt.Errorf("PushResult %d StatusStat %s: RegionIdCount %d but %d RegionIds", i+1, status, n, len(regions))
			}
			for _, r := range regions {
				id, ok := field(r, "RegionId")
				if !ok || id == "" {
					return nil, fmt.Errorf("PushResult %d StatusStat %s: a RegionId entry has no RegionId", i+1, status)
				}
				if prev, dup := fs.Regions[id]; dup {
					return nil, fmt.Errorf("PushResult %d: region %s is both %s and %s", i+1, id, prev, status)
				}
				fs.Regions[id] = status
			}
		}
		out = append(out, fs)
	}
	return out, nil
}
