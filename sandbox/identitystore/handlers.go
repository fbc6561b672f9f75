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
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
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
	api   *json11.API
	env   *env.Env
	state *identitycenter.State
}

// New returns the identitystore handler over s.
func New(e *env.Env, s *identitycenter.State) *Service {
	svc := &Service{state: s, env: e}
	svc.api = &json11.API{Name: "identitystore", TargetPrefix: TargetPrefix, Service: "identitystore", Runtime: e, Stats: e.Stats,
		Operations: map[string]json11.Operation{
			"GetUserId":                     svc.getUserID,
			"DescribeUser":                  svc.describeUser,
			"DescribeGroup":                 svc.describeGroup,
			"ListGroupMembershipsForMember": svc.listGroupMembershipsForMember,
		}, State: e}
	svc.api.Writes = svc.writes()
	for op, h := range svc.reads() {
		svc.api.Operations[op] = h
	}
	return svc
}

// ServeHTTP dispatches on X-Amz-Target.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

var (
	storeIDRe    = lazyre.New(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	resourceIDRe = lazyre.New(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
)

// shownID bounds how much of a malformed id a validation message repeats.
const shownID = 64

// authorize checks the caller's identity policies on the identity store's
// ARN, the resource of every operation.
func (s *Service) authorize(c *json11.Call) *awsproto.Error {
	return c.Authorize(s.state.IdentityStoreArn())
}

// notFound is the modeled ResourceNotFoundException with its ResourceType and ResourceId members.
func notFound(resourceType, id, format string, a ...any) *awsproto.Error {
	e := json11.NotFound(format, a...)
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
		return json11.Required("identityStoreId")
	case *id == s.state.IdentityStoreID:
		return nil
	case !storeIDRe.MatchString(*id):
		return json11.BadPattern("identityStoreId", *id, storeIDRe, shownID)
	}
	return notFound("IDENTITY_STORE", *id, "Identity store %s does not exist", *id)
}

func resourceID(member string, id *string) *awsproto.Error {
	switch {
	case id == nil:
		return json11.Required(member)
	case !resourceIDRe.MatchString(*id):
		return json11.BadPattern(member, *id, resourceIDRe, shownID)
	}
	return nil
}

type externalID struct {
	Issuer *string
	Id     *string
}

type getUserIDRequest struct {
	IdentityStoreId     *string
	AlternateIdentifier *alternateIdentifier
}

type alternateIdentifier struct {
	ExternalId      *externalID
	UniqueAttribute *struct {
		AttributePath  *string
		AttributeValue json.RawMessage
	}
}

// alternateID decodes a GetUserId / GetGroupId request: the identity
// store, exactly one of ExternalId or UniqueAttribute, and the caller's
// permission.
func (s *Service) alternateID(c *json11.Call) (*alternateIdentifier, *awsproto.Error) {
	var req getUserIDRequest
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	alt := req.AlternateIdentifier
	if alt == nil {
		return nil, json11.Required("alternateIdentifier")
	}
	if (alt.ExternalId == nil) == (alt.UniqueAttribute == nil) {
		return nil, json11.Validation("AlternateIdentifier must set exactly one of ExternalId or UniqueAttribute")
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	return alt, nil
}

// uniquePaths are the user attributes GetUserId accepts as a UniqueAttribute.
var uniquePaths = []string{"userName", "emails.value"}

func (s *Service) getUserID(c *json11.Call) (any, *awsproto.Error) {
	alt, e := s.alternateID(c)
	if e != nil {
		return nil, e
	}
	var users []*identitycenter.User
	var what string
	if x := alt.ExternalId; x != nil {
		if x.Issuer == nil || *x.Issuer == "" {
			return nil, json11.Required("alternateIdentifier.externalId.issuer")
		}
		if x.Id == nil || *x.Id == "" {
			return nil, json11.Required("alternateIdentifier.externalId.id")
		}
		for _, u := range s.state.AllUsers() {
			if hasExternalID(u.ExternalIDs, *x.Issuer, *x.Id) {
				users = append(users, u)
			}
		}
		what = "external id " + awsproto.Truncate(*x.Id, 128) + " of issuer " + awsproto.Truncate(*x.Issuer, 256)
	} else {
		ua := alt.UniqueAttribute
		if ua.AttributePath == nil {
			return nil, json11.Required("alternateIdentifier.uniqueAttribute.attributePath")
		}
		if len(ua.AttributeValue) == 0 || string(ua.AttributeValue) == "null" {
			return nil, json11.Required("alternateIdentifier.uniqueAttribute.attributeValue")
		}
		path := *ua.AttributePath
		if !contains(uniquePaths, path) {
			return nil, json11.Validation("%q is not a unique attribute of users; use one of %s", awsproto.Truncate(path, 64), strings.Join(uniquePaths, ", "))
		}
		var value string
		if err := json.Unmarshal(ua.AttributeValue, &value); err != nil {
			return nil, json11.Validation("the AttributeValue of %s must be a string", path)
		}
		users = s.state.UsersMatching(path, value)
		what = path + " = " + awsproto.Truncate(value, 128)
	}
	switch len(users) {
	case 0:
		return nil, notFound("USER", "", "No user in identity store %s has %s", s.state.IdentityStoreID, what)
	case 1:
	default:
		return nil, json11.Validation("%d users in identity store %s have %s; the attribute must identify one user", len(users), s.state.IdentityStoreID, what)
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

// describedID decodes a DescribeUser or DescribeGroup request, checks its
// IdentityStoreId and its id member (userId or groupId), authorizes the call
// and returns the id.
func (s *Service) describedID(c *json11.Call, member string) (string, *awsproto.Error) {
	var req storeResourceRequest
	if e := c.Decode(&req); e != nil {
		return "", e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return "", e
	}
	id := req.UserId
	if member == "groupId" {
		id = req.GroupId
	}
	if e := resourceID(member, id); e != nil {
		return "", e
	}
	if e := s.authorize(c); e != nil {
		return "", e
	}
	return *id, nil
}

// user returns the user with id, or the modeled ResourceNotFoundException.
func (s *Service) user(id string) (*identitycenter.User, *awsproto.Error) {
	u := s.state.UserByID(id)
	if u == nil {
		return nil, notFound("USER", id, "User %s does not exist in identity store %s", id, s.state.IdentityStoreID)
	}
	return u, nil
}

func (s *Service) describeUser(c *json11.Call) (any, *awsproto.Error) {
	id, e := s.describedID(c, "userId")
	if e != nil {
		return nil, e
	}
	u, e := s.user(id)
	if e != nil {
		return nil, e
	}
	return s.userOut(u), nil
}

func (s *Service) describeGroup(c *json11.Call) (any, *awsproto.Error) {
	id, e := s.describedID(c, "groupId")
	if e != nil {
		return nil, e
	}
	g := s.state.GroupByID(id)
	if g == nil {
		return nil, notFound("GROUP", id, "Group %s does not exist in identity store %s", id, s.state.IdentityStoreID)
	}
	return s.groupOut(g), nil
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

func (s *Service) listGroupMembershipsForMember(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		MemberId        *struct{ UserId *string }
		MaxResults      *int
		NextToken       *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if req.MemberId == nil {
		return nil, json11.Required("memberId")
	}
	if e := resourceID("memberId.userId", req.MemberId.UserId); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	u, e := s.user(*req.MemberId.UserId)
	if e != nil {
		return nil, e
	}
	groups, next, e := json11.Page(c.Op, u.UserID, u.Groups, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	ts := float64(CreatedAt.Unix())
	out := make([]membership, 0, len(groups))
	for _, g := range groups {
		out = append(out, membership{IdentityStoreId: s.state.IdentityStoreID,
			MembershipId: MembershipID(g.GroupID, u.UserID), GroupId: g.GroupID,
			MemberId: memberID{UserId: u.UserID}, CreatedAt: ts, UpdatedAt: ts})
	}
	return json11.List{Member: "GroupMemberships", Items: out, Next: next}, nil
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
