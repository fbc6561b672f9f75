package iampolicy

import (
	"fmt"
	"strings"
)

// Explanation says which statement decided an evaluation, for audit logs
// and denial messages. It is computed by the same matching as Evaluate.
type Explanation struct {
	Decision Decision
	// Doc is the index of the document holding Statement (-1 when none).
	Doc int
	// Statement is the deciding statement: the Deny that matched, or the
	// first Allow that matched; nil for an implicit deny.
	Statement *Statement
	// Index is Statement's position in its document.
	Index int
	// NearMiss, for an implicit deny, is the first statement whose action
	// and resource matched but whose conditions did not hold.
	NearMiss *Statement
	// FailedCondition is NearMiss's first condition that did not hold.
	FailedCondition *Condition
}

// Label names the statement: its Sid, or "#<index>" when it has none.
func (x Explanation) Label() string {
	if x.Statement == nil {
		return ""
	}
	if x.Statement.Sid != "" {
		return x.Statement.Sid
	}
	return fmt.Sprintf("#%d", x.Index)
}

// String is one sentence: what decided, and for a near miss, which condition failed.
func (x Explanation) String() string {
	switch {
	case x.Decision == ExplicitDeny:
		return "explicit deny by statement " + x.Label()
	case x.Decision == Allow:
		return "allowed by statement " + x.Label()
	case x.NearMiss != nil && x.FailedCondition != nil:
		sid := x.NearMiss.Sid
		if sid == "" {
			sid = "(no Sid)"
		}
		c := x.FailedCondition
		return fmt.Sprintf("no statement allows it; statement %s matches the action and resource but its condition %s %s %s does not hold",
			sid, c.Operator, c.Key, strings.Join(c.Values, ","))
	}
	return "no statement allows it (implicit deny)"
}

// Explain evaluates like Evaluate and says which statement decided.
func Explain(req Request, docs ...*Document) Explanation {
	out := Explanation{Decision: ImplicitDeny, Doc: -1}
	for di, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.Statements {
			st := &d.Statements[i]
			if st.matches(req) {
				if st.Effect == "Deny" {
					return Explanation{Decision: ExplicitDeny, Doc: di, Statement: st, Index: i}
				}
				if out.Decision != Allow {
					out = Explanation{Decision: Allow, Doc: di, Statement: st, Index: i}
				}
				continue
			}
			if out.Decision == ImplicitDeny && out.NearMiss == nil && st.Effect == "Allow" {
				if c := st.failedCondition(req); c != nil {
					out.NearMiss, out.FailedCondition = st, c
				}
			}
		}
	}
	return out
}

// failedCondition returns the first condition that fails when everything
// but the conditions matches req; nil otherwise.
func (st *Statement) failedCondition(req Request) *Condition {
	bare := *st
	bare.Conditions = nil
	if !bare.matches(req) {
		return nil
	}
	for i := range st.Conditions {
		if !st.Conditions[i].holds(req.Context) {
			return &st.Conditions[i]
		}
	}
	return nil
}
