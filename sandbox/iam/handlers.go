package iam

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/world"
)

// APIVersion is the awsQuery Version IAM accepts.
const APIVersion = "2010-05-08"

// Runtime is what the IAM handlers need from the sandbox runtime
// (sandbox/env.Env satisfies it; env imports this package, so the
// dependency is inverted here).
type Runtime interface {
	Authenticate(r *http.Request, body []byte, opt awsproto.VerifyOptions) (*auth.Principal, *awsproto.Error)
	Now() time.Time
	RLock()
	RUnlock()
	// Change applies a write to a copy of the world (sandbox/env.Env.Change).
	Change(f func(w *world.World) *awsproto.Error) *awsproto.Error
}

// Counter counts handled operations ("iam:GetRole").
type Counter interface{ Inc(op string) }

// Service serves the IAM read APIs (awsQuery): GetRole, ListRoles,
// GetOpenIDConnectProvider and ListOpenIDConnectProviders.
type Service struct {
	store *Store
	rt    Runtime
	stats Counter
}

// NewService returns the IAM handler over s.
func NewService(s *Store, rt Runtime, stats Counter) *Service {
	return &Service{store: s, rt: rt, stats: stats}
}

type request struct {
	action string
	form   url.Values
	caller *auth.Principal
	ctx    context.Context
}

var iamOperations = map[string]func(*Service, *request) (any, *awsproto.Error){
	"GetRole":                    (*Service).getRole,
	"ListRoles":                  (*Service).listRoles,
	"GetOpenIDConnectProvider":   (*Service).getOpenIDConnectProvider,
	"ListOpenIDConnectProviders": (*Service).listOpenIDConnectProviders,
}

// ServeHTTP dispatches on the awsQuery Action.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	w.Header().Set("Date", s.rt.Now().Format(http.TimeFormat))
	action, res, e := s.serve(r)
	if e != nil {
		awsproto.WriteError(w, awsproto.Query, e, rid)
		return
	}
	awsproto.WriteQuery(w, awsproto.IAMNamespace, action, res, rid)
}

func (s *Service) serve(r *http.Request) (string, any, *awsproto.Error) {
	if r.URL.Path != "/" && r.URL.Path != "" {
		return "", nil, awsproto.Errorf(http.StatusNotFound, "InvalidAction",
			"IAM has no resource at %s: send awsQuery requests (Action=…) to /", awsproto.Truncate(r.URL.Path, 80))
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return "", nil, awsproto.Errorf(http.StatusMethodNotAllowed, "InvalidAction",
			"IAM accepts POST with a form body or GET with a query string, not %s", r.Method)
	}
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		return "", nil, e
	}
	form, e := awsproto.ParseForm(body)
	if e != nil {
		return "", nil, e
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", nil, awsproto.Errorf(http.StatusBadRequest, "MalformedQueryString", "the query string is malformed: %v", err)
	}
	for k, v := range q {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	action := form.Get("Action")
	if action == "" {
		return "", nil, awsproto.Errorf(http.StatusBadRequest, "MissingAction", "the request has no Action parameter")
	}
	if v := form.Get("Version"); v != "" && v != APIVersion {
		return "", nil, awsproto.Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s",
			awsproto.Truncate(action, 64), awsproto.Truncate(v, 32))
	}
	op, write := iamOperations[action], false
	if op == nil {
		op, write = iamWrites[action], true
	}
	if op == nil {
		return "", nil, awsproto.Errorf(http.StatusBadRequest, "InvalidAction",
			"the sandbox's IAM does not implement %s (it serves GetRole, ListRoles, GetOpenIDConnectProvider and ListOpenIDConnectProviders)",
			awsproto.Truncate(action, 64))
	}
	s.stats.Inc("iam:" + action)
	caller, e := s.rt.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return "", nil, e
	}
	if !write {
		s.rt.RLock()
		defer s.rt.RUnlock()
	}
	res, e := op(s, &request{action: action, form: form, caller: caller, ctx: r.Context()})
	return action, res, e
}

