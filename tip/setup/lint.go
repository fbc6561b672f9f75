package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
)

// Kind says what a policy document is for; it decides which checks apply.
type Kind string

// Policy kinds.
const (
	// KindAuto treats a document without a Principal as an identity
	// policy, one whose principals get only the role-assumption actions as
	// a trust policy, and any other (a KMS key policy, a bucket policy) as
	// a resource policy.
	KindAuto Kind = "auto"
	// KindIdentity is a permission policy attached to a user or role.
	KindIdentity Kind = "identity"
	// KindTrust is any role trust policy (AssumeRolePolicyDocument).
	KindTrust Kind = "trust"
	// KindBridgeTrust is the trust policy of the bridge role: it must
	// trust the IdP's OIDC provider for sts:AssumeRoleWithWebIdentity
	// with an aud condition.
	KindBridgeTrust Kind = "bridge-trust"
	// KindResource is a resource-based policy, such as the actor policy of
	// an Identity Center application: it names a Principal and a Resource.
	KindResource Kind = "resource"
	// KindEnhancedTrust is the trust policy of the identity-enhanced
	// role: every principal it trusts for sts:AssumeRole must also be
	// trusted for sts:SetContext.
	KindEnhancedTrust Kind = "enhanced-trust"
	// KindEnhanced is a permission policy of the identity-enhanced role:
	// an identity policy whose statements must work only in
	// identity-enhanced sessions.
	KindEnhanced Kind = "enhanced"
)

// Kinds lists the valid kinds.
func Kinds() []Kind {
	return []Kind{KindAuto, KindIdentity, KindResource, KindTrust, KindBridgeTrust, KindEnhancedTrust, KindEnhanced}
}

// ParseKind validates a kind name ("" is KindAuto).
func ParseKind(s string) (Kind, error) {
	if s == "" {
		return KindAuto, nil
	}
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown policy kind %q (use auto, identity, resource, trust, bridge-trust, enhanced-trust or enhanced)", s)
}

func (k Kind) isTrust() bool { return k == KindTrust || k == KindBridgeTrust || k == KindEnhancedTrust }

// Severity of a finding.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding codes.
const (
	CodeInvalidJSON       = "invalid-json"
	CodeInvalidPolicy     = "invalid-policy"
	CodeVersion           = "version"
	CodeMalformedAction   = "malformed-action"
	CodeUnknownService    = "unknown-service"
	CodeMissingResource   = "missing-resource"
	CodePrincipalInPolicy = "principal-in-identity-policy"
	CodeMissingPrincipal  = "missing-principal"
	CodeResourceInTrust   = "resource-in-trust-policy"
	CodeWebIdentityNoAud  = "web-identity-no-aud"
	CodeMissingSetContext = "missing-set-context"
	CodeNoWebIdentity     = "no-web-identity"
	CodeNoAssumeRole      = "no-assume-role"
	CodeWildcardPrincipal = "wildcard-principal"
)

// Finding is one problem in a policy document.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	// Statement is the 1-based index of the statement; 0 for the document.
	Statement int    `json:"statement,omitempty"`
	Sid       string `json:"sid,omitempty"`
	Message   string `json:"message"`
	Fix       string `json:"fix,omitempty"`
}

