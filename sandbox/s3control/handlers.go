package s3control

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
)

// Namespace is the XML namespace of S3 Control replies.
const Namespace = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// Prefix is the path under which the Access Grants instance is served.
const Prefix = "/v20180820/accessgrantsinstance"

// Duration bounds of vended credentials, in seconds.
const (
	MinDuration     = 900
	MaxDuration     = 43200
	DefaultDuration = 3600
)

// Handler serves the Access Grants part of the S3 Control API.
type Handler struct {
	Env   *env.Env
	State *State
}

// New builds the Access Grants state from the world and its handler.
func New(e *env.Env) (*Handler, error) {
	st, err := NewState(e.World, e.IAM)
	if err != nil {
		return nil, err
	}
	return &Handler{Env: e, State: st}, nil
}

type call struct {
	w   http.ResponseWriter
	r   *http.Request
	rid string
	p   *auth.Principal
}

func (c *call) fail(e *awsproto.Error) { awsproto.WriteError(c.w, awsproto.RestXMLWrapped, e, c.rid) }

func (c *call) reply(v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		c.fail(&awsproto.Error{Status: 500, Code: "InternalError", Message: "could not encode the reply", Receiver: true})
		return
	}
	awsproto.SetRequestIDHeaders(c.w, awsproto.RestXMLWrapped, c.rid)
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(b)
}

func invalid(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidRequest", format, a...)
}

// authorize checks the caller's identity policies (the admin may do everything).
func (c *call) authorize(action, resource string) *awsproto.Error {
	if c.p.Admin {
		return nil
	}
	x := c.p.Explain(action, resource, nil)
	if x.Decision != iampolicy.Allow {
		callctx.Deny(c.r.Context(), callctx.IdentityPolicy(c.p, action, resource, x))
	}
	switch x.Decision {
	case iampolicy.Allow:
		return nil
	case iampolicy.ExplicitDeny:
		return awsproto.AccessDenied("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in an identity-based policy", c.p.Arn, action, resource)
	}
	return awsproto.AccessDenied("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		c.p.Arn, action, resource, action)
}

// ServeHTTP serves one S3 Control request. The Host is ignored (SDKs prefix
// it with the account id); only the SigV4 signature and x-amz-account-id count.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, rid: awsproto.NewRequestID()}
	w.Header().Set("Date", h.Env.Now().Format(http.TimeFormat))
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		h.Env.Stats.Inc("s3:Unsupported")
		c.fail(awsproto.Errorf(http.StatusNotImplemented, "NotImplemented",
			"the sandbox's S3 Control serves only the Access Grants instance (%s/…), not %s", Prefix, awsproto.Truncate(r.URL.Path, 100)))
		return
	}
	var op string
	var id string
	switch {
	case rest == "" || rest == "/":
		op = "GetAccessGrantsInstance"
	case rest == "/dataaccess":
		op = "GetDataAccess"
	case rest == "/grants":
		op = "ListAccessGrants"
	case strings.HasPrefix(rest, "/grant/"):
		op, id = "GetAccessGrant", strings.TrimPrefix(rest, "/grant/")
	case rest == "/locations":
		op = "ListAccessGrantsLocations"
	case strings.HasPrefix(rest, "/location/"):
		op, id = "GetAccessGrantsLocation", strings.TrimPrefix(rest, "/location/")
	case rest == "/caller/grants":
		op = "ListCallerAccessGrants"
	}
	if op == "" || r.Method != http.MethodGet {
		h.Env.Stats.Inc("s3:Unsupported")
		c.fail(awsproto.Errorf(http.StatusNotImplemented, "NotImplemented",
			"the sandbox's Access Grants instance is read-only (declared in the world); %s %s is not served", r.Method, awsproto.Truncate(r.URL.Path, 100)))
		return
	}
	h.Env.Stats.Inc("s3:" + op)
	callctx.SetOperation(r.Context(), op)
	if !awsproto.IsSigned(r) {
		c.fail(awsproto.AccessDenied("Access Denied: sign requests with SigV4"))
		return
	}
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		c.fail(e)
		return
	}
	if c.p, e = h.Env.Authenticate(r, body, awsproto.VerifyOptions{DisableURIPathEscaping: true, UnknownKeyCode: "InvalidAccessKeyId"}); e != nil {
		c.fail(e)
		return
	}
	acct := r.Header.Get("X-Amz-Account-Id")
	switch {
	case acct == "":
		c.fail(invalid("the x-amz-account-id header is required"))
		return
	case acct != h.State.Account:
		c.fail(awsproto.Errorf(http.StatusNotFound, "AccessGrantsInstanceNotExistsError",
			"There is no Access Grants instance in account %s (the sandbox's account is %s)", awsproto.Truncate(acct, 20), h.State.Account))
		return
	}
	switch op {
	case "GetDataAccess":
		h.getDataAccess(c)
	case "GetAccessGrantsInstance":
		h.getInstance(c)
	case "ListAccessGrants":
		h.listGrants(c)
	case "GetAccessGrant":
		h.getGrant(c, id)
	case "ListAccessGrantsLocations":
		h.listLocations(c)
	case "GetAccessGrantsLocation":
		h.getLocation(c, id)
	case "ListCallerAccessGrants":
		h.listCallerGrants(c)
	}
}