// authorize checks the caller's identity policies for iam:<action> on resource.
func (s *Service) authorize(req *request, resource string) *awsproto.Error {
	c := req.caller
	if c.Admin {
		return nil
	}
	action := "iam:" + req.action
	arn := c.Arn
	if c.IsSession() {
		arn = c.RoleArn
	}
	x := c.Explain(action, resource, map[string][]string{"aws:PrincipalArn": {arn}, "aws:PrincipalAccount": {c.AccountID}})
	if x.Decision == iampolicy.Allow {
		return nil
	}
	if req.ctx != nil {
		callctx.Deny(req.ctx, callctx.IdentityPolicy(c, action, resource, x))
	}
	return awsproto.AccessDenied("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		c.Arn, action, resource, action)
}

func noSuchEntity(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchEntity", format, a...)
}

func validationError(member, value, constraint string) *awsproto.Error {
	return awsproto.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s",
		awsproto.Truncate(value, 64), member, constraint)
}

// EncodePolicy URL-encodes a policy document as IAM returns it
// (percent-encoding with %20 for spaces; clients decode it with
// urllib.parse.unquote or url.QueryUnescape).
func EncodePolicy(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

type roleXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int
}

func roleOut(r *Role) roleXML {
	return roleXML{Path: r.Path, RoleName: r.Name, RoleId: r.RoleID, Arn: r.Arn, CreateDate: awsproto.ISOTime(r.CreateDate),
		AssumeRolePolicyDocument: EncodePolicy(r.TrustJSON), Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
}

func (s *Service) getRole(req *request) (any, *awsproto.Error) {
	r, e := s.roleFor(req)
	if e != nil {
		return nil, e
	}
	return struct{ Role roleXML }{roleOut(r)}, nil
}

func (s *Service) listRoles(req *request) (any, *awsproto.Error) {
	prefix := req.form.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	maxItems := 100
	if v, ok := req.form["MaxItems"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 1000 {
			return nil, validationError("maxItems", v[0], "Member must have value between 1 and 1000")
		}
		maxItems = n
	}
	if e := s.authorize(req, "arn:aws:iam::"+s.store.Account+":role"+prefix+"*"); e != nil {
		return nil, e
	}
	var roles []*Role
	for _, r := range s.store.RoleList {
		if strings.HasPrefix(r.Path, prefix) {
			roles = append(roles, r)
		}
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	start := 0
	if m := req.form.Get("Marker"); m != "" {
		start = -1
		for i, r := range roles {
			if r.RoleID == m {
				start = i
			}
		}
		if start < 0 {
			return nil, validationError("marker", m, "Member must be a Marker returned by a previous ListRoles call")
		}
	}
	end := min(start+maxItems, len(roles))
	out := struct {
		Roles       []roleXML `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{Roles: []roleXML{}}
	for _, r := range roles[start:end] {
		out.Roles = append(out.Roles, roleOut(r))
	}
	if end < len(roles) {
		out.IsTruncated, out.Marker = true, roles[end].RoleID
	}
	return out, nil
}

func (s *Service) getOpenIDConnectProvider(req *request) (any, *awsproto.Error) {
	arns, ok := req.form["OpenIDConnectProviderArn"]
	if !ok {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'openIDConnectProviderArn' failed to satisfy constraint: Member must not be null")
	}
	arn := arns[0]
	if n := len(arn); n < 20 || n > 2048 {
		return nil, validationError("openIDConnectProviderArn", arn, "Member must have length between 20 and 2048")
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":oidc-provider/") {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidInput", "ARN %s is not valid.", awsproto.Truncate(arn, 256))
	}
	if e := s.authorize(req, arn); e != nil {
		return nil, e
	}
	p, found := s.store.ProviderByArn(arn)
	if !found {
		return nil, noSuchEntity("OpenIDConnect Provider not found for arn %s", awsproto.Truncate(arn, 256))
	}
	thumbs := p.Thumbprints
	if thumbs == nil {
		thumbs = []string{}
	}
	return struct {
		Url            string
		ClientIDList   []string `xml:"ClientIDList>member"`
		ThumbprintList []string `xml:"ThumbprintList>member"`
		CreateDate     string
	}{Url: p.HostPath, ClientIDList: p.ClientIDs, ThumbprintList: thumbs, CreateDate: awsproto.ISOTime(p.CreateDate)}, nil
}

type providerEntry struct {
	Arn string
}

func (s *Service) listOpenIDConnectProviders(req *request) (any, *awsproto.Error) {
	if e := s.authorize(req, "arn:aws:iam::"+s.store.Account+":oidc-provider/*"); e != nil {
		return nil, e
	}
	out := struct {
		List []providerEntry `xml:"OpenIDConnectProviderList>member"`
	}{List: []providerEntry{}}
	for _, p := range s.store.Providers {
		out.List = append(out.List, providerEntry{Arn: p.Arn})
	}
	return out, nil
}
