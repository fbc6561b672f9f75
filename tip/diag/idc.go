package diag

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/tip/setup"
)

// CustomApplicationProvider is the provider of customer managed (OAuth) applications.
const CustomApplicationProvider = "arn:aws:sso::aws:applicationProvider/custom"

// GrantJWTBearer is the OAuth grant type of the token exchange.
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// ttiInfo is the trusted token issuer the application's grant trusts for the token's issuer.
type ttiInfo struct {
	arn, name, issuerURL, claimPath, storePath string
	audiences                                  []string
	// grant is every authorized issuer of the jwt-bearer grant, for fixes.
	grant []authorizedIssuer
}

type authorizedIssuer struct {
	TrustedTokenIssuerArn string
	AuthorizedAudiences   []string
}

// userInfo is the Identity Center user the token maps to.
type userInfo struct {
	id, name    string
	described   *identitystore.DescribeUserOutput
	describeErr error
}

func (u *userInfo) label() string {
	if u.name != "" {
		return fmt.Sprintf("%s (%s)", u.name, u.id)
	}
	return u.id
}

func (r *runner) appArn() string { return r.in.ApplicationArn }

func (r *runner) idcApplication(ctx context.Context) Result {
	arn := r.appArn()
	if arn == "" {
		return skip("pass --application-arn or set application_arn in the profile", "no Identity Center application ARN to check")
	}
	inst, err := InstanceArnOf(arn)
	if err != nil {
		r.appMissing = true
		return fail("use the ARN from `aws sso-admin list-applications --instance-arn INSTANCE_ARN`", "%v", err)
	}
	r.instanceArn = inst
	out, err := r.sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(arn)})
	if err != nil {
		e := classify(err)
		if e.code == "ResourceNotFoundException" {
			r.appMissing = true
			return fail(fmt.Sprintf("check the ARN and the region (%s): aws sso-admin list-applications --instance-arn %s --region %s", r.cfg.Region, inst, r.cfg.Region),
				"no application %s in IAM Identity Center (%s)", arn, truncate(e.message, 200))
		}
		return r.readFailure("sso:DescribeApplication", err, "the application")
	}
	r.appName = aws.ToString(out.Name)
	if id, err := StoreIDOf(aws.ToString(out.IdentityStoreArn)); err == nil {
		r.storeID = id
	}
	if p := aws.ToString(out.ApplicationProviderArn); p != CustomApplicationProvider {
		return fail("create a customer managed OAuth 2.0 application for tipctl: aws sso-admin create-application --instance-arn "+inst+
			" --application-provider-arn "+CustomApplicationProvider+" --name tipctl",
			"application %s is not a customer managed OAuth application (its provider is %s); only those accept CreateTokenWithIAM", r.appName, p)
	}
	if out.Status != types.ApplicationStatusEnabled {
		return fail("aws sso-admin update-application --application-arn "+arn+" --status ENABLED",
			"application %s is %s: Identity Center refuses to issue tokens for it", r.appName, out.Status)
	}
	return pass("application %s exists, is ENABLED and is a customer managed OAuth application", r.appName)
}

func (r *runner) idcInstance(ctx context.Context) Result {
	if r.instanceArn == "" {
		return after("idc.application", "the instance check")
	}
	out, err := r.sso.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String(r.instanceArn)})
	if err != nil {
		return r.readFailure("sso:DescribeInstance", err, "the Identity Center instance")
	}
	if r.storeID == "" {
		r.storeID = aws.ToString(out.IdentityStoreId)
	}
	if out.Status != types.InstanceStatusActive {
		return fail("wait until the instance is ACTIVE, or check it in the IAM Identity Center console",
			"Identity Center instance %s is %s (%s)", r.instanceArn, out.Status, aws.ToString(out.StatusReason))
	}
	return pass("instance %s is ACTIVE with identity store %s", r.instanceArn, aws.ToString(out.IdentityStoreId))
}

// grantJSON is the jwt-bearer grant document of put-application-grant.
func grantJSON(issuers []authorizedIssuer) string {
	b, _ := json.Marshal(map[string]any{"JwtBearer": map[string]any{"AuthorizedTokenIssuers": issuers}})
	return string(b)
}

func (r *runner) putGrantFix(issuers []authorizedIssuer) string {
	return fmt.Sprintf("aws sso-admin put-application-grant --application-arn %s --grant-type %s --grant %s",
		r.appArn(), GrantJWTBearer, shellQuote(grantJSON(issuers)))
}

