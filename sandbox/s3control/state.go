// Package s3control is the sandbox's S3 Access Grants (the S3 Control API
// under /v20180820/accessgrantsinstance): the account's instance, its
// locations and grants from the world (state, this file) and the restXml
// wire handlers (handlers.go). GetDataAccess matches the caller, a directory
// user or group of an identity-enhanced session or an IAM principal, to the
// most specific grant and vends credentials whose generated scope policy
// reaches only the granted prefix; the S3 service enforces it.
package s3control

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/s3"
	"github.com/tipctl/tipctl/sandbox/world"
)

// ServicePrincipal is the service that assumes location roles.
const ServicePrincipal = "access-grants.s3.amazonaws.com"

// Grantee types.
const (
	DirectoryUser  = "DIRECTORY_USER"
	DirectoryGroup = "DIRECTORY_GROUP"
	IAMGrantee     = "IAM"
)

// Permissions.
const (
	Read      = "READ"
	Write     = "WRITE"
	ReadWrite = "READWRITE"
)

// Instance is the account's Access Grants instance.
type Instance struct {
	ID                string
	Arn               string
	IdentityCenterArn string
	// ApplicationArn is the Identity Center application Access Grants
	// creates when the instance is associated with Identity Center.
	ApplicationArn string
	Created        time.Time
	// Exists is false in an account without an Access Grants instance.
	Exists         bool
	ResourcePolicy string
}

// Location is a registered location: an S3 scope and the IAM role S3
// Access Grants assumes to vend credentials in it.
type Location struct {
	ID      string
	Arn     string
	Scope   string // s3://, s3://bucket/ or s3://bucket/prefix*
	RoleArn string
	Created time.Time
	path    string // bucket/prefix without s3:// and the trailing *
}

// Grant gives a grantee a permission on a scope.
type Grant struct {
	ID                string
	Arn               string
	GranteeType       string // DIRECTORY_USER, DIRECTORY_GROUP or IAM
	GranteeIdentifier string // identity-store user or group id, or the principal ARN
	// Grantee is the grantee as the world names it: user:NAME, group:NAME or iam:ARN.
	Grantee    string
	Permission string
	Scope      string // the GrantScope, e.g. s3://bucket/prefix/*
	LocationID string
	SubPrefix  string // the scope relative to the location
	Created    time.Time
	name       string // user or group name for directory grantees
	path       string
}

// State is the Access Grants state of the sandbox. It is read-only after
// NewState.
type State struct {
	Account   string
	Region    string
	Instance  Instance
	Locations []*Location
	Grants    []*Grant
	iam       *iam.Store
}

// scopePath turns an S3 URI scope into the path prefixes are matched on:
// "s3://b/p/*" → "b/p/", "s3://b" → "b/", "s3://" → "".
func scopePath(uri string) (string, bool) {
	p, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", false
	}
	p = strings.TrimSuffix(p, "*")
	if p != "" && !strings.Contains(p, "/") {
		p += "/"
	}
	return p, !strings.ContainsAny(p, "*?")
}

