package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/jwtverify"
)

// APIVersion is the only awsQuery Version STS accepts.
const APIVersion = "2011-06-15"

// SourceIdentityClaim is the OIDC claim that sets a web-identity session's source identity.
const SourceIdentityClaim = "https://aws.amazon.com/source_identity"

// Service serves the STS awsQuery API.
type Service struct {
	env *env.Env
}

// New returns the STS handler for e.
func New(e *env.Env) *Service { return &Service{env: e} }

// unimplemented are real STS actions the sandbox does not serve.
var unimplemented = map[string]bool{
	"AssumeRoleWithSAML": true, "AssumeRoot": true, "DecodeAuthorizationMessage": true,
	"GetAccessKeyInfo": true, "GetDelegatedAccessToken": true, "GetFederationToken": true,
	"GetSessionToken": true, "GetWebIdentityToken": true,
}

// ServeHTTP dispatches on the awsQuery Action (form body or query string).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	// The Date header is the sandbox clock, so that SDKs correct their
	// signing clock when a test has advanced it (clock skew correction).
	w.Header().Set("Date", s.env.Now().Format(http.TimeFormat))
	fail := func(e *awsproto.Error) { awsproto.WriteError(w, awsproto.Query, e, rid) }
	if r.URL.Path != "/" && r.URL.Path != "" {
		fail(awsproto.Errorf(http.StatusNotFound, "InvalidAction",
			"STS has no resource at %s: send awsQuery requests (Action=…) to /", awsproto.Truncate(r.URL.Path, 80)))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		fail(awsproto.Errorf(http.StatusMethodNotAllowed, "InvalidAction",
			"STS accepts POST with a form body or GET with a query string, not %s", r.Method))
		return
	}
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		fail(e)
		return
	}
	form, e := awsproto.ParseForm(body)
	if e != nil {
		fail(e)
		return
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		fail(awsproto.Errorf(http.StatusBadRequest, "MalformedQueryString", "the query string is malformed: %v", err))
		return
	} else {
		for k, v := range q {
			if _, ok := form[k]; !ok {
				form[k] = v
			}
		}
	}
	action := form.Get("Action")
	if action == "" {
		fail(awsproto.Errorf(http.StatusBadRequest, "MissingAction", "the request has no Action parameter"))
		return
	}
	if v := form.Get("Version"); v != "" && v != APIVersion {
		fail(awsproto.Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s",
			awsproto.Truncate(action, 64), awsproto.Truncate(v, 32)))
		return
	}
	if knownAction(action) {
		callctx.SetOperation(r.Context(), action)
	}
	now := s.env.Now()
	var result any
	s.env.RLock()
	defer s.env.RUnlock()
	switch action {
	case "AssumeRoleWithWebIdentity":
		s.env.Stats.Inc("sts:AssumeRoleWithWebIdentity")
		result, e = s.assumeRoleWithWebIdentity(r.Context(), form, now)
	case "AssumeRole":
		s.env.Stats.Inc("sts:AssumeRole")
		result, e = s.assumeRole(r, body, form, now)
	case "GetCallerIdentity":
		s.env.Stats.Inc("sts:GetCallerIdentity")
		result, e = s.getCallerIdentity(r, body)
	default:
		if unimplemented[action] {
			s.env.Stats.Inc("sts:" + action)
			e = awsproto.Errorf(http.StatusBadRequest, "InvalidAction",
				"the sandbox does not implement sts:%s (it serves AssumeRoleWithWebIdentity, AssumeRole and GetCallerIdentity)", action)
		} else {
			e = awsproto.Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s",
				awsproto.Truncate(action, 64), APIVersion)
		}
	}
	if e != nil {
		fail(e)
		return
	}
	awsproto.WriteQuery(w, awsproto.STSNamespace, action, result, rid)
}

// Reply shapes (awsQuery XML; element names are the field names).

type credentialsXML struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type assumedRoleUserXML struct {
	AssumedRoleId string
	Arn           string
}

type assumeRoleResult struct {
	Credentials      credentialsXML
	AssumedRoleUser  assumedRoleUserXML
	PackedPolicySize *int   `xml:",omitempty"`
	SourceIdentity   string `xml:",omitempty"`
}