// ttiForIssuer finds a trusted token issuer of the instance whose URL is iss, for fixes.
func (r *runner) ttiForIssuer(ctx context.Context, iss string) string {
	if r.instanceArn == "" {
		return ""
	}
	p := ssoadmin.NewListTrustedTokenIssuersPaginator(r.sso, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(r.instanceArn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ""
		}
		for _, t := range page.TrustedTokenIssuers {
			d, err := r.describeTTI(ctx, aws.ToString(t.TrustedTokenIssuerArn))
			if err == nil && d.issuerURL == iss {
				return d.arn
			}
		}
	}
	return ""
}

func (r *runner) describeTTI(ctx context.Context, arn string) (*ttiInfo, error) {
	out, err := r.sso.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	t := &ttiInfo{arn: arn, name: aws.ToString(out.Name)}
	if c, ok := out.TrustedTokenIssuerConfiguration.(*types.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration); ok {
		t.issuerURL = aws.ToString(c.Value.IssuerUrl)
		t.claimPath = aws.ToString(c.Value.ClaimAttributePath)
		t.storePath = aws.ToString(c.Value.IdentityStoreAttributePath)
	}
	return t, nil
}

func (r *runner) idcGrantIssuer(ctx context.Context) Result {
	switch {
	case r.appArn() == "":
		return skip("pass --application-arn", "no application to check")
	case r.appMissing:
		return after("idc.application", "the grant check")
	case r.tok == nil:
		return after("token.structure", "the grant check")
	}
	iss := r.tok.iss
	var grant []authorizedIssuer
	found := false
	p := ssoadmin.NewListApplicationGrantsPaginator(r.sso, &ssoadmin.ListApplicationGrantsInput{ApplicationArn: aws.String(r.appArn())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return r.readFailure("sso:ListApplicationGrants", err, "the application's grants")
		}
		for _, g := range page.Grants {
			if jb, ok := g.Grant.(*types.GrantMemberJwtBearer); ok {
				found = true
				for _, ai := range jb.Value.AuthorizedTokenIssuers {
					grant = append(grant, authorizedIssuer{aws.ToString(ai.TrustedTokenIssuerArn), ai.AuthorizedAudiences})
				}
			}
		}
	}
	newIssuer := func() string {
		aud := "AUDIENCE"
		if len(r.tok.aud) > 0 {
			aud = r.tok.aud[0]
		}
		if tti := r.ttiForIssuer(ctx, iss); tti != "" {
			return r.putGrantFix(append(append([]authorizedIssuer{}, grant...), authorizedIssuer{tti, []string{aud}}))
		}
		cfg := fmt.Sprintf(`{"OidcJwtConfiguration":{"IssuerUrl":%q,"ClaimAttributePath":"email","IdentityStoreAttributePath":"emails.value","JwksRetrievalOption":"OPEN_ID_DISCOVERY"}}`, iss)
		return fmt.Sprintf("create a trusted token issuer for %s: aws sso-admin create-trusted-token-issuer --instance-arn %s --name tipctl-idp --trusted-token-issuer-type OIDC_JWT --trusted-token-issuer-configuration %s; then authorize it: %s",
			iss, r.instanceArn, shellQuote(cfg), r.putGrantFix(append(append([]authorizedIssuer{}, grant...), authorizedIssuer{"TTI_ARN", []string{aud}})))
	}
	if !found || len(grant) == 0 {
		return fail(newIssuer(), "application %s has no jwt-bearer grant: it accepts no IdP tokens (urn:ietf:params:oauth:grant-type:jwt-bearer)", r.label())
	}
	var urls []string
	var near *ttiInfo
	for _, ai := range grant {
		t, err := r.describeTTI(ctx, ai.TrustedTokenIssuerArn)
		if err != nil {
			return r.readFailure("sso:DescribeTrustedTokenIssuer", err, "the trusted token issuers of the grant")
		}
		t.audiences, t.grant = ai.AuthorizedAudiences, grant
		if t.issuerURL == iss {
			r.tti = t
			return pass("the jwt-bearer grant of application %s trusts issuer %s through trusted token issuer %s", r.label(), iss, t.name)
		}
		if strings.TrimSuffix(t.issuerURL, "/") == strings.TrimSuffix(iss, "/") {
			near = t
		}
		urls = append(urls, t.issuerURL)
	}
	if near != nil {
		r.tti = near
		return warn(fmt.Sprintf("make the trusted token issuer's URL exactly %q: aws sso-admin update-trusted-token-issuer --trusted-token-issuer-arn %s --trusted-token-issuer-configuration %s",
			iss, near.arn, shellQuote(fmt.Sprintf(`{"OidcJwtConfiguration":{"IssuerUrl":%q}}`, iss))),
			"trusted token issuer %s has URL %q, which differs from the token's iss %q only by a trailing slash; AWS compares them exactly", near.name, near.issuerURL, iss)
	}
	return fail(newIssuer(), "the jwt-bearer grant of application %s trusts issuers %s, not the token's issuer %q", r.label(), quoteList(urls), iss)
}

