package setup

import (
	"strings"
)

// Condition keys of identity-enhanced sessions (see the IAM Identity Center
// guide, "AWS STS condition context keys for IAM Identity Center", and the
// service authorization reference for sts:SetContext).
const (
	// UserIDKey is in every request of a session that carries an Identity
	// Center user.
	UserIDKey = "identitystore:UserId"
	// QuickSightUserKey is the sandbox's model of the key a QuickSight
	// context puts in its session: AWS documents none.
	QuickSightUserKey = "quicksight:UserArn"
	// ContextProvidersKey lists the providers of the contexts an
	// sts:SetContext request sets; it is a key of SetContext only.
	ContextProvidersKey = "sts:RequestContextProviders"
	// IdentityCenterProvider is the Identity Center context provider.
	IdentityCenterProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"
	contextProviderPrefix  = "arn:aws:iam::aws:contextprovider/"
)

// Finding codes of identity-enhanced roles.
const (
	// CodeNoIdentityCondition: a permission of the identity-enhanced role
	// also works in a session without a person.
	CodeNoIdentityCondition = "no-identity-condition"
	// CodeSetContextAnyProvider: the trust lets its principal set a
	// context from any provider.
	CodeSetContextAnyProvider = "set-context-any-provider"
)

// IdentityCondition is the condition every permission statement of an
// identity-enhanced role needs.
const IdentityCondition = `"Condition": {"Null": {"identitystore:UserId": "false"}}`

// SetContextCondition is the condition of the trust's sts:SetContext
// statement: only Identity Center contexts, and at least one.
const SetContextCondition = `"Condition": {"ForAllValues:ArnEquals": {"sts:RequestContextProviders": "arn:aws:iam::aws:contextProvider/IdentityCenter"}, "Null": {"sts:RequestContextProviders": "false"}}`

// requiresKey reports whether the statement only applies when key is in
// the request: a Null false on it, or an operator that fails on an absent key.
func (st *statement) requiresKey(key string) bool {
	for op, keys := range st.conditions {
		for k, vals := range keys {
			if !strings.EqualFold(k, key) {
				continue
			}
			if op == "Null" {
				if len(vals) == 1 && strings.EqualFold(vals[0], "false") {
					return true
				}
				continue
			}
			if strings.Contains(op, "Not") || strings.HasSuffix(op, "IfExists") || strings.HasPrefix(op, "ForAllValues:") {
				continue // these hold when the key is absent
			}
			return true
		}
	}
	return false
}

// enhancedPermissions checks the permission policy of an identity-enhanced
// role: every Allow statement must need a person in the session.
func (l *linter) enhancedPermissions(stmts []*statement) {
	for _, st := range stmts {
		if st.effect != "Allow" || st.requiresKey(UserIDKey) || st.requiresKey(QuickSightUserKey) {
			continue
		}
		l.add(SeverityError, CodeNoIdentityCondition, st,
			"add "+IdentityCondition+" to this statement, so that it works only in identity-enhanced sessions",
			"the statement also works in a session without a person: anyone trusted to assume the role can call AssumeRole without ProvidedContexts (STS allows it) and use these rights with no identity")
	}
}

// restrictsProviders reports whether the statement limits
// sts:RequestContextProviders to named context providers and requires it.
func (st *statement) restrictsProviders() bool {
	if !st.requiresKey(ContextProvidersKey) {
		return false
	}
	for op, keys := range st.conditions {
		switch strings.ToLower(op) {
		case "forallvalues:arnequals", "forallvalues:stringequals", "forallvalues:arnlike", "forallvalues:stringlike":
		default:
			continue
		}
		for k, vals := range keys {
			if !strings.EqualFold(k, ContextProvidersKey) || len(vals) == 0 {
				continue
			}
			ok := true
			for _, v := range vals {
				if !strings.HasPrefix(strings.ToLower(v), contextProviderPrefix) || strings.ContainsAny(v, "*?") {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// setContextProviders checks that every statement that lets a principal
// set a context names the providers it may set.
func (l *linter) setContextProviders(stmts []*statement) {
	for _, st := range stmts {
		if !st.allows("sts:SetContext") || !st.hasPrincipal || st.restrictsProviders() {
			continue
		}
		fix := "add " + SetContextCondition + " to this statement"
		if st.allows("sts:AssumeRole") {
			fix = `move "sts:SetContext" out of this statement into its own statement for the same Principal with ` + SetContextCondition +
				" (the key exists only in SetContext requests: on sts:AssumeRole the condition would refuse every call)"
		}
		l.add(SeverityError, CodeSetContextAnyProvider, st, fix,
			"the statement lets its principal set an identity context from any provider: restrict sts:RequestContextProviders to the Identity Center provider and require it")
	}
}

// SetContextStatementFix is the fix that lets principal set an Identity
// Center context: a statement of its own, with the provider condition.
func SetContextStatementFix(principal string) string {
	typ := "AWS"
	if strings.HasSuffix(principal, ".amazonaws.com") {
		typ = "Service"
	}
	return `add a statement: {"Effect": "Allow", "Principal": {"` + typ + `": "` + principal + `"}, "Action": "sts:SetContext", ` + SetContextCondition + `}`
}
