package qbusiness

import (
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Decision kinds Q Business records (see callctx.Decision).
const (
	// KindACL: document ACLs withheld documents from an answer (a callctx.Limit).
	KindACL = "qbusiness-document-acl"
	// KindIdentityAware: the operation needs an identity-enhanced session.
	KindIdentityAware = "identity-aware-operations"
)

// Why says which ACL entry lets the person see d ("group emea-sales",
// "user alice"), or "" when none does. Allows is Why != "".
func (pr Person) Why(d world.QBusinessDocument) string {
	for _, u := range d.Users {
		if u == pr.User {
			return "user " + u
		}
	}
	for _, g := range d.Groups {
		for _, mine := range pr.Groups {
			if g == mine {
				return "group " + g
			}
		}
	}
	return ""
}

// aclLimit describes the documents the person's ACLs withheld from an
// answer, or false when every document was permitted.
func (a *Application) aclLimit(pr Person) (callctx.Decision, bool) {
	var withheld []string
	for _, d := range a.Documents {
		if !pr.Allows(d) {
			withheld = append(withheld, d.ID)
		}
	}
	if len(withheld) == 0 {
		return callctx.Decision{}, false
	}
	groups := "no group"
	if len(pr.Groups) > 0 {
		groups = "groups " + strings.Join(pr.Groups, ", ")
	}
	shown := withheld
	if len(shown) > 10 {
		shown = shown[:10]
	}
	more := ""
	if n := len(withheld) - len(shown); n > 0 {
		more = " and " + itoa(n) + " more"
	}
	return callctx.Decision{Kind: KindACL, Action: "qbusiness:ChatSync", Resource: a.Arn, Policy: "document ACLs",
		Reason: "the answer drew only on the " + itoa(len(a.Documents)-len(withheld)) + " of " + itoa(len(a.Documents)) +
			" documents whose ACL names user " + pr.User + " or one of their " + groups + "; withheld: " + strings.Join(shown, ", ") + more}, true
}

func itoa(n int) string { return strconv.Itoa(n) }
