// Package identitystore serves the Identity Store API (awsJson1_1,
// X-Amz-Target AWSIdentityStore.<Op>, signing name identitystore) over the
// Identity Center state: user lookups by unique attribute or external id,
// user and group descriptions and group memberships. The state lives in
// sandbox/identitycenter; this package holds only wire handlers.
package identitystore

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TargetPrefix is the X-Amz-Target prefix of identitystore (botocore identitystore 2020-06-15).
const TargetPrefix = "AWSIdentityStore."

// CreatedAt is the creation time reported for users, groups and memberships.
var CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Service is the identitystore handler.
type Service struct {
	env   *env.Env
	state *identitycenter.State
}

// New returns the identitystore handler over s.
func New(e *env.Env, s *identitycenter.State) *Service { return &Service{env: e, state: s} }

var (
	storeIDRe    = lazyre.New(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	resourceIDRe = lazyre.New(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	operations   = map[string]func(*Service, *call) (any, *awsproto.Error){
		"GetUserId":                     (*Service).getUserID,
		"DescribeUser":                  (*Service).describeUser,
		"DescribeGroup":                 (*Service).describeGroup,
		"ListGroupMembershipsForMember": (*Service).listGroupMembershipsForMember,
	}
)

type call struct {
	op     string
	body   []byte
	caller *auth.Principal
}

// ServeHTTP dispatches on X-Amz-Target.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	w.Header().Set("Date", s.env.Now().Format(http.TimeFormat))
	res, e := s.serve(r)
	if e != nil {
		awsproto.WriteError(w, awsproto.JSON11, e, rid)
		return
	}
	awsproto.WriteJSON(w, awsproto.JSON11, http.StatusOK, res, rid)
}

func (s *Service) serve(r *http.Request) (any, *awsproto.Error) {
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") {
		return nil, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"identitystore accepts POST / with an X-Amz-Target header, not %s %s", r.Method, awsproto.Truncate(r.URL.Path, 80))
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	handler := operations[op]
	if !ok || handler == nil {
		return nil, awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException",
			"the sandbox's identitystore has no operation %q (X-Amz-Target must be %s<Operation>)", awsproto.Truncate(target, 100), TargetPrefix)
	}
	s.env.Stats.Inc("identitystore:" + op)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		return nil, e
	}
	caller, e := s.env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return nil, e
	}
	return handler(s, &call{op: op, body: body, caller: caller})
}

func (c *call) decode(v any) *awsproto.Error {
	return awsproto.DecodeJSON(c.body, v, "ValidationException")
}

// storeArn is the identity store's ARN, the resource of every operation.
func (s *Service) storeArn() string { return s.state.IdentityStoreArn() }

func (s *Service) authorize(c *call) *awsproto.Error {
	if c.caller.Admin {
		return nil
	}
	action := "identitystore:" + c.op
	arn := c.caller.Arn
	if c.caller.IsSession() {
		arn = c.caller.RoleArn
	}
	ctx := map[string][]string{"aws:PrincipalArn": {arn}, "aws:PrincipalAccount": {c.caller.AccountID}}
	if c.caller.Allowed(action, s.storeArn(), ctx) {
		return nil
	}
	return awsproto.AccessDeniedException("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		c.caller.Arn, action, s.storeArn(), action)
}

func validation(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, a...)
}

func required(member string) *awsproto.Error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func badPattern(member, value string, re *lazyre.Regexp) *awsproto.Error {
	return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
		awsproto.Truncate(value, 64), member, strings.Trim(re.String(), "^$"))
}

// notFound is the modeled ResourceNotFoundException with its ResourceType and ResourceId members.
func notFound(resourceType, id, format string, a ...any) *awsproto.Error {
	e := awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", format, a...)
	e.Fields = map[string]any{"ResourceType": resourceType}
	if id != "" {
		e.Fields["ResourceId"] = id
	}
	return e
}

// store checks IdentityStoreId.
func (s *Service) store(id *string) *awsproto.Error {
	switch {
	case id == nil:
		return required("identityStoreId")
	case *id == s.state.IdentityStoreID:
		return nil
	case !storeIDRe.MatchString(*id):
		return badPattern("identityStoreId", *id, storeIDRe)
	}
	return notFound("IDENTITY_STORE", *id, "Identity store %s does not exist", *id)
}

func resourceID(member string, id *string) *awsproto.Error {
	switch {
	case id == nil:
		return required(member)
	case !resourceIDRe.MatchString(*id):
		return badPattern(member, *id, resourceIDRe)
	}
	return nil
}

type externalID struct {
	Issuer *string
	Id     *string
}

type getUserIDRequest struct {
	IdentityStoreId     *string
	AlternateIdentifier *struct {
		ExternalId      *externalID
		UniqueAttribute *struct {
			AttributePath  *string
			AttributeValue json.RawMessage
		}
	}
}

// uniquePaths are the user attributes GetUserId accepts as a UniqueAttribute.
var uniquePaths = []string{"userName", "emails.value"}