// NewState builds the instance, locations and grants from the world.
func NewState(w *world.World, roles *iam.Store) (*State, error) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &State{Account: w.AccountID, Region: w.Region, iam: roles}
	ag := w.S3.AccessGrants
	base := fmt.Sprintf("arn:aws:s3:%s:%s:access-grants/default", w.Region, w.AccountID)
	s.Instance = Instance{ID: "default", Arn: base, Created: created, Exists: !ag.NoInstance, ResourcePolicy: string(ag.ResourcePolicy.JSON)}
	if !ag.NoIdentityCenter {
		s.Instance.IdentityCenterArn = ag.IdentityCenterArn
		ic := w.IdentityCenter
		s.Instance.ApplicationArn = fmt.Sprintf("arn:aws:sso::%s:application/%s/apl-%s", w.AccountID, ic.InstanceID(),
			world.StableHex(16, "access-grants", w.AccountID, ag.IdentityCenterArn))
	}
	for i, l := range ag.Locations {
		path, ok := scopePath(l.Scope)
		if !ok {
			return nil, fmt.Errorf("s3.access_grants.locations[%d].scope: %q is not an S3 location scope (s3://, s3://bucket or s3://bucket/prefix*)", i, l.Scope)
		}
		id := l.ID
		s.Locations = append(s.Locations, &Location{ID: id, Arn: base + "/location/" + id, Scope: l.Scope, RoleArn: l.IAMRole, Created: created, path: path})
	}
	users, groups := map[string]string{}, map[string]string{}
	for _, u := range w.IdentityCenter.Users {
		users[u.UserName] = u.UserID
	}
	for _, g := range w.IdentityCenter.Groups {
		groups[g.Name] = g.GroupID
	}
	for i, g := range ag.Grants {
		where := fmt.Sprintf("s3.access_grants.grants[%d]", i)
		path, ok := scopePath(g.Target)
		if !ok {
			return nil, fmt.Errorf("%s.target: %q is not an S3 prefix (s3://bucket/prefix/*)", where, g.Target)
		}
		gr := &Grant{Grantee: g.Grantee, Permission: g.Permission, Scope: g.Target, Created: created, path: path}
		kind, name, _ := strings.Cut(g.Grantee, ":")
		switch kind {
		case "user":
			gr.GranteeType, gr.GranteeIdentifier, gr.name = DirectoryUser, users[name], name
		case "group":
			gr.GranteeType, gr.GranteeIdentifier, gr.name = DirectoryGroup, groups[name], name
		case "iam":
			gr.GranteeType, gr.GranteeIdentifier = IAMGrantee, name
		default:
			return nil, fmt.Errorf("%s.grantee: %q must be user:NAME, group:NAME or iam:ARN", where, g.Grantee)
		}
		var loc *Location
		for _, l := range s.Locations {
			if strings.HasPrefix(path, l.path) && (loc == nil || len(l.path) > len(loc.path)) {
				loc = l
			}
		}
		if loc == nil {
			return nil, fmt.Errorf("%s.target: %q is not inside any registered location (add one under s3.access_grants.locations, e.g. scope s3://)", where, g.Target)
		}
		gr.LocationID = loc.ID
		gr.SubPrefix = strings.TrimPrefix(strings.TrimPrefix(g.Target, "s3://"), strings.TrimSuffix(strings.TrimPrefix(loc.Scope, "s3://"), "*"))
		gr.ID = g.ID
		gr.Arn = base + "/grant/" + gr.ID
		s.Grants = append(s.Grants, gr)
	}
	return s, nil
}

// Grant finds a grant by id.
func (s *State) Grant(id string) (*Grant, bool) {
	for _, g := range s.Grants {
		if g.ID == id {
			return g, true
		}
	}
	return nil, false
}

// Location finds a location by id.
func (s *State) Location(id string) (*Location, bool) {
	for _, l := range s.Locations {
		if l.ID == id {
			return l, true
		}
	}
	return nil, false
}

// Covers reports whether the grant's permission includes perm.
func (g *Grant) Covers(perm string) bool { return g.Permission == ReadWrite || g.Permission == perm }

// Target is a parsed GetDataAccess target.
type Target struct {
	URI    string
	Bucket string
	// Prefix is the key prefix, or the key itself for an Object target.
	Prefix string
	Object bool
}

func (t Target) path() string { return t.Bucket + "/" + t.Prefix }

