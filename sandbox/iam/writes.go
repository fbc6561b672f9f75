package iam

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// The write operations change the live world through the runtime's
// Change (the sandbox's write lock); a role created now can be assumed by
// the next request.

// iamWrites are the operations that change IAM; they take the sandbox's
// write lock themselves.
var iamWrites = map[string]func(*Service, *request) (any, *awsproto.Error){
	"CreateOpenIDConnectProvider":           (*Service).createOIDCProvider,
	"AddClientIDToOpenIDConnectProvider":    (*Service).addClientID,
	"UpdateOpenIDConnectProviderThumbprint": (*Service).updateThumbprint,
	"DeleteOpenIDConnectProvider":           (*Service).deleteOIDCProvider,
	"CreateRole":                            (*Service).createRole,
	"DeleteRole":                            (*Service).deleteRole,
	"TagRole":                               (*Service).tagRole,
	"UpdateAssumeRolePolicy":                (*Service).updateAssumeRolePolicy,
	"PutRolePolicy":                         (*Service).putRolePolicy,
	"DeleteRolePolicy":                      (*Service).deleteRolePolicy,
	"CreatePolicy":                          (*Service).createPolicy,
	"AttachRolePolicy":                      (*Service).attachRolePolicy,
	"DetachRolePolicy":                      (*Service).detachRolePolicy,
}

func init() {
	for k, v := range map[string]func(*Service, *request) (any, *awsproto.Error){
		"GetRolePolicy":            (*Service).getRolePolicy,
		"ListRolePolicies":         (*Service).listRolePolicies,
		"GetPolicy":                (*Service).getPolicy,
		"GetPolicyVersion":         (*Service).getPolicyVersion,
		"ListAttachedRolePolicies": (*Service).listAttachedRolePolicies,
		"SimulatePrincipalPolicy":  (*Service).simulatePrincipalPolicy,
	} {
		iamOperations[k] = v
	}
}

// Model patterns (botocore iam 2010-05-08).
var (
	nameRe       = lazyre.New(`^[\w+=,.@-]+$`)
	pathRe       = lazyre.New(`^(/|/[!-~]+/)$`)
	policyPathRe = lazyre.New(`^((/[A-Za-z0-9\.,\+@=_-]+)*)/$`)
	documentRe   = lazyre.New(`^[\t\n\r\x{20}-\x{FF}]+$`)
	thumbprintRe = lazyre.New(`^[0-9a-fA-F]{40}$`)
)

func entityExists(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "EntityAlreadyExists", format, a...)
}

func malformed(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", format, a...)
}

func invalidInput(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInput", format, a...)
}

// str validates a string member: required, length and pattern, as the
// model says (ValidationError).
func str(req *request, name, member string, required bool, min, max int, re *lazyre.Regexp) (string, *awsproto.Error) {
	v, ok := req.form[name]
	if !ok {
		if required {
			return "", awsproto.Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
		}
		return "", nil
	}
	s := v[0]
	if n := len([]rune(s)); n < min || n > max {
		return "", validationError(member, s, "Member must have length between "+strconv.Itoa(min)+" and "+strconv.Itoa(max))
	}
	if re != nil && !re.MatchString(s) {
		return "", validationError(member, s, "Member must satisfy regular expression pattern: "+strings.Trim(re.String(), "^$"))
	}
	return s, nil
}