func (f Finding) String() string {
	where := ""
	if f.Statement > 0 {
		where = fmt.Sprintf("Statement[%d]", f.Statement)
		if f.Sid != "" {
			where += " (" + f.Sid + ")"
		}
		where += ": "
	}
	return fmt.Sprintf("%s %s: %s%s", f.Severity, f.Code, where, f.Message)
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// statement is a statement as written, for linting.
type statement struct {
	index        int
	sid          string
	effect       string
	hasPrincipal bool
	anyPrincipal bool
	principals   map[string][]string // AWS, Federated, Service, CanonicalUser
	actions      []string
	notActions   []string
	hasResource  bool
	conditions   map[string]map[string][]string // operator → key → values
}

// actionRe is the shape of an IAM action: prefix:Name, wildcards allowed in the name.
var actionRe = lazyre.New(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$`)

// Lint checks a policy document of the given kind. It never fails: an
// unreadable document is a finding.
func Lint(doc []byte, kind Kind) []Finding {
	var l linter
	l.run(doc, kind)
	sort.SliceStable(l.out, func(i, j int) bool { return l.out[i].Statement < l.out[j].Statement })
	return l.out
}

type linter struct{ out []Finding }

func (l *linter) add(sev Severity, code string, st *statement, fix, format string, a ...any) {
	f := Finding{Severity: sev, Code: code, Message: fmt.Sprintf(format, a...), Fix: fix}
	if st != nil {
		f.Statement, f.Sid = st.index, st.sid
	}
	l.out = append(l.out, f)
}

func (l *linter) run(doc []byte, kind Kind) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		l.add(SeverityError, CodeInvalidJSON, nil, "write the policy as one JSON object", "the document is not a JSON object: %v", err)
		return
	}
	if _, err := iampolicy.Parse(doc); err != nil {
		l.add(SeverityError, CodeInvalidPolicy, nil, "", "IAM would reject the document: %v", err)
	}
	if v, ok := raw["Version"]; !ok {
		l.add(SeverityWarning, CodeVersion, nil, `add "Version": "2012-10-17"`,
			"the document has no Version; IAM then uses 2008-10-17, which has no policy variables")
	} else if v != "2012-10-17" && v != "2008-10-17" {
		l.add(SeverityError, CodeVersion, nil, `use "Version": "2012-10-17"`, "Version %v is not an IAM policy language version", v)
	}
	stmts := statements(raw["Statement"])
	if kind == KindAuto || kind == "" {
		kind = autoKind(stmts)
	}
	for _, st := range stmts {
		l.actions(st)
		switch {
		case kind == KindResource:
			if !st.hasPrincipal {
				l.add(SeverityError, CodeMissingPrincipal, st, `add the "Principal" the policy applies to`, "a resource-based policy statement needs a Principal")
			}
		case kind.isTrust():
			if !st.hasPrincipal {
				l.add(SeverityError, CodeMissingPrincipal, st, `add the "Principal" the role trusts`, "a trust policy statement needs a Principal")
			}
			if st.hasResource {
				l.add(SeverityError, CodeResourceInTrust, st, `remove "Resource" from the trust policy`, "a trust policy statement must not have a Resource (IAM: Has prohibited field Resource)")
			}
		default:
			if st.hasPrincipal {
				l.add(SeverityError, CodePrincipalInPolicy, st, `remove "Principal": identity policies apply to the identity they are attached to`,
					"an identity policy statement must not have a Principal (is this a trust policy? lint it with --kind trust)")
			}
			if !st.hasResource {
				l.add(SeverityError, CodeMissingResource, st, `add "Resource" (the ARNs the actions apply to, or "*")`, "an identity policy statement needs a Resource")
			}
		}
	}
	if kind.isTrust() {
		l.trust(stmts, kind)
	}
	switch kind {
	case KindEnhancedTrust:
		l.setContextProviders(stmts)
	case KindEnhanced:
		l.enhancedPermissions(stmts)
	}
}

// actions checks each action's shape and service prefix.
func (l *linter) actions(st *statement) {
	for _, a := range append(append([]string{}, st.actions...), st.notActions...) {
		if a == "*" {
			continue
		}
		if !actionRe.MatchString(a) {
			l.add(SeverityError, CodeMalformedAction, st, "write actions as service-prefix:ActionName, e.g. sts:AssumeRole",
				"action %q is not of the form service:Action", a)
			continue
		}
		prefix, _, _ := strings.Cut(a, ":")
		if !KnownPrefix(prefix) {
			fix := "check the prefix with `tipctl iam services --search " + prefix + "`"
			if s := SuggestPrefix(prefix); s != "" {
				fix = fmt.Sprintf("did you mean %s:%s? (%s)", s, a[len(prefix)+1:], strings.Join(ServiceNames(s), ", "))
			}
			l.add(SeverityError, CodeUnknownService, st, fix, "action %q has an unknown service prefix %q", a, prefix)
			continue
		}
		l.actionName(st, a, prefix)
	}
}

// allows reports whether an Allow statement grants action (wildcards, case-insensitive).
func (st *statement) allows(action string) bool {
	if st.effect != "Allow" {
		return false
	}
	action = strings.ToLower(action)
	if len(st.notActions) > 0 {
		for _, a := range st.notActions {
			if iampolicy.Wildcard(strings.ToLower(a), action) {
				return false
			}
		}
		return true
	}
	for _, a := range st.actions {
		if iampolicy.Wildcard(strings.ToLower(a), action) {
			return true
		}
	}
	return false
}

// hasConditionKeySuffix reports whether a condition restricts a key ending
// in suffix to something other than "*".
func (st *statement) hasConditionKeySuffix(suffix string) bool {
	for _, keys := range st.conditions {
		for k, vals := range keys {
			if !strings.HasSuffix(strings.ToLower(k), suffix) {
				continue
			}
			for _, v := range vals {
				if v != "*" {
					return true
				}
			}
		}
	}
	return false
}

func (l *linter) trust(stmts []*statement, kind Kind) {
	var webIdentity, assumeRole int
	for _, st := range stmts {
		if st.allows("sts:AssumeRoleWithWebIdentity") && (len(st.principals["Federated"]) > 0 || st.anyPrincipal) {
			webIdentity++
			if !st.hasConditionKeySuffix(":aud") {
				provider := "HOST/PATH"
				if f := st.principals["Federated"]; len(f) > 0 {
					if _, hp, ok := strings.Cut(f[0], ":oidc-provider/"); ok {
						provider = hp
					} else {
						provider = f[0]
					}
				}
				l.add(SeverityError, CodeWebIdentityNoAud, st,
					fmt.Sprintf(`add "Condition": {"StringEquals": {"%s:aud": "<your IdP client id>"}}`, provider),
					"the statement trusts web identity tokens without an aud condition: a token the IdP issued to any client could assume the role")
			}
		}
		if st.allows("sts:AssumeRole") && st.hasPrincipal {
			assumeRole++
			if st.anyPrincipal || contains(st.principals["AWS"], "*") {
				if len(st.conditions) == 0 {
					l.add(SeverityError, CodeWildcardPrincipal, st, "name the roles or accounts to trust instead of \"*\"",
						"the statement lets any AWS principal assume the role")
				}
			}
		}
	}
	// Every principal trusted for sts:AssumeRole needs sts:SetContext too
	// to carry an identity context (ProvidedContexts).
	if kind != KindBridgeTrust {
		sev := SeverityWarning
		if kind == KindEnhancedTrust {
			sev = SeverityError
		}
		for _, st := range stmts {
			if !st.allows("sts:AssumeRole") || !st.hasPrincipal || st.allows("sts:SetContext") {
				continue
			}
			for _, p := range append(append([]string{}, st.principals["AWS"]...), st.principals["Service"]...) {
				if !setContextElsewhere(stmts, p) {
					l.add(sev, CodeMissingSetContext, st, SetContextStatementFix(p),
						"%s may assume the role but not set an identity context (sts:SetContext), so identity-enhanced sessions (AssumeRole with ProvidedContexts) are refused with AccessDenied", p)
				}
			}
		}
	}
	switch {
	case kind == KindBridgeTrust && webIdentity == 0:
		l.add(SeverityError, CodeNoWebIdentity, nil,
			`add a statement: {"Effect": "Allow", "Principal": {"Federated": "<OIDC provider ARN>"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"<HOST/PATH>:aud": "<client id>"}}}`,
			"the bridge role does not trust any OIDC provider for sts:AssumeRoleWithWebIdentity")
	case kind == KindEnhancedTrust && assumeRole == 0:
		l.add(SeverityError, CodeNoAssumeRole, nil,
			`add two statements: {"Effect": "Allow", "Principal": {"AWS": "<bridge role ARN>"}, "Action": "sts:AssumeRole"} and {"Effect": "Allow", "Principal": {"AWS": "<bridge role ARN>"}, "Action": "sts:SetContext", `+SetContextCondition+`}`,
			"the identity-enhanced role trusts no principal for sts:AssumeRole")
	}
}

func setContextElsewhere(stmts []*statement, principal string) bool {
	for _, st := range stmts {
		if st.allows("sts:SetContext") && (st.anyPrincipal || contains(st.principals["AWS"], principal) ||
			contains(st.principals["Service"], principal) || contains(st.principals["AWS"], "*")) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

// statements reads the Statement element leniently (Lint reports what
// iampolicy.Parse refuses; here it only needs what is readable).
func statements(v any) []*statement {
	var list []any
	switch t := v.(type) {
	case []any:
		list = t
	case map[string]any:
		list = []any{t}
	}
	var out []*statement
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		st := &statement{index: i + 1, principals: map[string][]string{}, conditions: map[string]map[string][]string{}}
		st.sid, _ = m["Sid"].(string)
		st.effect, _ = m["Effect"].(string)
		st.actions = strs(m["Action"])
		st.notActions = strs(m["NotAction"])
		_, st.hasResource = m["Resource"]
		if _, ok := m["NotResource"]; ok {
			st.hasResource = true
		}
		if p, ok := m["Principal"]; ok {
			st.hasPrincipal = true
			switch t := p.(type) {
			case string:
				st.anyPrincipal = t == "*"
			case map[string]any:
				for k, vals := range t {
					st.principals[k] = strs(vals)
				}
			}
		}
		if c, ok := m["Condition"].(map[string]any); ok {
			for op, keys := range c {
				km, ok := keys.(map[string]any)
				if !ok {
					continue
				}
				st.conditions[op] = map[string][]string{}
				for k, vals := range km {
					st.conditions[op][k] = strs(vals)
				}
			}
		}
		out = append(out, st)
	}
	return out
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			switch s := e.(type) {
			case string:
				out = append(out, s)
			case json.Number:
				out = append(out, s.String())
			case bool:
				out = append(out, fmt.Sprint(s))
			}
		}
		return out
	case json.Number:
		return []string{t.String()}
	case bool:
		return []string{fmt.Sprint(t)}
	}
	return nil
}