// ParseTarget parses target (s3://bucket/prefix*, s3://bucket/prefix/,
// s3://bucket, or with targetType Object s3://bucket/key).
func ParseTarget(target, targetType string) (Target, *awsproto.Error) {
	bad := func(format string, a ...any) (Target, *awsproto.Error) {
		return Target{}, awsproto.Errorf(http.StatusBadRequest, "InvalidRequest", "The target %q is not valid: "+format,
			append([]any{awsproto.Truncate(target, 200)}, a...)...)
	}
	if targetType != "" && targetType != "Object" {
		return Target{}, awsproto.Errorf(http.StatusBadRequest, "InvalidRequest", "targetType must be Object or omitted, not %q", awsproto.Truncate(targetType, 40))
	}
	rest, ok := strings.CutPrefix(target, "s3://")
	if !ok {
		return bad("it must be an S3 URI starting with s3://")
	}
	t := Target{URI: target, Object: targetType == "Object"}
	if !t.Object {
		rest = strings.TrimSuffix(rest, "*")
	}
	if strings.ContainsAny(rest, "*?") {
		return bad("the only wildcard allowed is one * at the end of a prefix")
	}
	t.Bucket, t.Prefix, _ = strings.Cut(rest, "/")
	if !s3.ValidBucketName(t.Bucket) {
		return bad("%q is not a bucket name", awsproto.Truncate(t.Bucket, 80))
	}
	if t.Object && (t.Prefix == "" || strings.HasSuffix(t.Prefix, "/")) {
		return bad("an Object target names one object: s3://bucket/key")
	}
	return t, nil
}

// matches reports whether p is the grant's grantee.
func (s *State) matches(g *Grant, p *auth.Principal) bool {
	switch g.GranteeType {
	case IAMGrantee:
		return g.GranteeIdentifier == p.RoleArn || g.GranteeIdentifier == p.Arn
	}
	c := p.Context
	if c == nil || c.Provider != auth.IdentityCenterProvider {
		return false
	}
	if c.InstanceArn != "" && s.Instance.IdentityCenterArn != "" && c.InstanceArn != s.Instance.IdentityCenterArn {
		return false
	}
	if g.GranteeType == DirectoryUser {
		return (c.UserID != "" && c.UserID == g.GranteeIdentifier) || (c.UserName != "" && c.UserName == g.name)
	}
	for _, grp := range c.Groups {
		if (grp.ID != "" && grp.ID == g.GranteeIdentifier) || (grp.Name != "" && grp.Name == g.name) {
			return true
		}
	}
	return false
}

var granteeRank = map[string]int{DirectoryUser: 0, DirectoryGroup: 1, IAMGrantee: 2}

// Match finds the grant that gives p perm on t: among the caller's grants
// whose scope contains the target and whose permission covers perm, the most
// specific (longest scope) wins; a user grant wins over a group grant over
// an IAM grant of the same scope.
func (s *State) Match(p *auth.Principal, t Target, perm string) (*Grant, *awsproto.Error) {
	var best *Grant
	path := t.path()
	for _, g := range s.Grants {
		if !g.Covers(perm) || !strings.HasPrefix(path, g.path) || !s.matches(g, p) {
			continue
		}
		if best == nil || len(g.path) > len(best.path) ||
			(len(g.path) == len(best.path) && granteeRank[g.GranteeType] < granteeRank[best.GranteeType]) {
			best = g
		}
	}
	if best == nil {
		return nil, awsproto.AccessDenied("You do not have %s permissions to the requested S3 Prefix: %s (no access grant to %s matches it)",
			perm, awsproto.Truncate(t.URI, 300), describe(p))
	}
	return best, nil
}

// CallerGrants lists the grants whose grantee is p.
func (s *State) CallerGrants(p *auth.Principal) []*Grant {
	var out []*Grant
	for _, g := range s.Grants {
		if s.matches(g, p) {
			out = append(out, g)
		}
	}
	return out
}

func describe(p *auth.Principal) string {
	if c := p.Context; c != nil && c.Provider == auth.IdentityCenterProvider {
		return fmt.Sprintf("directory user %s (groups %s) or %s", c.UserName, strings.Join(c.GroupNames(), ", "), p.Arn)
	}
	return p.Arn
}

