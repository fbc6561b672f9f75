// Package iampolicy parses and evaluates IAM policy documents: identity
// policies, role trust policies and resource policies such as an Identity
// Center application's actor policy.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Document is a parsed policy.
type Document struct {
	Version    string
	Statements []Statement
}

// Statement is one policy statement.
type Statement struct {
	Sid          string
	Effect       string // Allow or Deny
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Conditions in the order written.
	Conditions []Condition
}

// Principals is the Principal element: "*" or a map of principal types.
type Principals struct {
	Any       bool
	AWS       []string
	Federated []string
	Service   []string
}

// Condition is one operator/key pair, e.g. StringEquals on "host/idp:aud".
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLike"
	Key      string
	Values   []string
}

// Error describes why a document is malformed.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errf(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// Parse decodes and checks a policy document.
func Parse(b []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, errf("policy is not a JSON object: %v", err)
	}
	d := &Document{}
	for k, v := range raw {
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != "2012-10-17" && s != "2008-10-17") {
				return nil, errf("Version must be \"2012-10-17\"")
			}
			d.Version = s
		case "Id":
		case "Statement":
			var list []any
			switch t := v.(type) {
			case []any:
				list = t
			case map[string]any:
				list = []any{t}
			default:
				return nil, errf("Statement must be an object or a list")
			}
			for i, s := range list {
				m, ok := s.(map[string]any)
				if !ok {
					return nil, errf("Statement[%d] must be an object", i)
				}
				st, err := parseStatement(m)
				if err != nil {
					return nil, errf("Statement[%d]: %v", i, err)
				}
				d.Statements = append(d.Statements, st)
			}
		default:
			return nil, errf("unknown policy element %q", k)
		}
	}
	if len(d.Statements) == 0 {
		return nil, errf("policy has no Statement")
	}
	return d, nil
}

// MustParse parses a document known to be valid; it panics otherwise and is
// meant for literals in tests and built-in worlds.
func MustParse(s string) *Document {
	d, err := Parse([]byte(s))
	if err != nil {
		panic(err)
	}
	return d
}

func parseStatement(m map[string]any) (Statement, error) {
	var st Statement
	var err error
	for k, v := range m {
		switch k {
		case "Sid":
			st.Sid, _ = v.(string)
		case "Effect":
			s, _ := v.(string)
			if s != "Allow" && s != "Deny" {
				return st, errf("Effect must be Allow or Deny")
			}
			st.Effect = s
		case "Principal", "NotPrincipal":
			p, err := parsePrincipals(v)
			if err != nil {
				return st, errf("%s: %v", k, err)
			}
			if k == "Principal" {
				st.Principal = p
			} else {
				st.NotPrincipal = p
			}
		case "Action":
			st.Action, err = stringList(k, v)
		case "NotAction":
			st.NotAction, err = stringList(k, v)
		case "Resource":
			st.Resource, err = stringList(k, v)
		case "NotResource":
			st.NotResource, err = stringList(k, v)
		case "Condition":
			st.Conditions, err = parseConditions(v)
		default:
			return st, errf("unknown statement element %q", k)
		}
		if err != nil {
			return st, err
		}
	}
	if st.Effect == "" {
		return st, errf("Effect is missing")
	}
	if len(st.Action) == 0 && len(st.NotAction) == 0 {
		return st, errf("Action is missing")
	}
	for _, a := range append(append([]string{}, st.Action...), st.NotAction...) {
		if a == "*" {
			continue
		}
		svc, name, ok := strings.Cut(a, ":")
		if !ok || svc == "" || name == "" || strings.ContainsAny(svc, "*? ") {
			return st, errf("action %q is not of the form service:Action", a)
		}
	}
	return st, nil
}

func stringList(name string, v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, errf("%s must hold strings", name)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, errf("%s is empty", name)
		}
		return out, nil
	}
	return nil, errf("%s must be a string or a list of strings", name)
}

func parsePrincipals(v any) (*Principals, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, errf("must be \"*\" or an object")
		}
		return &Principals{Any: true}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errf("must be \"*\" or an object")
	}
	p := &Principals{}
	for k, val := range m {
		list, err := stringList(k, val)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			p.AWS = list
		case "Federated":
			p.Federated = list
		case "Service":
			p.Service = list
		case "CanonicalUser":
		default:
			return nil, errf("unknown principal type %q", k)
		}
	}
	return p, nil
}

var operators = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true,
	"StringNotEqualsIgnoreCase": true, "StringLike": true, "StringNotLike": true,
	"ArnEquals": true, "ArnNotEquals": true, "ArnLike": true, "ArnNotLike": true,
	"Bool": true, "Null": true,
	"NumericEquals": true, "NumericNotEquals": true, "NumericLessThan": true,
	"NumericLessThanEquals": true, "NumericGreaterThan": true, "NumericGreaterThanEquals": true,
}

// baseOperator strips the ForAnyValue:/ForAllValues: prefix and IfExists suffix.
func baseOperator(op string) (set, base string, ifExists bool) {
	if s, rest, ok := strings.Cut(op, ":"); ok {
		set, op = s, rest
	}
	if strings.HasSuffix(op, "IfExists") && op != "Null" {
		ifExists = true
		op = strings.TrimSuffix(op, "IfExists")
	}
	return set, op, ifExists
}

func parseConditions(v any) ([]Condition, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errf("Condition must be an object")
	}
	ops := make([]string, 0, len(m))
	for op := range m {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var out []Condition
	for _, op := range ops {
		set, base, _ := baseOperator(op)
		if !operators[base] || (set != "" && set != "ForAnyValue" && set != "ForAllValues") {
			return nil, errf("unknown condition operator %q", op)
		}
		keys, ok := m[op].(map[string]any)
		if !ok {
			return nil, errf("condition %s must map keys to values", op)
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			vals, err := conditionValues(keys[k])
			if err != nil {
				return nil, errf("condition %s %s: %v", op, k, err)
			}
			out = append(out, Condition{Operator: op, Key: k, Values: vals})
		}
	}
	return out, nil
}

func conditionValues(v any) ([]string, error) {
	one := func(e any) (string, error) {
		switch t := e.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case json.Number:
			return t.String(), nil
		}
		return "", errf("values must be strings, numbers or booleans")
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}
