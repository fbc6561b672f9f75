package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssodoc "github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
)

const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

func (e *engine) ssoTags() []ssotypes.Tag {
	return []ssotypes.Tag{{Key: aws.String(SetupTag), Value: aws.String(tagValue(e.s))}}
}

func (e *engine) planIssuer(ctx context.Context) error {
	idp, name := e.s.IdP, e.s.IdentityCenter.TrustedTokenIssuer
	list, err := e.c.SSO.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(e.instance)})
	if err != nil {
		return readErr("trusted token issuers", "sso:ListTrustedTokenIssuers", err)
	}
	for _, t := range list.TrustedTokenIssuers {
		if aws.ToString(t.Name) != name {
			continue
		}
		e.ttiArn = aws.ToString(t.TrustedTokenIssuerArn)
		d, err := e.c.SSO.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: t.TrustedTokenIssuerArn})
		if err != nil {
			return readErr("trusted token issuer "+name, "sso:DescribeTrustedTokenIssuer", err)
		}
		cfg, _ := d.TrustedTokenIssuerConfiguration.(*ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration)
		if cfg == nil || aws.ToString(cfg.Value.IssuerUrl) != idp.Issuer {
			return &ReadError{What: "trusted token issuer " + name, Err: fmt.Errorf("it exists for another issuer; rename identity_center.trusted_token_issuer in the file, or delete it")}
		}
		if aws.ToString(cfg.Value.ClaimAttributePath) != idp.ClaimMapping.Claim || aws.ToString(cfg.Value.IdentityStoreAttributePath) != idp.ClaimMapping.IdentityStorePath {
			arn := e.ttiArn
			e.add(Change{Action: Update, Resource: "trusted-token-issuer", Name: name, Permission: "sso:UpdateTrustedTokenIssuer",
				Reason: fmt.Sprintf("it maps %s to %s, the file %s to %s", aws.ToString(cfg.Value.ClaimAttributePath),
					aws.ToString(cfg.Value.IdentityStoreAttributePath), idp.ClaimMapping.Claim, idp.ClaimMapping.IdentityStorePath),
				run: func(ctx context.Context) (string, error) {
					_, err := e.c.SSO.UpdateTrustedTokenIssuer(ctx, &ssoadmin.UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(arn),
						TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerUpdateConfigurationMemberOidcJwtConfiguration{
							Value: ssotypes.OidcJwtUpdateConfiguration{ClaimAttributePath: aws.String(idp.ClaimMapping.Claim),
								IdentityStoreAttributePath: aws.String(idp.ClaimMapping.IdentityStorePath),
								JwksRetrievalOption:        ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
					return arn, err
				}})
		}
		return nil
	}
	e.add(Change{Action: Create, Resource: "trusted-token-issuer", Name: name, Reason: "Identity Center does not trust " + idp.Issuer + " yet",
		Permission: "sso:CreateTrustedTokenIssuer",
		run: func(ctx context.Context) (string, error) {
			o, err := e.c.SSO.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: aws.String(e.instance),
				Name: aws.String(name), TrustedTokenIssuerType: ssotypes.TrustedTokenIssuerTypeOidcJwt, Tags: e.ssoTags(),
				TrustedTokenIssuerConfiguration: &ssotypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{
					Value: ssotypes.OidcJwtConfiguration{IssuerUrl: aws.String(idp.Issuer), ClaimAttributePath: aws.String(idp.ClaimMapping.Claim),
						IdentityStoreAttributePath: aws.String(idp.ClaimMapping.IdentityStorePath),
						JwksRetrievalOption:        ssotypes.JwksRetrievalOptionOpenIdDiscovery}}})
			if err != nil {
				return "", err
			}
			e.ttiArn = aws.ToString(o.TrustedTokenIssuerArn)
			return e.ttiArn, nil
		},
		record: func(a string) *Resource { return &Resource{Type: "trusted-token-issuer", ID: a, Arn: a, Name: name} }})
	return nil
}