type webIdentityResult struct {
	Credentials                 credentialsXML
	SubjectFromWebIdentityToken string
	AssumedRoleUser             assumedRoleUserXML
	PackedPolicySize            *int   `xml:",omitempty"`
	Provider                    string `xml:",omitempty"`
	Audience                    string `xml:",omitempty"`
	SourceIdentity              string `xml:",omitempty"`
}

type callerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

func credentialsOf(p *auth.Principal) credentialsXML {
	return credentialsXML{AccessKeyId: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey,
		SessionToken: p.SessionToken, Expiration: awsproto.ISOTime(p.Expiration)}
}

// Errors as STS names them.

func accessDenied(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusForbidden, "AccessDenied", format, a...)
}

func invalidParameter(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", format, a...)
}

func invalidIdentityToken(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidIdentityToken", format, a...)
}

func expiredToken(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ExpiredTokenException", format, a...)
}

// validation collects model constraint failures in AWS's wording:
// "2 validation errors detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: …; …".
type validation struct{ msgs []string }

func (v *validation) fail(member, value string, sensitive bool, constraint string) {
	var m string
	if sensitive {
		m = fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint)
	} else {
		m = fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", awsproto.Truncate(value, 64), member, constraint)
	}
	v.msgs = append(v.msgs, m)
}

func (v *validation) err() *awsproto.Error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return awsproto.Validation("1 validation error detected: %s", v.msgs[0])
	}
	return awsproto.Validation("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
}