type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type grantee struct {
	GranteeType       string `xml:"GranteeType"`
	GranteeIdentifier string `xml:"GranteeIdentifier"`
}

type getDataAccessResult struct {
	XMLName            xml.Name    `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ GetDataAccessResult"`
	Credentials        credentials `xml:"Credentials"`
	MatchedGrantTarget string      `xml:"MatchedGrantTarget"`
	Grantee            grantee     `xml:"Grantee"`
}

// DataAccessRequest is a validated GetDataAccess request.
type DataAccessRequest struct {
	Target     Target
	Permission string
	Duration   time.Duration
	Minimal    bool
}

// ParseDataAccess validates GetDataAccess's query parameters.
func ParseDataAccess(q map[string][]string) (DataAccessRequest, *awsproto.Error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var req DataAccessRequest
	if get("target") == "" {
		return req, invalid("target is required: the S3 URI to access, e.g. s3://bucket/prefix/*")
	}
	switch req.Permission = get("permission"); req.Permission {
	case Read, Write, ReadWrite:
	case "":
		return req, invalid("permission is required: READ, WRITE or READWRITE")
	default:
		return req, invalid("permission must be READ, WRITE or READWRITE, not %q", awsproto.Truncate(req.Permission, 40))
	}
	secs := DefaultDuration
	if v := get("durationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinDuration || n > MaxDuration {
			return req, invalid("durationSeconds must be an integer between %d and %d, not %q", MinDuration, MaxDuration, awsproto.Truncate(v, 20))
		}
		secs = n
	}
	req.Duration = time.Duration(secs) * time.Second
	switch pv := get("privilege"); pv {
	case "", "Default":
	case "Minimal":
		req.Minimal = true
	default:
		return req, invalid("privilege must be Default or Minimal, not %q", awsproto.Truncate(pv, 40))
	}
	if ac := get("auditContext"); len(ac) > 2048 {
		return req, invalid("auditContext is longer than 2048 characters")
	}
	t, e := ParseTarget(get("target"), get("targetType"))
	if e != nil {
		return req, e
	}
	req.Target = t
	return req, nil
}