func (e *engine) planApplication(ctx context.Context) error {
	name := e.s.IdentityCenter.Application.Name
	p := ssoadmin.NewListApplicationsPaginator(e.c.SSO, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(e.instance)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return readErr("Identity Center applications", "sso:ListApplications", err)
		}
		for _, a := range page.Applications {
			if aws.ToString(a.Name) == name {
				e.appArn = aws.ToString(a.ApplicationArn)
				return nil
			}
		}
	}
	e.add(Change{Action: Create, Resource: "application", Name: name, Reason: "no customer managed application named " + name,
		Permission: "sso:CreateApplication",
		run: func(ctx context.Context) (string, error) {
			o, err := e.c.SSO.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(e.instance),
				ApplicationProviderArn: aws.String(CustomApplicationProvider), Name: aws.String(name), Tags: e.ssoTags(),
				Description: aws.String("tipctl trusted identity propagation")})
			if err != nil {
				return "", err
			}
			e.appArn = aws.ToString(o.ApplicationArn)
			return e.appArn, nil
		},
		record: func(a string) *Resource { return &Resource{Type: "application", ID: a, Arn: a, Name: name} }})
	return nil
}

func (e *engine) actorPolicy() M { return ActorPolicy(e.roleArn(e.s.Roles.Bridge.Name), e.appArn) }