// list reads a member list (Name.member.N).
func list(req *request, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := req.form[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func roleName(req *request) (string, *awsproto.Error) {
	return str(req, "RoleName", "roleName", true, 1, 64, nameRe)
}

func (s *Service) roleArn(name string) string {
	return "arn:aws:iam::" + s.store.Account + ":role/" + name
}

// document validates a policy document member and parses it.
func document(req *request, name, member string) (string, *awsproto.Error) {
	doc, e := str(req, name, member, true, 1, 131072, documentRe)
	if e != nil {
		return "", e
	}
	if _, err := iampolicy.Parse([]byte(doc)); err != nil {
		return "", malformed("%v", err)
	}
	return doc, nil
}

func policy(doc string) world.Policy { return world.Policy{JSON: []byte(doc)} }

// change authorizes the action on resource and applies f to a copy of the world.
func (s *Service) change(req *request, resource string, f func(w *world.World) *awsproto.Error) (any, *awsproto.Error) {
	if e := s.authorize(req, resource); e != nil {
		return nil, e
	}
	return nil, s.rt.Change(f)
}

// form reads request members in order and keeps the first error, so that
// a handler reads its inputs and then checks once, answering the first
// bad member as before.
type form struct {
	req *request
	err *awsproto.Error
}

func (f *form) str(name, member string, required bool, min, max int, re *lazyre.Regexp) string {
	if f.err != nil {
		return ""
	}
	v, e := str(f.req, name, member, required, min, max, re)
	f.err = e
	return v
}

func (f *form) roleName() string   { return f.str("RoleName", "roleName", true, 1, 64, nameRe) }
func (f *form) policyName() string { return f.str("PolicyName", "policyName", true, 1, 128, nameRe) }
func (f *form) description() string {
	return f.str("Description", "description", false, 0, 1000, nil)
}

// path reads Path, "/" when absent.
func (f *form) path(re *lazyre.Regexp) string {
	if p := f.str("Path", "path", false, 1, 512, re); p != "" {
		return p
	}
	return "/"
}

// document reads and parses a policy document member.
func (f *form) document(name, member string) string {
	if f.err != nil {
		return ""
	}
	d, e := document(f.req, name, member)
	f.err = e
	return d
}

// changeRole authorizes the action on the role and applies f to it in a
// copy of the world.
func (s *Service) changeRole(req *request, name string, f func(w *world.World, r *world.Role) *awsproto.Error) (any, *awsproto.Error) {
	return s.change(req, s.roleArn(name), func(w *world.World) *awsproto.Error {
		r, e := roleIn(w, name)
		if e != nil {
			return e
		}
		return f(w, r)
	})
}

// roleIn finds a role in the world being changed.
func roleIn(w *world.World, name string) (*world.Role, *awsproto.Error) {
	if r := w.IAM.Role(name); r != nil {
		return r, nil
	}
	return nil, noSuchEntity("The role with name %s cannot be found.", name)
}

func (s *Service) createOIDCProvider(req *request) (any, *awsproto.Error) {
	u, e := str(req, "Url", "url", true, 1, 255, nil)
	if e != nil {
		return nil, e
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return nil, invalidInput("Invalid Open ID Connect Provider URL: %s", awsproto.Truncate(u, 255))
	}
	clients := list(req, "ClientIDList")
	thumbs := list(req, "ThumbprintList")
	for _, t := range thumbs {
		if !thumbprintRe.MatchString(t) {
			return nil, validationError("thumbprintList.member", t, "Member must have length greater than or equal to 40")
		}
	}
	hp := HostPath(u)
	arn := "arn:aws:iam::" + s.store.Account + ":oidc-provider/" + hp
	_, e = s.change(req, arn, func(w *world.World) *awsproto.Error {
		for _, o := range w.IAM.OIDCProviders {
			if HostPath(o.URL) == hp {
				return entityExists("Provider with url %s already exists.", u)
			}
		}
		if len(clients) == 0 {
			return invalidInput("the sandbox needs at least one client id (audience) per OpenID Connect provider")
		}
		w.IAM.OIDCProviders = append(w.IAM.OIDCProviders, world.OIDCProvider{URL: u, ClientIDs: clients, Thumbprints: thumbs})
		return nil
	})
	if e != nil {
		return nil, e
	}
	return struct{ OpenIDConnectProviderArn string }{arn}, nil
}

// changeProvider applies f to the provider named by OpenIDConnectProviderArn.
func (s *Service) changeProvider(req *request, f func(w *world.World, i int) *awsproto.Error) (any, *awsproto.Error) {
	arn, e := str(req, "OpenIDConnectProviderArn", "openIDConnectProviderArn", true, 20, 2048, nil)
	if e != nil {
		return nil, e
	}
	return s.change(req, arn, func(w *world.World) *awsproto.Error {
		for i, o := range w.IAM.OIDCProviders {
			if "arn:aws:iam::"+w.AccountID+":oidc-provider/"+HostPath(o.URL) == arn {
				return f(w, i)
			}
		}
		return noSuchEntity("OpenIDConnect Provider not found for arn %s", awsproto.Truncate(arn, 256))
	})
}

func (s *Service) addClientID(req *request) (any, *awsproto.Error) {
	id, e := str(req, "ClientID", "clientID", true, 1, 255, nil)
	if e != nil {
		return nil, e
	}
	return s.changeProvider(req, func(w *world.World, i int) *awsproto.Error {
		p := &w.IAM.OIDCProviders[i]
		for _, c := range p.ClientIDs {
			if c == id {
				return nil
			}
		}
		p.ClientIDs = append(p.ClientIDs, id)
		return nil
	})
}

func (s *Service) updateThumbprint(req *request) (any, *awsproto.Error) {
	thumbs := list(req, "ThumbprintList")
	if _, ok := req.form["ThumbprintList"]; !ok && thumbs == nil {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'thumbprintList' failed to satisfy constraint: Member must not be null")
	}
	for _, t := range thumbs {
		if !thumbprintRe.MatchString(t) {
			return nil, validationError("thumbprintList.member", t, "Member must have length greater than or equal to 40")
		}
	}
	return s.changeProvider(req, func(w *world.World, i int) *awsproto.Error {
		w.IAM.OIDCProviders[i].Thumbprints = thumbs
		return nil
	})
}

func (s *Service) deleteOIDCProvider(req *request) (any, *awsproto.Error) {
	return s.changeProvider(req, func(w *world.World, i int) *awsproto.Error {
		w.IAM.OIDCProviders = append(w.IAM.OIDCProviders[:i], w.IAM.OIDCProviders[i+1:]...)
		return nil
	})
}

func tags(req *request) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k, ok := req.form["Tags.member."+strconv.Itoa(i)+".Key"]
		if !ok {
			return out
		}
		out[k[0]] = req.form.Get("Tags.member." + strconv.Itoa(i) + ".Value")
	}
}