func (h *Handler) getDataAccess(c *call) {
	req, e := ParseDataAccess(c.r.URL.Query())
	if e != nil {
		c.fail(e)
		return
	}
	if e := c.authorize("s3:GetDataAccess", h.State.Instance.Arn); e != nil {
		c.fail(e)
		return
	}
	g, e := h.State.Match(c.p, req.Target, req.Permission)
	if e != nil {
		callctx.Deny(c.r.Context(), callctx.Decision{Kind: "access-grants", Action: "s3:GetDataAccess", Resource: req.Target.URI,
			Policy: h.State.Instance.Arn, Reason: e.Message})
		c.fail(e)
		return
	}
	directory := g.GranteeType != IAMGrantee
	role, e := h.State.LocationRole(g, directory)
	if e != nil {
		c.fail(e)
		return
	}
	bucket, prefix, _ := strings.Cut(g.path, "/")
	object := false
	if req.Minimal {
		bucket, prefix, object = req.Target.Bucket, req.Target.Prefix, req.Target.Object
	}
	doc, _ := ScopePolicy(bucket, prefix, object, req.Permission)
	now := h.Env.Now()
	expires := now.Add(req.Duration)
	if !c.p.Expiration.IsZero() && c.p.Expiration.Before(expires) {
		// Vended credentials do not outlive the session that asked for them.
		expires = c.p.Expiration
	}
	session := "access-grants-" + strings.ToLower(auth.RandomID("", 12))
	vended := &auth.Principal{
		AccountID: h.State.Account, Arn: "arn:aws:sts::" + h.State.Account + ":assumed-role/" + role.Name + "/" + session,
		UserID: role.RoleID + ":" + session, RoleArn: role.Arn, RoleName: role.Name, SessionName: session,
		SourceIdentity: c.p.SourceIdentity, Policies: []*iampolicy.Document{doc}, IssuedAt: now,
	}
	if directory {
		vended.Context = c.p.Context
	}
	h.Env.Registry.IssueSession(vended, expires)
	c.reply(getDataAccessResult{
		Credentials: credentials{AccessKeyID: vended.AccessKeyID, SecretAccessKey: vended.SecretAccessKey,
			SessionToken: vended.SessionToken, Expiration: awsproto.ISOTime(vended.Expiration)},
		MatchedGrantTarget: g.Scope,
		Grantee:            grantee{GranteeType: g.GranteeType, GranteeIdentifier: g.GranteeIdentifier},
	})
}

type getInstanceResult struct {
	XMLName                   xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ GetAccessGrantsInstanceResult"`
	AccessGrantsInstanceArn   string   `xml:"AccessGrantsInstanceArn"`
	AccessGrantsInstanceID    string   `xml:"AccessGrantsInstanceId"`
	IdentityCenterArn         string   `xml:"IdentityCenterArn,omitempty"`
	IdentityCenterInstanceArn string   `xml:"IdentityCenterInstanceArn,omitempty"`
	CreatedAt                 string   `xml:"CreatedAt"`
}

func (h *Handler) getInstance(c *call) {
	in := h.State.Instance
	if e := c.authorize("s3:GetAccessGrantsInstance", in.Arn); e != nil {
		c.fail(e)
		return
	}
	c.reply(getInstanceResult{AccessGrantsInstanceArn: in.Arn, AccessGrantsInstanceID: in.ID, IdentityCenterArn: in.IdentityCenterArn,
		IdentityCenterInstanceArn: in.IdentityCenterArn, CreatedAt: awsproto.ISOTime(in.Created)})
}

type grantEntry struct {
	CreatedAt              string   `xml:"CreatedAt"`
	AccessGrantID          string   `xml:"AccessGrantId"`
	AccessGrantArn         string   `xml:"AccessGrantArn"`
	Grantee                grantee  `xml:"Grantee"`
	Permission             string   `xml:"Permission"`
	AccessGrantsLocationID string   `xml:"AccessGrantsLocationId"`
	SubPrefix              *subPfx  `xml:"AccessGrantsLocationConfiguration,omitempty"`
	GrantScope             string   `xml:"GrantScope"`
	XMLName                xml.Name `xml:"AccessGrant"`
}

type subPfx struct {
	S3SubPrefix string `xml:"S3SubPrefix"`
}

func entry(g *Grant) grantEntry {
	e := grantEntry{CreatedAt: awsproto.ISOTime(g.Created), AccessGrantID: g.ID, AccessGrantArn: g.Arn,
		Grantee: grantee{GranteeType: g.GranteeType, GranteeIdentifier: g.GranteeIdentifier}, Permission: g.Permission,
		AccessGrantsLocationID: g.LocationID, GrantScope: g.Scope}
	if g.SubPrefix != "" {
		e.SubPrefix = &subPfx{S3SubPrefix: g.SubPrefix}
	}
	return e
}

type listGrantsResult struct {
	XMLName   xml.Name     `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ ListAccessGrantsResult"`
	NextToken string       `xml:"NextToken,omitempty"`
	Grants    []grantEntry `xml:"AccessGrantsList>AccessGrant"`
}