func (s *Service) getUserID(c *call) (any, *awsproto.Error) {
	var req getUserIDRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	alt := req.AlternateIdentifier
	if alt == nil {
		return nil, required("alternateIdentifier")
	}
	if (alt.ExternalId == nil) == (alt.UniqueAttribute == nil) {
		return nil, validation("AlternateIdentifier must set exactly one of ExternalId or UniqueAttribute")
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	var users []*identitycenter.User
	var what string
	if x := alt.ExternalId; x != nil {
		if x.Issuer == nil || *x.Issuer == "" {
			return nil, required("alternateIdentifier.externalId.issuer")
		}
		if x.Id == nil || *x.Id == "" {
			return nil, required("alternateIdentifier.externalId.id")
		}
		for _, u := range s.state.Users {
			if hasExternalID(u.ExternalIDs, *x.Issuer, *x.Id) {
				users = append(users, u)
			}
		}
		what = "external id " + awsproto.Truncate(*x.Id, 128) + " of issuer " + awsproto.Truncate(*x.Issuer, 256)
	} else {
		ua := alt.UniqueAttribute
		if ua.AttributePath == nil {
			return nil, required("alternateIdentifier.uniqueAttribute.attributePath")
		}
		if len(ua.AttributeValue) == 0 || string(ua.AttributeValue) == "null" {
			return nil, required("alternateIdentifier.uniqueAttribute.attributeValue")
		}
		path := *ua.AttributePath
		if !contains(uniquePaths, path) {
			return nil, validation("%q is not a unique attribute of users; use one of %s", awsproto.Truncate(path, 64), strings.Join(uniquePaths, ", "))
		}
		var value string
		if err := json.Unmarshal(ua.AttributeValue, &value); err != nil {
			return nil, validation("the AttributeValue of %s must be a string", path)
		}
		users = s.state.UsersMatching(path, value)
		what = path + " = " + awsproto.Truncate(value, 128)
	}
	switch len(users) {
	case 0:
		return nil, notFound("USER", "", "No user in identity store %s has %s", s.state.IdentityStoreID, what)
	case 1:
	default:
		return nil, validation("%d users in identity store %s have %s; the attribute must identify one user", len(users), s.state.IdentityStoreID, what)
	}
	return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "UserId": users[0].UserID}, nil
}

func hasExternalID(ids []world.ExternalID, issuer, id string) bool {
	for _, e := range ids {
		if e.Issuer == issuer && e.ID == id {
			return true
		}
	}
	return false
}

type storeResourceRequest struct {
	IdentityStoreId *string
	UserId          *string
	GroupId         *string
}

type externalIDOut struct {
	Issuer string
	Id     string
}

type email struct {
	Value   string
	Type    string
	Primary bool
}

type userOut struct {
	IdentityStoreId string
	UserId          string
	UserName        string
	DisplayName     string
	Name            map[string]string
	Emails          []email
	ExternalIds     []externalIDOut `json:",omitempty"`
	UserStatus      string
	CreatedAt       float64
	UpdatedAt       float64
}

func externalIDs(ids []world.ExternalID) []externalIDOut {
	out := make([]externalIDOut, 0, len(ids))
	for _, e := range ids {
		out = append(out, externalIDOut{Issuer: e.Issuer, Id: e.ID})
	}
	return out
}

func (s *Service) describeUser(c *call) (any, *awsproto.Error) {
	var req storeResourceRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if e := resourceID("userId", req.UserId); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	u := s.state.UserByID(*req.UserId)
	if u == nil {
		return nil, notFound("USER", *req.UserId, "User %s does not exist in identity store %s", *req.UserId, s.state.IdentityStoreID)
	}
	ts := float64(CreatedAt.Unix())
	return userOut{
		IdentityStoreId: s.state.IdentityStoreID, UserId: u.UserID, UserName: u.UserName, DisplayName: u.DisplayName,
		Name:        map[string]string{"Formatted": u.DisplayName},
		Emails:      []email{{Value: u.Email, Type: "work", Primary: true}},
		ExternalIds: externalIDs(u.ExternalIDs), UserStatus: "ENABLED", CreatedAt: ts, UpdatedAt: ts,
	}, nil
}

func (s *Service) describeGroup(c *call) (any, *awsproto.Error) {
	var req storeResourceRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if e := resourceID("groupId", req.GroupId); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	g := s.state.GroupByID(*req.GroupId)
	if g == nil {
		return nil, notFound("GROUP", *req.GroupId, "Group %s does not exist in identity store %s", *req.GroupId, s.state.IdentityStoreID)
	}
	ts := float64(CreatedAt.Unix())
	return map[string]any{"IdentityStoreId": s.state.IdentityStoreID, "GroupId": g.GroupID, "DisplayName": g.Name,
		"CreatedAt": ts, "UpdatedAt": ts}, nil
}

type memberID struct {
	UserId string
}

type membership struct {
	IdentityStoreId string
	MembershipId    string
	GroupId         string
	MemberId        memberID
	CreatedAt       float64
	UpdatedAt       float64
}

func (s *Service) listGroupMembershipsForMember(c *call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		MemberId        *struct{ UserId *string }
		MaxResults      *int
		NextToken       *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if req.MemberId == nil {
		return nil, required("memberId")
	}
	if e := resourceID("memberId.userId", req.MemberId.UserId); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	u := s.state.UserByID(*req.MemberId.UserId)
	if u == nil {
		return nil, notFound("USER", *req.MemberId.UserId, "User %s does not exist in identity store %s", *req.MemberId.UserId, s.state.IdentityStoreID)
	}
	p, e := paginate(c.op, u.UserID, req.NextToken, req.MaxResults, 100, 100, len(u.Groups))
	if e != nil {
		return nil, e
	}
	ts := float64(CreatedAt.Unix())
	out := make([]membership, 0, p.end-p.start)
	for _, g := range u.Groups[p.start:p.end] {
		out = append(out, membership{IdentityStoreId: s.state.IdentityStoreID,
			MembershipId: world.StableUUID("membership", g.GroupID, u.UserID), GroupId: g.GroupID,
			MemberId: memberID{UserId: u.UserID}, CreatedAt: ts, UpdatedAt: ts})
	}
	return struct {
		GroupMemberships []membership
		NextToken        *string `json:",omitempty"`
	}{GroupMemberships: out, NextToken: p.next}, nil
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