func (s *Service) createRole(req *request) (any, *awsproto.Error) {
	f := form{req: req}
	name, path := f.roleName(), f.path(pathRe)
	trust, desc := f.document("AssumeRolePolicyDocument", "assumeRolePolicyDocument"), f.description()
	if f.err != nil {
		return nil, f.err
	}
	maxSession := 3600
	if v := req.form.Get("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return nil, validationError("maxSessionDuration", v, "Member must have value between 3600 and 43200")
		}
		maxSession = n
	}
	t := tags(req)
	if len(t) == 0 {
		t = nil
	}
	if _, e := s.change(req, "arn:aws:iam::"+s.store.Account+":role"+path+name, func(w *world.World) *awsproto.Error {
		for _, r := range w.IAM.Roles {
			if strings.EqualFold(r.Name, name) {
				return entityExists("Role with name %s already exists.", name)
			}
		}
		w.IAM.Roles = append(w.IAM.Roles, world.Role{Name: name, Path: path, Description: desc, TrustPolicy: policy(trust),
			MaxSessionDuration: maxSession, Tags: t})
		return nil
	}); e != nil {
		return nil, e
	}
	r, _ := s.store.RoleByName(name)
	return struct{ Role roleXML }{roleOut(r)}, nil
}

func (s *Service) deleteRole(req *request) (any, *awsproto.Error) {
	name, e := roleName(req)
	if e != nil {
		return nil, e
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		if len(r.InlinePolicies) > 0 || len(r.ManagedPolicies) > 0 {
			return awsproto.Errorf(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
		}
		w.IAM.Roles = world.Remove(w.IAM.Roles, func(x *world.Role) bool { return x.Name == name })
		return nil
	})
}

func (s *Service) tagRole(req *request) (any, *awsproto.Error) {
	name, e := roleName(req)
	if e != nil {
		return nil, e
	}
	t := tags(req)
	if len(t) == 0 {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range t {
			r.Tags[k] = v
		}
		return nil
	})
}

func (s *Service) updateAssumeRolePolicy(req *request) (any, *awsproto.Error) {
	f := form{req: req}
	name, doc := f.roleName(), f.document("PolicyDocument", "policyDocument")
	if f.err != nil {
		return nil, f.err
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		r.TrustPolicy = policy(doc)
		return nil
	})
}

func (s *Service) putRolePolicy(req *request) (any, *awsproto.Error) {
	f := form{req: req}
	name, pname, doc := f.roleName(), f.policyName(), f.document("PolicyDocument", "policyDocument")
	if f.err != nil {
		return nil, f.err
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		for i := range r.InlinePolicies {
			if r.InlinePolicies[i].Name == pname {
				r.InlinePolicies[i].Document = policy(doc)
				return nil
			}
		}
		r.InlinePolicies = append(r.InlinePolicies, world.NamedPolicy{Name: pname, Document: policy(doc)})
		return nil
	})
}