// page applies nextToken/maxResults to n items and returns [from, to) and the next token.
func page(q map[string][]string, n int) (from, to int, next string, e *awsproto.Error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	max := 1000
	if v := get("maxResults"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 0 || m > 1000 {
			return 0, 0, "", invalid("maxResults must be an integer between 0 and 1000")
		}
		if m > 0 {
			max = m
		}
	}
	if tok := get("nextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		f, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "i"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "i") || f < 0 || f > n {
			return 0, 0, "", invalid("the nextToken is not valid")
		}
		from = f
	}
	to = min(n, from+max)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("i" + strconv.Itoa(to)))
	}
	return from, to, next, nil
}

func (h *Handler) listGrants(c *call) {
	if e := c.authorize("s3:ListAccessGrants", h.State.Instance.Arn); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	var sel []*Grant
	for _, g := range h.State.Grants {
		if v := q.Get("granteetype"); v != "" && v != g.GranteeType {
			continue
		}
		if v := q.Get("granteeidentifier"); v != "" && v != g.GranteeIdentifier {
			continue
		}
		if v := q.Get("permission"); v != "" && v != g.Permission {
			continue
		}
		if v := q.Get("grantscope"); v != "" && v != g.Scope {
			continue
		}
		if q.Get("application_arn") != "" {
			continue // the sandbox's grants are not limited to an application
		}
		sel = append(sel, g)
	}
	from, to, next, e := page(q, len(sel))
	if e != nil {
		c.fail(e)
		return
	}
	res := listGrantsResult{NextToken: next, Grants: []grantEntry{}}
	for _, g := range sel[from:to] {
		res.Grants = append(res.Grants, entry(g))
	}
	c.reply(res)
}

type getGrantResult struct {
	XMLName                xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ GetAccessGrantResult"`
	CreatedAt              string   `xml:"CreatedAt"`
	AccessGrantID          string   `xml:"AccessGrantId"`
	AccessGrantArn         string   `xml:"AccessGrantArn"`
	Grantee                grantee  `xml:"Grantee"`
	Permission             string   `xml:"Permission"`
	AccessGrantsLocationID string   `xml:"AccessGrantsLocationId"`
	SubPrefix              *subPfx  `xml:"AccessGrantsLocationConfiguration,omitempty"`
	GrantScope             string   `xml:"GrantScope"`
}

func (h *Handler) getGrant(c *call, id string) {
	g, ok := h.State.Grant(id)
	resource := h.State.Instance.Arn + "/grant/" + id
	if ok {
		resource = g.Arn
	}
	if e := c.authorize("s3:GetAccessGrant", resource); e != nil {
		c.fail(e)
		return
	}
	if !ok {
		c.fail(awsproto.Errorf(http.StatusNotFound, "AccessGrantNotFound", "The access grant %q does not exist", awsproto.Truncate(id, 80)))
		return
	}
	e := entry(g)
	c.reply(getGrantResult{CreatedAt: e.CreatedAt, AccessGrantID: e.AccessGrantID, AccessGrantArn: e.AccessGrantArn, Grantee: e.Grantee,
		Permission: e.Permission, AccessGrantsLocationID: e.AccessGrantsLocationID, SubPrefix: e.SubPrefix, GrantScope: e.GrantScope})
}

type locationEntry struct {
	XMLName                 xml.Name `xml:"AccessGrantsLocation"`
	CreatedAt               string   `xml:"CreatedAt"`
	AccessGrantsLocationID  string   `xml:"AccessGrantsLocationId"`
	AccessGrantsLocationArn string   `xml:"AccessGrantsLocationArn"`
	LocationScope           string   `xml:"LocationScope"`
	IAMRoleArn              string   `xml:"IAMRoleArn"`
}

func locEntry(l *Location) locationEntry {
	return locationEntry{CreatedAt: awsproto.ISOTime(l.Created), AccessGrantsLocationID: l.ID, AccessGrantsLocationArn: l.Arn,
		LocationScope: l.Scope, IAMRoleArn: l.RoleArn}
}

