package iam

import (
	"strconv"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/awsproto"
)

type evaluationXML struct {
	EvalActionName       string
	EvalResourceName     string
	EvalDecision         string
	MatchedStatements    []matchedXML `xml:"MatchedStatements>member"`
	MissingContextValues []string     `xml:"MissingContextValues>member"`
}

type matchedXML struct {
	SourcePolicyId   string
	SourcePolicyType string
}

// simulatePrincipalPolicy evaluates the identity policies of a role (and
// any PolicyInputList) with the sandbox's own policy engine, the one every
// service authorizes with.
func (s *Service) simulatePrincipalPolicy(req *request) (any, *awsproto.Error) {
	src, e := str(req, "PolicySourceArn", "policySourceArn", true, 20, 2048, nil)
	if e != nil {
		return nil, e
	}
	actions := list(req, "ActionNames")
	if len(actions) == 0 {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	resources := list(req, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	if e := s.authorize(req, src); e != nil {
		return nil, e
	}
	type source struct {
		id, typ string
		doc     *iampolicy.Document
	}
	var docs []source
	if r, ok := s.store.RoleByArn(src); ok {
		for i, d := range r.Policies {
			id, typ := r.Name+"_policy"+strconv.Itoa(i+1), "role"
			if j := i - (len(r.Policies) - len(r.Inline) - len(r.Attached)); j >= 0 && j < len(r.Inline) {
				id = r.Inline[j].Name
			} else if k := j - len(r.Inline); j >= 0 && k >= 0 {
				id, typ = s.store.Managed[r.Attached[k]].Name, "user-managed"
			}
			docs = append(docs, source{id, typ, d})
		}
	} else if u, ok := s.userByArn(src); ok {
		for i, d := range u.Policies {
			docs = append(docs, source{u.Name + "_policy" + strconv.Itoa(i+1), "user", d})
		}
	} else {
		return nil, noSuchEntity("The entity %s does not exist.", awsproto.Truncate(src, 256))
	}
	for i, p := range list(req, "PolicyInputList") {
		d, err := iampolicy.Parse([]byte(p))
		if err != nil {
			return nil, invalidInput("PolicyInputList.%d: %v", i+1, err)
		}
		docs = append(docs, source{"PolicyInputList." + strconv.Itoa(i+1), "none", d})
	}
	ctx := map[string][]string{}
	for i := 1; ; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i) + "."
		k, ok := req.form[p+"ContextKeyName"]
		if !ok {
			break
		}
		ctx[k[0]] = list(req, p+"ContextKeyValues")
	}
	out := struct {
		EvaluationResults []evaluationXML `xml:"EvaluationResults>member"`
		IsTruncated       bool
	}{EvaluationResults: []evaluationXML{}}
	for _, a := range actions {
		for _, res := range resources {
			ev := evaluationXML{EvalActionName: a, EvalResourceName: res, EvalDecision: "implicitDeny", MatchedStatements: []matchedXML{}, MissingContextValues: []string{}}
			r := iampolicy.Request{Action: a, Resource: res, Context: ctx}
			for _, d := range docs {
				switch d.doc.Evaluate(r) {
				case iampolicy.ExplicitDeny:
					ev.EvalDecision = "explicitDeny"
					ev.MatchedStatements = append(ev.MatchedStatements, matchedXML{d.id, d.typ})
				case iampolicy.Allow:
					if ev.EvalDecision != "explicitDeny" {
						ev.EvalDecision = "allowed"
					}
					ev.MatchedStatements = append(ev.MatchedStatements, matchedXML{d.id, d.typ})
				}
			}
			out.EvaluationResults = append(out.EvaluationResults, ev)
		}
	}
	return out, nil
}

func (s *Service) userByArn(arn string) (*User, bool) {
	for _, u := range s.store.UserList {
		if u.Arn == arn {
			return u, true
		}
	}
	return nil, false
}
