//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// has wraps Template.HasResourceProperties, which panics through jsii, into a
// test failure that names what was missing.
func has(t *testing.T, typ string, props any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s with %v: %v", typ, props, r)
		}
	}()
	synth.template.HasResourceProperties(jsii.String(typ), props)
}

// resource is one entry of the template's Resources.
type resource struct {
	ID   string
	Type string
	Body map[string]any
}

func (r resource) props() map[string]any {
	p, _ := r.Body["Properties"].(map[string]any)
	return p
}

// prop follows keys (map keys or list indexes as strings) into the properties.
func (r resource) prop(keys ...string) any {
	var v any = r.props()
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// resourcesOf returns the resources of typ, sorted by logical id.
func resourcesOf(typ string) []resource {
	var out []resource
	for id, raw := range synth.doc["Resources"].(map[string]any) {
		body := raw.(map[string]any)
		if body["Type"] == typ {
			out = append(out, resource{ID: id, Type: typ, Body: body})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// only returns the one resource of typ for which match holds.
func only(t *testing.T, typ string, match func(resource) bool) resource {
	t.Helper()
	var found []resource
	for _, r := range resourcesOf(typ) {
		if match == nil || match(r) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one matching %s, found %d", typ, len(found))
	}
	return found[0]
}

func propEquals(keys []string, want any) func(resource) bool {
	return func(r resource) bool { return render(r.prop(keys...)) == render(want) }
}

// render turns a CloudFormation value into a readable string with references
// as <LogicalId> and <LogicalId.Attr>, so that ARNs built with Fn::Join can be
// compared with plain strings: "<ReportsBucket1234.Arn>/reports/*".
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"]; ok {
			return "<" + fmt.Sprint(ref) + ">"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var b []string
			for _, p := range parts {
				b = append(b, render(p))
			}
			return strings.Join(b, fmt.Sprint(j[0]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// statement is one IAM policy statement with rendered resources.
type statement struct {
	Sid        string
	Effect     string
	Actions    []string
	Resources  []string
	Conditions map[string]any
}

// roleStatements collects every statement granted to the role with logical id
// roleID: its inline policies and every AWS::IAM::Policy attached to it.
func roleStatements(t *testing.T, roleID string) []statement {
	t.Helper()
	role := only(t, "AWS::IAM::Role", func(r resource) bool { return r.ID == roleID })
	if m := role.prop("ManagedPolicyArns"); m != nil {
		t.Errorf("role %s has managed policies %v; grants must be explicit", roleID, m)
	}
	var docs []any
	for _, p := range list(role.prop("Policies")) {
		docs = append(docs, p.(map[string]any)["PolicyDocument"])
	}
	for _, p := range resourcesOf("AWS::IAM::Policy") {
		for _, r := range list(p.prop("Roles")) {
			if render(r) == "<"+roleID+">" {
				docs = append(docs, p.prop("PolicyDocument"))
			}
		}
	}
	var out []statement
	for _, d := range docs {
		for _, raw := range list(d.(map[string]any)["Statement"]) {
			m := raw.(map[string]any)
			st := statement{Effect: fmt.Sprint(m["Effect"])}
			st.Sid, _ = m["Sid"].(string)
			for _, a := range list(m["Action"]) {
				st.Actions = append(st.Actions, fmt.Sprint(a))
			}
			for _, r := range list(m["Resource"]) {
				st.Resources = append(st.Resources, render(r))
			}
			if m["NotAction"] != nil || m["NotResource"] != nil {
				t.Errorf("role %s: NotAction/NotResource grant more than they name: %v", roleID, m)
			}
			st.Conditions, _ = m["Condition"].(map[string]any)
			out = append(out, st)
		}
	}
	return out
}

// glob matches IAM-style patterns: '*' is any run of characters, '?' one.
func glob(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if glob(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && glob(pattern[1:], s[1:])
	default:
		return s != "" && pattern[0] == s[0] && glob(pattern[1:], s[1:])
	}
}

// grants returns the Allow statements that let action on resource through,
// ignoring conditions (the caller checks those).
func grants(sts []statement, action, res string) []statement {
	var out []statement
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		actionOK := false
		for _, a := range st.Actions {
			// Action names are case-insensitive; resources are not.
			if glob(strings.ToLower(a), strings.ToLower(action)) {
				actionOK = true
			}
		}
		if !actionOK {
			continue
		}
		for _, r := range st.Resources {
			if glob(r, res) {
				out = append(out, st)
				break
			}
		}
	}
	return out
}