type listLocationsResult struct {
	XMLName   xml.Name        `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ ListAccessGrantsLocationsResult"`
	NextToken string          `xml:"NextToken,omitempty"`
	Locations []locationEntry `xml:"AccessGrantsLocationsList>AccessGrantsLocation"`
}

func (h *Handler) listLocations(c *call) {
	if e := c.authorize("s3:ListAccessGrantsLocations", h.State.Instance.Arn); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	var sel []*Location
	for _, l := range h.State.Locations {
		if v := q.Get("locationscope"); v != "" && v != l.Scope {
			continue
		}
		sel = append(sel, l)
	}
	from, to, next, e := page(q, len(sel))
	if e != nil {
		c.fail(e)
		return
	}
	res := listLocationsResult{NextToken: next, Locations: []locationEntry{}}
	for _, l := range sel[from:to] {
		res.Locations = append(res.Locations, locEntry(l))
	}
	c.reply(res)
}

type getLocationResult struct {
	XMLName                 xml.Name `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ GetAccessGrantsLocationResult"`
	CreatedAt               string   `xml:"CreatedAt"`
	AccessGrantsLocationID  string   `xml:"AccessGrantsLocationId"`
	AccessGrantsLocationArn string   `xml:"AccessGrantsLocationArn"`
	LocationScope           string   `xml:"LocationScope"`
	IAMRoleArn              string   `xml:"IAMRoleArn"`
}

func (h *Handler) getLocation(c *call, id string) {
	l, ok := h.State.Location(id)
	resource := h.State.Instance.Arn + "/location/" + id
	if ok {
		resource = l.Arn
	}
	if e := c.authorize("s3:GetAccessGrantsLocation", resource); e != nil {
		c.fail(e)
		return
	}
	if !ok {
		c.fail(awsproto.Errorf(http.StatusNotFound, "AccessGrantsLocationNotFound", "The access grants location %q does not exist", awsproto.Truncate(id, 80)))
		return
	}
	e := locEntry(l)
	c.reply(getLocationResult{CreatedAt: e.CreatedAt, AccessGrantsLocationID: e.AccessGrantsLocationID,
		AccessGrantsLocationArn: e.AccessGrantsLocationArn, LocationScope: e.LocationScope, IAMRoleArn: e.IAMRoleArn})
}

type callerGrantEntry struct {
	XMLName    xml.Name `xml:"AccessGrant"`
	Permission string   `xml:"Permission"`
	GrantScope string   `xml:"GrantScope"`
}

type listCallerGrantsResult struct {
	XMLName   xml.Name           `xml:"http://awss3control.amazonaws.com/doc/2018-08-20/ ListCallerAccessGrantsResult"`
	NextToken string             `xml:"NextToken,omitempty"`
	Grants    []callerGrantEntry `xml:"CallerAccessGrantsList>AccessGrant"`
}

func (h *Handler) listCallerGrants(c *call) {
	if e := c.authorize("s3:ListCallerAccessGrants", h.State.Instance.Arn); e != nil {
		c.fail(e)
		return
	}
	q := c.r.URL.Query()
	scope := q.Get("grantscope")
	if scope != "" && !strings.HasPrefix(scope, "s3://") {
		c.fail(invalid("grantscope must be an S3 URI starting with s3://"))
		return
	}
	frag := strings.TrimSuffix(scope, "*")
	var sel []*Grant
	for _, g := range h.State.CallerGrants(c.p) {
		// A grant applies when it lies under the fragment or contains it.
		if frag != "" && !strings.HasPrefix(g.Scope, frag) && !strings.HasPrefix(frag, strings.TrimSuffix(g.Scope, "*")) {
			continue
		}
		sel = append(sel, g)
	}
	from, to, next, e := page(q, len(sel))
	if e != nil {
		c.fail(e)
		return
	}
	res := listCallerGrantsResult{NextToken: next, Grants: []callerGrantEntry{}}
	for _, g := range sel[from:to] {
		res.Grants = append(res.Grants, callerGrantEntry{Permission: g.Permission, GrantScope: g.Scope})
	}
	c.reply(res)
}
