package iampolicy

import (
	"strconv"
	"strings"
)

// Decision is the outcome of evaluating policies.
type Decision int

const (
	// ImplicitDeny means no statement allowed the request.
	ImplicitDeny Decision = iota
	// Allow means a statement allowed it and none denied it.
	Allow
	// ExplicitDeny means a Deny statement matched.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Caller identifies who makes a request, for Principal matching.
type Caller struct {
	// Account is the caller's account id.
	Account string
	// ARNs are the caller's identities: for a role session both the
	// assumed-role ARN and the role ARN.
	ARNs []string
	// Federated is the federated provider (an OIDC provider ARN) for web identity.
	Federated string
	// Service is an AWS service principal, e.g. access-grants.s3.amazonaws.com.
	Service string
}

// Request is what is being asked.
type Request struct {
	Action   string
	Resource string
	// Caller is matched against Principal/NotPrincipal; nil skips that check
	// (identity-based policies have no Principal).
	Caller *Caller
	// Context holds condition keys; lookups ignore case.
	Context map[string][]string
}

// Evaluate combines documents: an explicit Deny wins, then any Allow.
func Evaluate(req Request, docs ...*Document) Decision {
	out := ImplicitDeny
	for _, d := range docs {
		if d == nil {
			continue
		}
		switch d.Evaluate(req) {
		case ExplicitDeny:
			return ExplicitDeny
		case Allow:
			out = Allow
		}
	}
	return out
}

// Evaluate runs one document.
func (d *Document) Evaluate(req Request) Decision {
	out := ImplicitDeny
	for i := range d.Statements {
		st := &d.Statements[i]
		if !st.matches(req) {
			continue
		}
		if st.Effect == "Deny" {
			return ExplicitDeny
		}
		out = Allow
	}
	return out
}

// Matches reports whether the statement applies to req, ignoring Effect.
func (st *Statement) Matches(req Request) bool { return st.matches(req) }

func (st *Statement) matches(req Request) bool {
	if len(st.Action) > 0 && !anyMatch(st.Action, req.Action, true) {
		return false
	}
	if len(st.NotAction) > 0 && anyMatch(st.NotAction, req.Action, true) {
		return false
	}
	res := req.Resource
	if res == "" {
		res = "*"
	}
	if len(st.Resource) > 0 && !anyMatch(st.Resource, res, false) {
		return false
	}
	if len(st.NotResource) > 0 && anyMatch(st.NotResource, res, false) {
		return false
	}
	if req.Caller != nil {
		if st.Principal != nil && !st.Principal.match(req.Caller) {
			return false
		}
		if st.NotPrincipal != nil && st.NotPrincipal.match(req.Caller) {
			return false
		}
	}
	for _, c := range st.Conditions {
		if !c.holds(req.Context) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Wildcard(strings.ToLower(p), strings.ToLower(v)) {
				return true
			}
		} else if Wildcard(p, v) {
			return true
		}
	}
	return false
}

// Wildcard matches s against a pattern where * matches any run and ? one character.
func Wildcard(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

func (p *Principals) match(c *Caller) bool {
	if p.Any {
		return true
	}
	for _, a := range p.AWS {
		if a == "*" {
			return true
		}
		if a == c.Account || a == "arn:aws:iam::"+c.Account+":root" {
			if c.Account != "" {
				return true
			}
		}
		for _, arn := range c.ARNs {
			if a == arn {
				return true
			}
		}
	}
	for _, f := range p.Federated {
		if c.Federated != "" && f == c.Federated {
			return true
		}
	}
	for _, s := range p.Service {
		if c.Service != "" && s == c.Service {
			return true
		}
	}
	return false
}

func lookup(ctx map[string][]string, key string) ([]string, bool) {
	if v, ok := ctx[key]; ok {
		return v, true
	}
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func (c Condition) holds(ctx map[string][]string) bool {
	set, base, ifExists := baseOperator(c.Operator)
	vals, present := lookup(ctx, c.Key)
	if base == "Null" {
		want := len(c.Values) > 0 && strings.EqualFold(c.Values[0], "true")
		return want == !present
	}
	if !present || len(vals) == 0 {
		if ifExists || set == "ForAllValues" {
			return true
		}
		// Negated operators hold when the key is absent, as in IAM.
		return strings.Contains(base, "Not")
	}
	negated := strings.Contains(base, "Not")
	positive := strings.Replace(base, "Not", "", 1)
	one := func(v string) bool {
		for _, want := range c.Values {
			if compare(positive, want, v) {
				return true
			}
		}
		return false
	}
	if set == "ForAllValues" {
		for _, v := range vals {
			if one(v) == negated {
				return false
			}
		}
		return true
	}
	// Single-valued keys and ForAnyValue: any request value.
	if negated {
		for _, v := range vals {
			if one(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if one(v) {
			return true
		}
	}
	return false
}

func compare(op, want, got string) bool {
	switch op {
	case "StringEquals", "ArnEquals":
		return want == got
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(want, got)
	case "StringLike", "ArnLike":
		return Wildcard(want, got)
	case "Bool":
		return strings.EqualFold(want, got)
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		w, err1 := strconv.ParseFloat(want, 64)
		g, err2 := strconv.ParseFloat(got, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch op {
		case "NumericEquals":
			return g == w
		case "NumericLessThan":
			return g < w
		case "NumericLessThanEquals":
			return g <= w
		case "NumericGreaterThan":
			return g > w
		}
		return g >= w
	}
	return false
}