func (e *engine) planAppConfig(ctx context.Context) error {
	app := e.s.IdentityCenter.Application
	name := app.Name
	exists := e.appArn != ""
	arn := func() *string { return aws.String(e.appArn) }
	appChange := func(action Action, res, what, reason, perm string, run func(ctx context.Context) error) {
		e.add(Change{Action: action, Resource: res, Name: what, Reason: reason, Permission: perm,
			run: func(ctx context.Context) (string, error) { return e.appArn, run(ctx) }})
	}
	putGrant := func(ctx context.Context) error {
		_, err := e.c.SSO.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn(), GrantType: jwtBearer,
			Grant: &ssotypes.GrantMemberJwtBearer{Value: ssotypes.JwtBearerGrant{AuthorizedTokenIssuers: []ssotypes.AuthorizedTokenIssuer{{
				TrustedTokenIssuerArn: aws.String(e.ttiArn), AuthorizedAudiences: e.s.IdP.Audiences}}}}})
		return err
	}
	putActor := func(ctx context.Context) error {
		var doc any
		_ = json.Unmarshal([]byte(docJSON(e.actorPolicy())), &doc)
		_, err := e.c.SSO.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: arn(),
			AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam,
			AuthenticationMethod:     &ssotypes.AuthenticationMethodMemberIam{Value: ssotypes.IamAuthenticationMethod{ActorPolicy: ssodoc.NewLazyDocument(doc)}}})
		return err
	}
	putConfig := func(ctx context.Context) error {
		_, err := e.c.SSO.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: arn(),
			AssignmentRequired: aws.Bool(app.AssignmentRequired)})
		return err
	}
	putScope := func(sc string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := e.c.SSO.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: arn(), Scope: aws.String(sc)})
			return err
		}
	}
	assign := func(g string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := e.c.SSO.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn(),
				PrincipalId: aws.String(e.groups[g]), PrincipalType: ssotypes.PrincipalTypeGroup})
			return err
		}
	}
	if !exists {
		appChange(Create, "application-grant", name+"/jwt-bearer", "the new application accepts the IdP's tokens", "sso:PutApplicationGrant", putGrant)
		appChange(Create, "application-auth", name+"/iam", "only the bridge role may exchange tokens", "sso:PutApplicationAuthenticationMethod", putActor)
		for _, sc := range app.Scopes {
			appChange(Create, "application-scope", name+"/"+sc, "scope in the file", "sso:PutApplicationAccessScope", putScope(sc))
		}
		appChange(Create, "application-assignments", name, fmt.Sprintf("assignment required: %v", app.AssignmentRequired),
			"sso:PutApplicationAssignmentConfiguration", putConfig)
		for _, g := range app.AssignedGroups {
			appChange(Create, "application-assignment", name+"/"+g, "group in the file", "sso:CreateApplicationAssignment", assign(g))
		}
		return nil
	}

	// jwt-bearer grant.
	g, err := e.c.SSO.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: arn(), GrantType: jwtBearer})
	if err != nil && !notFound(err) {
		return readErr("the application's jwt-bearer grant", "sso:GetApplicationGrant", err)
	}
	reason := "the application has no jwt-bearer grant"
	if err == nil {
		reason = ""
		jb, _ := g.Grant.(*ssotypes.GrantMemberJwtBearer)
		ok := false
		if jb != nil {
			for _, t := range jb.Value.AuthorizedTokenIssuers {
				if aws.ToString(t.TrustedTokenIssuerArn) == e.ttiArn && sameSet(t.AuthorizedAudiences, e.s.IdP.Audiences) {
					ok = true
				}
			}
		}
		if !ok {
			reason = "its jwt-bearer grant does not authorize the issuer with the file's audiences"
		}
	}
	if reason != "" {
		appChange(Update, "application-grant", name+"/jwt-bearer", reason, "sso:PutApplicationGrant", putGrant)
	}

	// Actor policy.
	am, err := e.c.SSO.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{ApplicationArn: arn(),
		AuthenticationMethodType: ssotypes.AuthenticationMethodTypeIam})
	if err != nil && !notFound(err) {
		return readErr("the application's authentication method", "sso:GetApplicationAuthenticationMethod", err)
	}
	reason = "the application has no IAM authentication method"
	if err == nil {
		reason = "its actor policy is not the least-privilege one (the bridge role only)"
		if iamM, ok := am.AuthenticationMethod.(*ssotypes.AuthenticationMethodMemberIam); ok && iamM.Value.ActorPolicy != nil {
			var live any
			if iamM.Value.ActorPolicy.UnmarshalSmithyDocument(&live) == nil {
				b, _ := json.Marshal(live)
				if sameDoc(string(b), docJSON(e.actorPolicy())) {
					reason = ""
				}
			}
		}
	}
	if reason != "" {
		appChange(Update, "application-auth", name+"/iam", reason, "sso:PutApplicationAuthenticationMethod", putActor)
	}

	// Scopes.
	sc, err := e.c.SSO.ListApplicationAccessScopes(ctx, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: arn()})
	if err != nil {
		return readErr("the application's scopes", "sso:ListApplicationAccessScopes", err)
	}
	var live []string
	for _, s := range sc.Scopes {
		live = append(live, aws.ToString(s.Scope))
	}
	for _, s := range app.Scopes {
		if !slices.Contains(live, s) {
			appChange(Create, "application-scope", name+"/"+s, "scope in the file", "sso:PutApplicationAccessScope", putScope(s))
		}
	}
	for _, s := range live {
		if !slices.Contains(app.Scopes, s) {
			appChange(Delete, "application-scope", name+"/"+s, "scope not in the file", "sso:DeleteApplicationAccessScope", func(ctx context.Context) error {
				_, err := e.c.SSO.DeleteApplicationAccessScope(ctx, &ssoadmin.DeleteApplicationAccessScopeInput{ApplicationArn: arn(), Scope: aws.String(s)})
				return err
			})
		}
	}

	// Assignment configuration and assignments.
	ac, err := e.c.SSO.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: arn()})
	if err != nil && !notFound(err) {
		return readErr("the application's assignment configuration", "sso:GetApplicationAssignmentConfiguration", err)
	}
	if err != nil || aws.ToBool(ac.AssignmentRequired) != app.AssignmentRequired {
		appChange(Update, "application-assignments", name, fmt.Sprintf("assignment required should be %v", app.AssignmentRequired),
			"sso:PutApplicationAssignmentConfiguration", putConfig)
	}
	as, err := e.c.SSO.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: arn()})
	if err != nil {
		return readErr("the application's assignments", "sso:ListApplicationAssignments", err)
	}
	assigned := map[string]ssotypes.PrincipalType{}
	for _, a := range as.ApplicationAssignments {
		assigned[aws.ToString(a.PrincipalId)] = a.PrincipalType
	}
	want := map[string]bool{}
	for _, g := range app.AssignedGroups {
		want[e.groups[g]] = true
		if _, ok := assigned[e.groups[g]]; !ok {
			appChange(Create, "application-assignment", name+"/"+g, "group in the file", "sso:CreateApplicationAssignment", assign(g))
		}
	}
	for id, typ := range assigned {
		if !want[id] {
			appChange(Delete, "application-assignment", name+"/"+id, fmt.Sprintf("%s %s is assigned but not in the file", typ, id),
				"sso:DeleteApplicationAssignment", func(ctx context.Context) error {
					_, err := e.c.SSO.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{ApplicationArn: arn(),
						PrincipalId: aws.String(id), PrincipalType: typ})
					return err
				})
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