func (s *Service) deleteRolePolicy(req *request) (any, *awsproto.Error) {
	f := form{req: req}
	name, pname := f.roleName(), f.policyName()
	if f.err != nil {
		return nil, f.err
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		n := len(r.InlinePolicies)
		r.InlinePolicies = world.Remove(r.InlinePolicies, func(p *world.NamedPolicy) bool { return p.Name == pname })
		if len(r.InlinePolicies) == n {
			return noSuchEntity("The role policy with name %s cannot be found.", pname)
		}
		return nil
	})
}

func (s *Service) createPolicy(req *request) (any, *awsproto.Error) {
	f := form{req: req}
	name, path := f.policyName(), f.path(policyPathRe)
	doc, desc := f.document("PolicyDocument", "policyDocument"), f.description()
	if f.err != nil {
		return nil, f.err
	}
	m := world.ManagedPolicy{Name: name, Path: path, Description: desc, Document: policy(doc)}
	var arn string
	if _, e := s.change(req, "arn:aws:iam::"+s.store.Account+":policy"+path+name, func(w *world.World) *awsproto.Error {
		arn = w.ManagedPolicyArn(m)
		for _, o := range w.IAM.ManagedPolicies {
			if w.ManagedPolicyArn(o) == arn {
				return entityExists("A policy called %s already exists. Duplicate names are not allowed.", name)
			}
		}
		w.IAM.ManagedPolicies = append(w.IAM.ManagedPolicies, m)
		return nil
	}); e != nil {
		return nil, e
	}
	return struct{ Policy policyXML }{policyOut(s.store.Managed[arn])}, nil
}

// changeAttachment attaches or detaches a managed policy.
func (s *Service) changeAttachment(req *request, attach bool) (any, *awsproto.Error) {
	f := form{req: req}
	name, arn := f.roleName(), f.str("PolicyArn", "policyArn", true, 20, 2048, nil)
	if f.err != nil {
		return nil, f.err
	}
	return s.changeRole(req, name, func(w *world.World, r *world.Role) *awsproto.Error {
		found := false
		for _, m := range w.IAM.ManagedPolicies {
			found = found || w.ManagedPolicyArn(m) == arn
		}
		if !found {
			return noSuchEntity("Policy %s does not exist or is not attachable.", awsproto.Truncate(arn, 256))
		}
		has := false
		for _, a := range r.ManagedPolicies {
			has = has || a == arn
		}
		switch {
		case attach && !has:
			r.ManagedPolicies = append(r.ManagedPolicies, arn)
		case !attach && !has:
			return noSuchEntity("Policy %s was not found.", awsproto.Truncate(arn, 256))
		case !attach:
			r.ManagedPolicies = world.Remove(r.ManagedPolicies, func(a *string) bool { return *a == arn })
		}
		return nil
	})
}

func (s *Service) attachRolePolicy(req *request) (any, *awsproto.Error) {
	return s.changeAttachment(req, true)
}
func (s *Service) detachRolePolicy(req *request) (any, *awsproto.Error) {
	return s.changeAttachment(req, false)
}

// Reads that complete the write APIs.

