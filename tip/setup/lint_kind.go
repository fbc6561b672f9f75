package setup

import "strings"

// trustActions are the actions a role trust policy grants.
var trustActions = []string{"sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml", "sts:setcontext",
	"sts:tagsession", "sts:setsourceidentity", "sts:*", "sts:assumerole*"}

// autoKind guesses what a document is: with no Principal an identity
// policy; with principals granted only the role-assumption actions
// (sts:AssumeRole*, SetContext, TagSession, SetSourceIdentity) a trust
// policy; with principals granted anything else (a KMS key policy, a
// bucket policy, an application's actor policy) a resource policy.
func autoKind(stmts []*statement) Kind {
	kind := KindIdentity
	for _, st := range stmts {
		if !st.hasPrincipal {
			continue
		}
		kind = KindTrust
		for _, a := range append(append([]string{}, st.actions...), st.notActions...) {
			if !isTrustAction(a) {
				return KindResource
			}
		}
	}
	return kind
}

func isTrustAction(a string) bool {
	a = strings.ToLower(a)
	for _, t := range trustActions {
		if a == t {
			return true
		}
	}
	return false
}