// str checks a string member; it returns the value and whether it was sent.
func (v *validation) str(form url.Values, name, member string, required bool, min, max int, re *lazyre.Regexp, sensitive bool) (string, bool) {
	vals, ok := form[name]
	if !ok {
		if required {
			v.msgs = append(v.msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
		}
		return "", false
	}
	val := vals[0]
	n := utf8.RuneCountInString(val)
	switch {
	case n < min:
		v.fail(member, val, sensitive, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case max > 0 && n > max:
		v.fail(member, val, sensitive, fmt.Sprintf("Member must have length less than or equal to %d", max))
	case re != nil && !re.MatchString(val):
		v.fail(member, val, sensitive, "Member must satisfy regular expression pattern: "+strings.Trim(re.String(), "^$"))
	}
	return val, true
}

// duration checks DurationSeconds (900..43200 in the model).
func (v *validation) duration(form url.Values) (time.Duration, bool) {
	vals, ok := form["DurationSeconds"]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(vals[0]))
	switch {
	case err != nil:
		v.fail("durationSeconds", vals[0], false, "Member must be an integer")
	case n < 900:
		v.fail("durationSeconds", vals[0], false, "Member must have value greater than or equal to 900")
	case n > 43200:
		v.fail("durationSeconds", vals[0], false, "Member must have value less than or equal to 43200")
	}
	return time.Duration(n) * time.Second, true
}

// members returns the indexes N of "prefix.member.N.…" (or "prefix.member.N") keys, sorted.
func members(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix+".member.")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// emptyList reports whether the list was sent as empty ("Prefix=").
func emptyList(form url.Values, prefix string) bool {
	_, ok := form[prefix]
	return ok
}

type providedContext struct {
	ProviderArn string
	Assertion   string
}

func (v *validation) providedContexts(form url.Values) []providedContext {
	idx := members(form, "ProvidedContexts")
	if len(idx) == 0 {
		if emptyList(form, "ProvidedContexts") {
			v.fail("providedContexts", "[]", false, "Member must have length greater than or equal to 1")
		}
		return nil
	}
	if len(idx) > MaxProvidedContexts {
		v.fail("providedContexts", fmt.Sprintf("[%d contexts]", len(idx)), false,
			fmt.Sprintf("Member must have length less than or equal to %d", MaxProvidedContexts))
		return nil
	}
	out := make([]providedContext, 0, len(idx))
	for i, n := range idx {
		p := fmt.Sprintf("ProvidedContexts.member.%d.", n)
		m := fmt.Sprintf("providedContexts.%d.member.", i+1)
		arn, _ := v.str(form, p+"ProviderArn", m+"providerArn", false, 20, 2048, arnChars, false)
		as, _ := v.str(form, p+"ContextAssertion", m+"contextAssertion", false, 4, 2048, nil, true)
		out = append(out, providedContext{ProviderArn: arn, Assertion: as})
	}
	return out
}

var tagRe = lazyre.New(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func (v *validation) tags(form url.Values) map[string]string {
	idx := members(form, "Tags")
	if len(idx) > 50 {
		v.fail("tags", fmt.Sprintf("[%d tags]", len(idx)), false, "Member must have length less than or equal to 50")
		return nil
	}
	out := map[string]string{}
	for i, n := range idx {
		p := fmt.Sprintf("Tags.member.%d.", n)
		m := fmt.Sprintf("tags.%d.member.", i+1)
		k, _ := v.str(form, p+"Key", m+"key", true, 1, 128, tagRe, false)
		val, _ := v.str(form, p+"Value", m+"value", true, 0, 256, tagRe, false)
		out[k] = val
	}
	return out
}

// sessionPolicies reads Policy and PolicyArns: the session policies whose
// intersection with the role's policies is the session's permissions.
func (s *Service) sessionPolicies(form url.Values, v *validation, max int) ([]*iampolicy.Document, *awsproto.Error) {
	doc, hasDoc := v.str(form, "Policy", "policy", false, 1, max, nil, false)
	arns := members(form, "PolicyArns")
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(arns) > 10 {
		return nil, awsproto.Validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	var out []*iampolicy.Document
	if hasDoc {
		d, err := iampolicy.Parse([]byte(doc))
		if err != nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "The session policy is malformed: %v", err)
		}
		out = append(out, d)
	}
	for _, n := range arns {
		arn := form.Get(fmt.Sprintf("PolicyArns.member.%d.arn", n))
		m := s.env.IAM.Managed[arn]
		if m == nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "Policy %s does not exist or is not attachable.", awsproto.Truncate(arn, 256))
		}
		d, err := iampolicy.Parse(m.Document.JSON)
		if err != nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "Policy %s: %v", arn, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// role resolves RoleArn. A malformed ARN is a ValidationError; a role
// that does not exist is reported by the caller as AccessDenied, as AWS does.
func (s *Service) role(arn string) (*iam.Role, *awsproto.Error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "iam" ||
		!strings.HasPrefix(parts[5], "role/") || len(parts[5]) <= len("role/") {
		return nil, awsproto.Validation("Request ARN is invalid")
	}
	r, ok := s.env.IAM.RoleByArn(arn)
	if !ok || r.Arn != arn {
		return nil, nil
	}
	return r, nil
}

func trustAllows(role *iam.Role, action string, caller *iampolicy.Caller, ctx map[string][]string) bool {
	return role.Trust.Evaluate(iampolicy.Request{Action: action, Resource: role.Arn, Caller: caller, Context: ctx}) == iampolicy.Allow
}

func identityAllows(p *auth.Principal, action, resource string, ctx map[string][]string) bool {
	return p.Admin || p.Allowed(action, resource, ctx)
}

func (s *Service) maxDuration(role *iam.Role, d time.Duration, chained bool) *awsproto.Error {
	if chained && d > ChainedMax {
		return awsproto.Validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if d > time.Duration(role.MaxSessionDuration)*time.Second {
		return awsproto.Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return nil
}

func (s *Service) assumeRoleWithWebIdentity(ctx context.Context, form url.Values, now time.Time) (any, *awsproto.Error) {
	var v validation
	roleArn, _ := v.str(form, "RoleArn", "roleArn", true, 20, 2048, arnChars, false)
	session, _ := v.str(form, "RoleSessionName", "roleSessionName", true, 2, 64, sessionNameRe, false)
	token, _ := v.str(form, "WebIdentityToken", "webIdentityToken", true, 4, 20000, nil, true)
	v.str(form, "ProviderId", "providerId", false, 4, 2048, nil, false)
	dur, hasDur := v.duration(form)
	if e := v.err(); e != nil {
		return nil, e
	}
	sessionDocs, e := s.sessionPolicies(form, &v, 2048)
	if e != nil {
		return nil, e
	}

	var iss string
	trusted := func(i string) bool {
		iss = i
		_, ok := s.env.IAM.ProviderForIssuer(i)
		return ok
	}
	claims, err := s.env.JWT.Verify(ctx, token, now, trusted)
	if err != nil {
		return nil, webIdentityError(err, iss, now)
	}
	provider, _ := s.env.IAM.ProviderForIssuer(claims.Issuer)
	if claims.Subject == "" {
		return nil, invalidIdentityToken("The web identity token has no sub claim.")
	}
	var matched []string
	for _, a := range claims.Audience {
		for _, c := range provider.ClientIDs {
			if a == c {
				matched = append(matched, a)
			}
		}
	}
	if len(matched) == 0 {
		return nil, invalidIdentityToken("Incorrect token audience: none of the token's audiences %q is a client id of the OpenID Connect provider %s",
			claims.Audience, provider.Arn)
	}

	role, e := s.role(roleArn)
	if e != nil {
		return nil, e
	}
	denied := accessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if role == nil {
		return nil, denied
	}
	cond := baseContext(now)
	hp := provider.HostPath
	cond[hp+":aud"] = matched
	cond[hp+":oaud"] = claims.Audience
	cond[hp+":sub"] = []string{claims.Subject}
	if azp := claims.String("azp"); azp != "" {
		cond[hp+":azp"] = []string{azp}
	}
	if amr := stringList(claims.Raw["amr"]); len(amr) > 0 {
		cond[hp+":amr"] = amr
	}
	cond["aws:FederatedProvider"] = []string{provider.Arn}
	cond["sts:RoleSessionName"] = []string{session}
	caller := &iampolicy.Caller{Federated: provider.Arn}
	if !trustAllows(role, "sts:AssumeRoleWithWebIdentity", caller, cond) {
		explainTrust(ctx, role, "sts:AssumeRoleWithWebIdentity", caller, cond)
		return nil, denied
	}
	var sourceIdentity string
	if raw, ok := claims.Raw[SourceIdentityClaim]; ok {
		si, _ := raw.(string)
		if n := utf8.RuneCountInString(si); n < 2 || n > 64 || !sessionNameRe.MatchString(si) || strings.HasPrefix(strings.ToLower(si), "aws:") {
			return nil, invalidIdentityToken("The token's %s claim must be 2-64 characters of [\\w+=,.@-] not starting with aws:", SourceIdentityClaim)
		}
		cond["sts:SourceIdentity"] = []string{si}
		if !trustAllows(role, "sts:SetSourceIdentity", caller, cond) {
			return nil, accessDenied("Not authorized to perform sts:SetSourceIdentity")
		}
		sourceIdentity = si
	}
	d := DefaultDuration
	if hasDur {
		d = dur
	}
	if e := s.maxDuration(role, d, false); e != nil {
		return nil, e
	}
	p := SessionSpec{Account: s.env.World.AccountID, Role: role, SessionName: session, Federated: provider.Arn, SessionPolicies: sessionDocs,
		SourceIdentity: sourceIdentity, IssuedAt: now, Expires: now.Add(d)}.Issue(s.env.Registry)
	return webIdentityResult{
		Credentials:                 credentialsOf(p),
		SubjectFromWebIdentityToken: claims.Subject,
		AssumedRoleUser:             assumedRoleUserXML{AssumedRoleId: p.UserID, Arn: p.Arn},
		Provider:                    provider.Arn,
		Audience:                    matched[0],
		SourceIdentity:              sourceIdentity,
	}, nil
}

// webIdentityError maps a token verification failure to STS's modeled errors.
func webIdentityError(err error, iss string, now time.Time) *awsproto.Error {
	var je *jwtverify.Error
	if !errors.As(err, &je) {
		return invalidIdentityToken("The web identity token could not be verified.")
	}
	switch je.Kind {
	case jwtverify.Untrusted:
		return invalidIdentityToken("No OpenIDConnect provider found in your account for %s", awsproto.Truncate(iss, 256))
	case jwtverify.Expired:
		return expiredToken("Token expired: current date/time %d must be before the expiration date/time (%s)", now.Unix(), je.Msg)
	case jwtverify.KeysUnavailable:
		return awsproto.Errorf(http.StatusBadRequest, "IDPCommunicationError",
			"Couldn't retrieve verification key from your identity provider: %s", je.Msg)
	case jwtverify.Algorithm:
		return invalidIdentityToken("The web identity token is signed with an algorithm STS does not accept (RS256/384/512, ES256/384/512, PS256 only).")
	case jwtverify.BadSignature:
		return invalidIdentityToken("The web identity token's signature could not be verified with the keys of its issuer.")
	case jwtverify.NotYetValid:
		return invalidIdentityToken("The web identity token is not valid yet: %s", je.Msg)
	}
	return invalidIdentityToken("The ID Token provided is not a valid JWT: %s", je.Msg)
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

var (
	externalIDRe = lazyre.New(`^[\w+=,.@:/-]*$`)
	tokenCodeRe  = lazyre.New(`^\d*$`)
)

func (s *Service) assumeRole(r *http.Request, body []byte, form url.Values, now time.Time) (any, *awsproto.Error) {
	caller, e := s.env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return nil, e
	}
	var v validation
	roleArn, _ := v.str(form, "RoleArn", "roleArn", true, 20, 2048, arnChars, false)
	session, _ := v.str(form, "RoleSessionName", "roleSessionName", true, 2, 64, sessionNameRe, false)
	dur, hasDur := v.duration(form)
	srcID, hasSrc := v.str(form, "SourceIdentity", "sourceIdentity", false, 2, 64, sessionNameRe, false)
	externalID, hasExt := v.str(form, "ExternalId", "externalId", false, 2, 1224, externalIDRe, false)
	v.str(form, "SerialNumber", "serialNumber", false, 9, 256, nil, false)
	v.str(form, "TokenCode", "tokenCode", false, 6, 6, tokenCodeRe, false)
	contexts := v.providedContexts(form)
	tags := v.tags(form)
	if e := v.err(); e != nil {
		return nil, e
	}
	sessionDocs, e := s.sessionPolicies(form, &v, 0)
	if e != nil {
		return nil, e
	}
	if hasSrc && strings.HasPrefix(strings.ToLower(srcID), "aws:") {
		return nil, awsproto.Validation("SourceIdentity cannot begin with the reserved prefix aws:")
	}
	if len(contexts) > 1 {
		return nil, invalidParameter("the sandbox accepts one provided context per session; %d were sent", len(contexts))
	}
	if _, ok := form["SerialNumber"]; ok {
		return nil, accessDenied("MultiFactorAuthentication failed: the sandbox has no MFA devices")
	}

	role, e := s.role(roleArn)
	if e != nil {
		return nil, e
	}
	var cond map[string][]string
	deny := func(action string) *awsproto.Error {
		explainDenial(r.Context(), caller, role, roleArn, action, cond)
		return accessDenied("User: %s is not authorized to perform: %s on resource: %s", caller.Arn, action, roleArn)
	}
	cond = caller.RequestContext(baseContext(now))
	cond["sts:RoleSessionName"] = []string{session}
	if hasExt {
		cond["sts:ExternalId"] = []string{externalID}
	}
	sourceIdentity := caller.SourceIdentity
	if hasSrc {
		if sourceIdentity != "" && sourceIdentity != srcID {
			return nil, awsproto.Validation("the calling session already has source identity %q, which cannot be changed", sourceIdentity)
		}
		sourceIdentity = srcID
	}
	if sourceIdentity != "" {
		cond["sts:SourceIdentity"] = []string{sourceIdentity}
	}
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k, val := range tags {
			cond["aws:RequestTag/"+k] = []string{val}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		cond["aws:TagKeys"] = keys
	}
	if role == nil || !identityAllows(caller, "sts:AssumeRole", roleArn, cond) {
		return nil, deny("sts:AssumeRole")
	}
	pc := caller.Caller()
	if !trustAllows(role, "sts:AssumeRole", pc, cond) {
		return nil, deny("sts:AssumeRole")
	}
	chained := caller.IsSession()
	d := DefaultDuration
	if hasDur {
		d = dur
	}
	if e := s.maxDuration(role, d, chained); e != nil {
		return nil, e
	}
	if sourceIdentity != "" {
		// The trust policy must allow setting it, also when it is inherited
		// from the calling session; the caller must be allowed to set a new one.
		if (hasSrc && caller.SourceIdentity == "" && !identityAllows(caller, "sts:SetSourceIdentity", roleArn, cond)) ||
			!trustAllows(role, "sts:SetSourceIdentity", pc, cond) {
			return nil, deny("sts:SetSourceIdentity")
		}
	}
	if len(tags) > 0 && (!identityAllows(caller, "sts:TagSession", roleArn, cond) || !trustAllows(role, "sts:TagSession", pc, cond)) {
		return nil, deny("sts:TagSession")
	}
	var ictx *auth.IdentityContext
	if len(contexts) == 1 {
		c := contexts[0]
		if c.ProviderArn == "" || c.Assertion == "" {
			return nil, awsproto.Validation("each ProvidedContexts member needs both ProviderArn and ContextAssertion")
		}
		if c.ProviderArn != auth.IdentityCenterProvider && c.ProviderArn != auth.QuickSightProvider {
			return nil, invalidParameter("%s is not a context provider; use %s or %s",
				awsproto.Truncate(c.ProviderArn, 128), auth.IdentityCenterProvider, auth.QuickSightProvider)
		}
		opened, err := s.env.Sealer.OpenContext(c.Assertion, c.ProviderArn, now)
		switch {
		case errors.Is(err, auth.ErrContextExpired):
			return nil, expiredToken("The provided context assertion has expired; get a new one from %s", c.ProviderArn)
		case errors.Is(err, auth.ErrContextProvider):
			return nil, invalidParameter("The provided context assertion was not issued by %s", c.ProviderArn)
		case err != nil:
			return nil, invalidParameter("The provided context assertion is invalid: it was not issued by %s or it was altered", c.ProviderArn)
		}
		// sts:SetContext is evaluated with the keys of the request that
		// sets the context: sts:RequestContextProviders and
		// sts:RequestContext/<key> (a key of SetContext only).
		setCond := make(map[string][]string, len(cond)+8)
		for k, v := range cond {
			setCond[k] = v
		}
		auth.SetContextKeys(setCond, caller.AccountID, opened)
		if !identityAllows(caller, "sts:SetContext", roleArn, setCond) || !trustAllows(role, "sts:SetContext", pc, setCond) {
			return nil, deny("sts:SetContext")
		}
		ictx = opened
	}
	p := SessionSpec{Account: s.env.World.AccountID, Role: role, SessionName: session, Chained: chained, SessionPolicies: sessionDocs,
		SourceIdentity: sourceIdentity, Context: ictx, IssuedAt: now, Expires: now.Add(d)}.Issue(s.env.Registry)
	res := assumeRoleResult{
		Credentials:     credentialsOf(p),
		AssumedRoleUser: assumedRoleUserXML{AssumedRoleId: p.UserID, Arn: p.Arn},
		SourceIdentity:  sourceIdentity,
	}
	if len(tags) > 0 {
		size := packedSize(tags)
		res.PackedPolicySize = &size
	}
	return res, nil
}

// packedSize approximates AWS's packed size percentage of session tags.
func packedSize(tags map[string]string) int {
	n := 0
	for k, v := range tags {
		n += len(k) + len(v) + 2
	}
	pct := (n*100 + 2047) / 2048
	if pct < 1 {
		pct = 1
	}
	return pct
}

func (s *Service) getCallerIdentity(r *http.Request, body []byte) (any, *awsproto.Error) {
	p, e := s.env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return nil, e
	}
	return callerIdentityResult{UserId: p.UserID, Account: p.AccountID, Arn: p.Arn}, nil
}

// knownAction reports an action name safe to record as is (the recorder
// names any other from the request, cleaned).
func knownAction(a string) bool {
	if len(a) == 0 || len(a) > 64 {
		return false
	}
	for _, c := range a {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