func (r *runner) label() string {
	if r.appName != "" {
		return r.appName
	}
	return r.appArn()
}

func (r *runner) idcGrantAudience(ctx context.Context) Result {
	t := r.tti
	if t == nil {
		return after("idc.grant.issuer", "the audience check")
	}
	if m := intersect(r.tok.aud, t.audiences); len(m) > 0 {
		return pass("the token's aud %s is an authorized audience of trusted token issuer %s", quoteList(m), t.name)
	}
	grant := make([]authorizedIssuer, len(t.grant))
	for i, ai := range t.grant {
		grant[i] = ai
		if ai.TrustedTokenIssuerArn == t.arn {
			grant[i].AuthorizedAudiences = append(append([]string{}, ai.AuthorizedAudiences...), r.tok.aud[0])
		}
	}
	return fail("add the audience to the grant (it replaces the grant, so it lists every issuer): "+r.putGrantFix(grant),
		"the token's aud %s is not an authorized audience of trusted token issuer %s in the jwt-bearer grant of application %s (authorized: %s)",
		quoteList(r.tok.aud), t.name, r.label(), quoteList(t.audiences))
}

func (r *runner) idcUserMapping(ctx context.Context) Result {
	t := r.tti
	switch {
	case t == nil:
		return after("idc.grant.issuer", "the user mapping check")
	case r.storeID == "":
		return after("idc.application", "the user mapping check")
	}
	value, ok := r.tok.claim(t.claimPath)
	if !ok {
		return fail(fmt.Sprintf("make the IdP put the %q claim in the id_token, or map another claim: aws sso-admin update-trusted-token-issuer --trusted-token-issuer-arn %s --trusted-token-issuer-configuration %s",
			t.claimPath, t.arn, shellQuote(`{"OidcJwtConfiguration":{"ClaimAttributePath":"CLAIM"}}`)),
			"the token has no %q claim, which trusted token issuer %s maps to the identity-store attribute %s", t.claimPath, t.name, t.storePath)
	}
	what := fmt.Sprintf("%s = %q", t.storePath, value)
	var userID string
	switch t.storePath {
	case "id":
		userID = value
	default:
		in := &identitystore.GetUserIdInput{IdentityStoreId: aws.String(r.storeID)}
		if t.storePath == "externalIds.id" {
			in.AlternateIdentifier = &istypes.AlternateIdentifierMemberExternalId{Value: istypes.ExternalId{Issuer: aws.String(r.tok.iss), Id: aws.String(value)}}
		} else {
			in.AlternateIdentifier = &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
				AttributePath: aws.String(t.storePath), AttributeValue: document.NewLazyDocument(value)}}
		}
		out, err := r.ids.GetUserId(ctx, in)
		if err != nil {
			e := classify(err)
			switch {
			case e.code == "ResourceNotFoundException":
				return fail(r.createUserFix(t, value),
					"no Identity Center user has %s (trusted token issuer %s maps the token's %q claim to it), so Identity Center cannot tell whose token this is",
					what, t.name, t.claimPath)
			case e.code == "ValidationException" && strings.Contains(e.message, "users"):
				return fail("make the attribute unique: remove or change the duplicate users in identity store "+r.storeID,
					"the token's %q claim matches more than one Identity Center user (%s): %s", t.claimPath, what, truncate(e.message, 200))
			}
			return r.readFailure("identitystore:GetUserId", err, "the user the token maps to")
		}
		userID = aws.ToString(out.UserId)
	}
	u := &userInfo{id: userID}
	u.described, u.describeErr = r.ids.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(r.storeID), UserId: aws.String(userID)})
	if u.describeErr == nil {
		u.name = aws.ToString(u.described.UserName)
	} else if e := classify(u.describeErr); e.code == "ResourceNotFoundException" {
		return fail(r.createUserFix(t, value), "no Identity Center user has id %q (trusted token issuer %s maps the %q claim to the user id)", value, t.name, t.claimPath)
	}
	r.user = u
	return pass("the token's %q claim (%s) maps to exactly one Identity Center user: %s", t.claimPath, value, u.label())
}

