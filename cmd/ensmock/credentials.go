package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ensmock/ensmock/mock"
)

// loadCredentials reads a --credentials file:
//
//	credentials:
//	  - accessKeyId: ci-key
//	    accessKeySecret: ci-secret
//	    account: team-a            # optional; default: the AccessKeyId
//	    allow: ["ens:Describe*"]   # optional; omitted: every action; []: none
//	    securityToken: sts-token   # optional; makes it an STS credential
//
// Unknown keys are errors, and so are, naming the file and line: `allow:`
// written with no value (it would read as "every action" while `allow: []`
// grants none, so the file must say which), an AccessKeyId listed twice, an
// empty AccessKeyId or secret, and a pattern path.Match cannot compile.
func loadCredentials(file string) ([]mock.Credential, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		return nil, fmt.Errorf("%s: the file is empty; it must list credentials:\n  credentials:\n    - accessKeyId: my-key\n      accessKeySecret: my-secret", file)
	}
	at := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	root := doc.Content[0]
	var list *yaml.Node
	if root.Kind != yaml.MappingNode {
		return nil, at(root, "want a mapping with the key credentials")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "credentials" {
			return nil, at(k, "field %s not found: the file has one key, credentials", k.Value)
		}
		list = v
	}
	if list == nil || (list.Kind == yaml.SequenceNode && len(list.Content) == 0) || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		n := root
		if list != nil {
			n = list
		}
		return nil, at(n, "no credentials listed")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, at(list, "credentials: want a list of {accessKeyId, accessKeySecret, ...}")
	}
	seen := map[string]int{}
	out := make([]mock.Credential, 0, len(list.Content))
	for i, item := range list.Content {
		var c mock.Credential
		if item.Kind != yaml.MappingNode {
			return nil, at(item, "credentials[%d]: want a mapping {accessKeyId, accessKeySecret, ...}", i)
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			if k.Value == "allow" && v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				return nil, at(k, "credentials[%d]: allow has no value: write allow: [] for no permission, or leave allow out for every action", i)
			}
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k := item.Content[j]; !credentialKeys[k.Value] {
				return nil, at(k, "credentials[%d]: field %s not found (known: accessKeyId, accessKeySecret, account, allow, securityToken)", i, k.Value)
			}
		}
		if err := item.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: credentials[%d]: %s", file, i, yamlMessage(err))
		}
		switch {
		case strings.TrimSpace(c.AccessKeyID) == "":
			return nil, at(item, "credentials[%d]: accessKeyId is missing or empty", i)
		case c.AccessKeySecret == "":
			return nil, at(item, "credentials[%d] (%s): accessKeySecret is missing or empty", i, c.AccessKeyID)
		}
		if first, dup := seen[c.AccessKeyID]; dup {
			return nil, at(item, "credentials[%d]: accessKeyId %s is listed twice (first on line %d)", i, c.AccessKeyID, first)
		}
		seen[c.AccessKeyID] = item.Line
		for _, p := range c.Allow {
			if _, err := path.Match(p, "ens:PushApplicationData"); err != nil {
				return nil, at(item, "credentials[%d] (%s): allow pattern %q is not a valid pattern (* ? [a-z] as in path.Match)", i, c.AccessKeyID, p)
			}
		}
		if c.Allow != nil && len(c.Allow) == 0 {
			c.Allow = []string{} // allow: [] — no permission, kept distinct from "omitted"
		}
		out = append(out, c)
	}
	return out, nil
}

// credentialKeys are the keys of one credential (mock.Credential's yaml tags).
var credentialKeys = map[string]bool{"accessKeyId": true, "accessKeySecret": true, "account": true, "allow": true, "securityToken": true}

// yamlMessage is a yaml error without its "yaml: unmarshal errors:" preamble.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.TrimSpace(strings.Join(te.Errors, "; "))
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