func (s *Service) role(req *request) (*Role, *awsproto.Error) {
	name, e := roleName(req)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(req, s.roleArn(name)); e != nil {
		return nil, e
	}
	r, ok := s.store.RoleByName(name)
	if !ok {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, nil
}

func (s *Service) getRolePolicy(req *request) (any, *awsproto.Error) {
	r, e := s.role(req)
	if e != nil {
		return nil, e
	}
	pname, e := str(req, "PolicyName", "policyName", true, 1, 128, nameRe)
	if e != nil {
		return nil, e
	}
	for _, p := range r.Inline {
		if p.Name == pname {
			return struct{ RoleName, PolicyName, PolicyDocument string }{r.Name, p.Name, EncodePolicy(string(p.Document.JSON))}, nil
		}
	}
	for i := 0; i < unnamed(r); i++ {
		if InlinePolicyName(r.Name, i) == pname {
			return struct{ RoleName, PolicyName, PolicyDocument string }{r.Name, pname, EncodePolicy(r.PolicyJSON[i])}, nil
		}
	}
	return nil, noSuchEntity("The role policy with name %s cannot be found.", pname)
}

// page cuts a sorted list by Marker (the next item) and MaxItems.
func page(req *request, items []string) ([]string, string, *awsproto.Error) {
	maxItems := 100
	if v, ok := req.form["MaxItems"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 1000 {
			return nil, "", validationError("maxItems", v[0], "Member must have value between 1 and 1000")
		}
		maxItems = n
	}
	start := 0
	if m := req.form.Get("Marker"); m != "" {
		start = sort.SearchStrings(items, m)
		if start >= len(items) || items[start] != m {
			return nil, "", validationError("marker", m, "Member must be a Marker returned by a previous call")
		}
	}
	end := min(start+maxItems, len(items))
	next := ""
	if end < len(items) {
		next = items[end]
	}
	return items[start:end], next, nil
}

func (s *Service) listRolePolicies(req *request) (any, *awsproto.Error) {
	r, e := s.role(req)
	if e != nil {
		return nil, e
	}
	names := []string{}
	for i := 0; i < unnamed(r); i++ {
		names = append(names, InlinePolicyName(r.Name, i))
	}
	for _, p := range r.Inline {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	got, next, e := page(req, names)
	if e != nil {
		return nil, e
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{append([]string{}, got...), next != "", next}, nil
}

type attachedXML struct{ PolicyName, PolicyArn string }

func (s *Service) listAttachedRolePolicies(req *request) (any, *awsproto.Error) {
	r, e := s.role(req)
	if e != nil {
		return nil, e
	}
	prefix, e := str(req, "PathPrefix", "pathPrefix", false, 1, 512, policyPathRe)
	if e != nil {
		return nil, e
	}
	byArn := map[string]*ManagedPolicy{}
	var arns []string
	for _, a := range r.Attached {
		if m := s.store.Managed[a]; m != nil && strings.HasPrefix(m.Path, prefix) {
			byArn[a] = m
			arns = append(arns, a)
		}
	}
	sort.Strings(arns)
	got, next, e := page(req, arns)
	if e != nil {
		return nil, e
	}
	out := struct {
		AttachedPolicies []attachedXML `xml:"AttachedPolicies>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{AttachedPolicies: []attachedXML{}, IsTruncated: next != "", Marker: next}
	for _, a := range got {
		out.AttachedPolicies = append(out.AttachedPolicies, attachedXML{byArn[a].Name, a})
	}
	return out, nil
}

type policyXML struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
}

func policyOut(m *ManagedPolicy) policyXML {
	return policyXML{PolicyName: m.Name, PolicyId: m.PolicyID, Arn: m.Arn, Path: m.Path, DefaultVersionId: "v1",
		AttachmentCount: m.Attachments, IsAttachable: true, Description: m.Description,
		CreateDate: awsproto.ISOTime(m.CreateDate), UpdateDate: awsproto.ISOTime(m.CreateDate)}
}

func (s *Service) managed(req *request) (*ManagedPolicy, *awsproto.Error) {
	arn, e := str(req, "PolicyArn", "policyArn", true, 20, 2048, nil)
	if e != nil {
		return nil, e
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return nil, invalidInput("ARN %s is not valid.", awsproto.Truncate(arn, 256))
	}
	if e := s.authorize(req, arn); e != nil {
		return nil, e
	}
	m := s.store.Managed[arn]
	if m == nil {
		return nil, noSuchEntity("Policy %s was not found.", awsproto.Truncate(arn, 256))
	}
	return m, nil
}

func (s *Service) getPolicy(req *request) (any, *awsproto.Error) {
	m, e := s.managed(req)
	if e != nil {
		return nil, e
	}
	return struct{ Policy policyXML }{policyOut(m)}, nil
}

func (s *Service) getPolicyVersion(req *request) (any, *awsproto.Error) {
	m, e := s.managed(req)
	if e != nil {
		return nil, e
	}
	v, e := str(req, "VersionId", "versionId", true, 1, 128, lazyre.New(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`))
	if e != nil {
		return nil, e
	}
	if v != "v1" {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", m.Arn, v)
	}
	return struct {
		PolicyVersion struct {
			Document         string
			VersionId        string
			IsDefaultVersion bool
			CreateDate       string
		}
	}{PolicyVersion: struct {
		Document         string
		VersionId        string
		IsDefaultVersion bool
		CreateDate       string
	}{EncodePolicy(string(m.Document.JSON)), "v1", true, awsproto.ISOTime(m.CreateDate)}}, nil
}

// unnamed is the number of a role's unnamed world policies: the first ones
// of PolicyJSON, before the named inline and the attached managed ones.
func unnamed(r *Role) int { return len(r.PolicyJSON) - len(r.Inline) - len(r.Attached) }