func (r *runner) createUserFix(t *ttiInfo, value string) string {
	switch t.storePath {
	case "emails.value":
		return fmt.Sprintf("provision the person from the IdP with SCIM, or create the user: aws identitystore create-user --identity-store-id %s --user-name %s --display-name %s --name GivenName=GIVEN,FamilyName=FAMILY --emails %s",
			r.storeID, shellQuote(value), shellQuote(value), shellQuote("Value="+value+",Type=work,Primary=true"))
	case "userName":
		return fmt.Sprintf("provision the person from the IdP with SCIM, or create the user: aws identitystore create-user --identity-store-id %s --user-name %s --display-name %s --name GivenName=GIVEN,FamilyName=FAMILY",
			r.storeID, shellQuote(value), shellQuote(value))
	}
	return fmt.Sprintf("provision the person from the IdP with SCIM into identity store %s, so that a user has %s %q", r.storeID, t.storePath, value)
}

func (r *runner) idcUserExternalIDs(ctx context.Context) Result {
	u := r.user
	if u == nil {
		return after("idc.user.mapping", "the external id check")
	}
	if u.describeErr != nil {
		return r.readFailure("identitystore:DescribeUser", u.describeErr, "the user's external ids")
	}
	if len(u.described.ExternalIds) == 0 {
		return warn("provision users from the IdP with SCIM (automatic provisioning), which links each user to the IdP identity with an external id",
			"user %s has no external ids: it was not provisioned from an IdP; services that match users by external id will not find it", u.label())
	}
	var ids []string
	for _, x := range u.described.ExternalIds {
		ids = append(ids, aws.ToString(x.Issuer)+" → "+aws.ToString(x.Id))
	}
	return pass("user %s has external ids %s", u.label(), strings.Join(ids, ", "))
}

func (r *runner) idcAssignment(ctx context.Context) Result {
	switch {
	case r.appMissing || r.appArn() == "":
		return after("idc.application", "the assignment check")
	case r.user == nil:
		return after("idc.user.mapping", "the assignment check")
	}
	conf, err := r.sso.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(r.appArn())})
	if err != nil {
		return r.readFailure("sso:GetApplicationAssignmentConfiguration", err, "whether the application requires assignment")
	}
	if !aws.ToBool(conf.AssignmentRequired) {
		return pass("application %s does not require assignment: every Identity Center user may use it", r.label())
	}
	users, groups := map[string]bool{}, map[string]bool{}
	p := ssoadmin.NewListApplicationAssignmentsPaginator(r.sso, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(r.appArn())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return r.readFailure("sso:ListApplicationAssignments", err, "the application's assignments")
		}
		for _, a := range page.ApplicationAssignments {
			if a.PrincipalType == types.PrincipalTypeUser {
				users[aws.ToString(a.PrincipalId)] = true
			} else {
				groups[aws.ToString(a.PrincipalId)] = true
			}
		}
	}
	if users[r.user.id] {
		return pass("user %s is assigned to application %s directly", r.user.label(), r.label())
	}
	var member []string
	mp := identitystore.NewListGroupMembershipsForMemberPaginator(r.ids, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: aws.String(r.storeID), MemberId: &istypes.MemberIdMemberUserId{Value: r.user.id}})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			return r.readFailure("identitystore:ListGroupMembershipsForMember", err, "the user's groups")
		}
		for _, m := range page.GroupMemberships {
			member = append(member, aws.ToString(m.GroupId))
		}
	}
	for _, g := range member {
		if groups[g] {
			return pass("user %s is assigned to application %s through group %s", r.user.label(), r.label(), r.groupName(ctx, g))
		}
	}
	return fail(fmt.Sprintf("assign the user (or one of their groups) to the application: aws sso-admin create-application-assignment --application-arn %s --principal-type USER --principal-id %s",
		r.appArn(), r.user.id),
		"user %s is not assigned to application %s, directly or through any of their %d group(s), and the application requires assignment",
		r.user.label(), r.label(), len(member))
}