// LocationRole returns the IAM role of the grant's location after checking
// that S3 Access Grants may assume it (and set the identity context for a
// directory identity).
func (s *State) LocationRole(g *Grant, directory bool) (*iam.Role, *awsproto.Error) {
	loc, ok := s.Location(g.LocationID)
	if !ok {
		return nil, &awsproto.Error{Status: 500, Code: "InternalError", Message: "the grant's location is missing", Receiver: true}
	}
	role, ok := s.iam.RoleByArn(loc.RoleArn)
	if !ok {
		return nil, awsproto.AccessDenied("S3 Access Grants cannot assume the IAM role %s of location %s: no such role", loc.RoleArn, loc.Scope)
	}
	caller := &iampolicy.Caller{Service: ServicePrincipal}
	// The service assumes the role on behalf of this account's instance:
	// the confused-deputy keys a trust policy should pin.
	source := map[string][]string{"aws:SourceAccount": {s.Account}, "aws:SourceArn": {s.InstanceArn()}}
	actions := []string{"sts:AssumeRole"}
	if directory {
		actions = append(actions, "sts:SetContext")
	}
	for _, a := range actions {
		if role.Trust.Evaluate(iampolicy.Request{Action: a, Resource: role.Arn, Caller: caller, Context: source}) != iampolicy.Allow {
			return nil, awsproto.AccessDenied("S3 Access Grants cannot assume the IAM role %s of location %s: its trust policy does not allow %s to call %s",
				role.Arn, loc.Scope, ServicePrincipal, a)
		}
	}
	return role, nil
}

// Actions the vended credentials get for each permission.
var (
	readObjectActions  = []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectVersionAcl", "s3:GetObjectTagging", "s3:ListMultipartUploadParts"}
	writeObjectActions = []string{"s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
)

type statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  string         `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// ScopePolicy is the session policy of vended credentials: perm on the
// objects under bucket/prefix (exactly bucket/prefix for an object), and for
// READ, listing the bucket under that prefix. bucket "" means every bucket.
func ScopePolicy(bucket, prefix string, object bool, perm string) (*iampolicy.Document, string) {
	objects := "arn:aws:s3:::" + bucket + "/" + prefix + "*"
	bucketArn := "arn:aws:s3:::" + bucket
	if bucket == "" {
		objects, bucketArn = "arn:aws:s3:::*/*", "arn:aws:s3:::*"
	}
	var list map[string]any
	switch {
	case object:
		objects = "arn:aws:s3:::" + bucket + "/" + prefix
		list = map[string]any{"StringEquals": map[string]any{"s3:prefix": prefix}}
	case prefix != "":
		list = map[string]any{"StringLike": map[string]any{"s3:prefix": prefix + "*"}}
	}
	var sts []statement
	if perm == Read || perm == ReadWrite {
		sts = append(sts,
			statement{Sid: "AccessGrantsRead", Effect: "Allow", Action: readObjectActions, Resource: objects},
			statement{Sid: "AccessGrantsList", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: bucketArn, Condition: list},
			statement{Sid: "AccessGrantsLocation", Effect: "Allow", Action: []string{"s3:GetBucketLocation"}, Resource: bucketArn})
	}
	if perm == Write || perm == ReadWrite {
		sts = append(sts, statement{Sid: "AccessGrantsWrite", Effect: "Allow", Action: writeObjectActions, Resource: objects})
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": sts})
	doc, err := iampolicy.Parse(b)
	if err != nil {
		// The generated document is always valid; fail closed if it is not.
		return &iampolicy.Document{}, string(b)
	}
	return doc, string(b)
}

// Info lists the grants for /_sandbox/info.
func (s *State) Info() []map[string]any {
	out := make([]map[string]any, 0, len(s.Grants))
	for _, g := range s.Grants {
		out = append(out, map[string]any{"grantee": g.Grantee, "permission": g.Permission, "target": g.Scope})
	}
	return out
}

// Reload prepares the Access Grants state of a changed world; the commit
// installs it (under the sandbox's write lock).
func (s *State) Reload(w *world.World) (func(), error) {
	n, err := NewState(w, s.iam)
	if err != nil {
		return nil, err
	}
	// Account and Region never change: handlers may read them without the lock.
	return func() { s.Instance, s.Locations, s.Grants = n.Instance, n.Locations, n.Grants }, nil
}

// InstanceArn is the ARN of the account's Access Grants instance (whether
// or not it exists), readable without the lock.
func (s *State) InstanceArn() string {
	return fmt.Sprintf("arn:aws:s3:%s:%s:access-grants/default", s.Region, s.Account)
}