func (r *runner) groupName(ctx context.Context, id string) string {
	out, err := r.ids.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: aws.String(r.storeID), GroupId: aws.String(id)})
	if err != nil || aws.ToString(out.DisplayName) == "" {
		return id
	}
	return aws.ToString(out.DisplayName) + " (" + id + ")"
}

func (r *runner) idcScopes(ctx context.Context) Result {
	if r.appMissing || r.appArn() == "" {
		return after("idc.application", "the scope check")
	}
	var scopes []string
	p := ssoadmin.NewListApplicationAccessScopesPaginator(r.sso, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: aws.String(r.appArn())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return r.readFailure("sso:ListApplicationAccessScopes", err, "the application's access scopes")
		}
		for _, s := range page.Scopes {
			scopes = append(scopes, aws.ToString(s.Scope))
		}
	}
	if len(scopes) == 0 {
		return warn(fmt.Sprintf("add the scopes of the services you use, e.g.: aws sso-admin put-application-access-scope --application-arn %s --scope s3:access_grants:read_write", r.appArn()),
			"application %s has no access scopes: its tokens carry no permission for identity-aware services (S3 Access Grants, Redshift, QuickSight, Q Business)", r.label())
	}
	return pass("application %s has access scopes %s", r.label(), strings.Join(scopes, ", "))
}

// actorPolicyFix is the put-application-authentication-method command that lets bridge exchange tokens.
func (r *runner) actorPolicyFix(bridge string) string {
	doc := fmt.Sprintf(`{"Iam":{"ActorPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}}}`, bridge)
	return fmt.Sprintf("aws sso-admin put-application-authentication-method --application-arn %s --authentication-method-type IAM --authentication-method %s",
		r.appArn(), shellQuote(doc))
}

func (r *runner) idcActorPolicy(ctx context.Context) Result {
	switch {
	case r.appMissing || r.appArn() == "":
		return after("idc.application", "the actor policy check")
	case r.in.BridgeRoleArn == "":
		return skip("pass --bridge-role-arn or set bridge_role_arn in the profile", "no bridge role to check the actor policy against")
	}
	bridge := r.in.BridgeRoleArn
	ba, err := ParseARN(bridge)
	if err != nil {
		return fail("pass the bridge role's ARN (arn:aws:iam::ACCOUNT:role/NAME)", "%v", err)
	}
	out, err := r.sso.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{
		ApplicationArn: aws.String(r.appArn()), AuthenticationMethodType: types.AuthenticationMethodTypeIam})
	if err != nil {
		if classify(err).code == "ResourceNotFoundException" {
			return fail(r.actorPolicyFix(bridge), "application %s has no IAM authentication method: no IAM principal may call sso-oauth:CreateTokenWithIAM", r.label())
		}
		return r.readFailure("sso:GetApplicationAuthenticationMethod", err, "the application's actor policy")
	}
	iamMethod, ok := out.AuthenticationMethod.(*types.AuthenticationMethodMemberIam)
	if !ok || iamMethod.Value.ActorPolicy == nil {
		return fail(r.actorPolicyFix(bridge), "application %s has no IAM actor policy", r.label())
	}
	raw, err := iamMethod.Value.ActorPolicy.MarshalSmithyDocument()
	if err != nil {
		return fail(r.actorPolicyFix(bridge), "the actor policy of application %s cannot be read: %v", r.label(), err)
	}
	doc, err := iampolicy.Parse(raw)
	if err != nil {
		return fail(r.actorPolicyFix(bridge), "the actor policy of application %s is not a valid policy: %v", r.label(), err)
	}
	req := iampolicy.Request{Action: "sso-oauth:CreateTokenWithIAM", Resource: r.appArn(),
		Caller:  &iampolicy.Caller{Account: ba.Account, ARNs: []string{bridge}},
		Context: map[string][]string{"aws:PrincipalArn": {bridge}, "aws:PrincipalAccount": {ba.Account}}}
	if d := doc.Evaluate(req); d != iampolicy.Allow {
		return fail(r.actorPolicyFix(bridge), "the actor policy of application %s does not allow role %s to call sso-oauth:CreateTokenWithIAM (%s)", r.label(), bridge, d)
	}
	if fs := setup.Lint(raw, setup.KindResource); len(fs) > 0 {
		return warn(fs[0].Fix, "the actor policy allows role %s, but: %s", bridge, findingsText(fs))
	}
	return pass("the actor policy of application %s allows role %s to call sso-oauth:CreateTokenWithIAM", r.label(), bridge)
}

func findingsText(fs []setup.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return strings.Join(out, "; ")
}
