package diag

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"

	"github.com/tipctl/tipctl/tip/awsconf"
)

// Checks beyond the application (seed 003): what each access scope
// authorizes, whether the scopes cover the services the person will use
// (and, for Redshift and Q Business, their own Identity Center
// application), the jti claim Redshift's token exchange requires, and the
// S3 Access Grants instance's Identity Center.

// Service is an AWS service used with identity-enhanced sessions.
type Service struct {
	Name string
	// Scopes are the access scopes that let a token reach the service;
	// the application needs one of them.
	Scopes []string
	// Provider is the application provider of the service's own Identity
	// Center application ("" when the service has none the client
	// application must authorize).
	Provider string
	// NeedsJTI: the service's token exchange requires a jti claim.
	NeedsJTI bool
}

// Services are the services diag knows, by the names --services takes.
var Services = map[string]Service{
	"s3ag":       {Name: "S3 Access Grants", Scopes: []string{"s3:access_grants:read_write", "s3:access_grants:read_only"}},
	"quicksight": {Name: "QuickSight", Scopes: []string{"quicksight:read_write", "quicksight:read_only"}},
	"redshift": {Name: "Redshift", Scopes: []string{"redshift:connect"},
		Provider: "arn:aws:sso::aws:applicationProvider/redshift", NeedsJTI: true},
	"qbusiness": {Name: "Q Business", Scopes: []string{"qbusiness:conversations:access", "qbusiness:conversations:read_write",
		"qbusiness:messages:access", "qbusiness:messages:read_write"}, Provider: "arn:aws:sso::aws:applicationProvider/qbusiness"},
}

// ServiceNames lists the keys of Services, sorted.
func ServiceNames() []string {
	out := make([]string, 0, len(Services))
	for k := range Services {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const servicesFix = "pass --services with the services you use with this profile (s3ag, quicksight, redshift, qbusiness)"

// scopeTargets returns the application's access scopes and their
// authorized targets (read once).
func (r *runner) scopeTargets(ctx context.Context) (map[string][]string, *Result) {
	if r.scopes != nil {
		return r.scopes, nil
	}
	out := map[string][]string{}
	p := ssoadmin.NewListApplicationAccessScopesPaginator(r.sso, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: aws.String(r.appArn())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			res := r.readFailure("sso:ListApplicationAccessScopes", err, "the application's access scopes")
			return nil, &res
		}
		for _, s := range page.Scopes {
			out[aws.ToString(s.Scope)] = s.AuthorizedTargets
		}
	}
	r.scopes = out
	return out, nil
}

// tokenJTI: Redshift's token exchange needs the IdP token's jti (seed
// 003, "The JWT must contain ... a JWT ID (JTI) claim"); Entra ID, for
// one, puts uti in its tokens, not jti.
func (r *runner) tokenJTI(ctx context.Context) Result {
	if r.tok == nil {
		return after("token.structure", "the jti check")
	}
	jti, _ := r.tok.claims["jti"].(string)
	var needs []string
	for _, s := range r.in.Services {
		if Services[s].NeedsJTI {
			needs = append(needs, Services[s].Name)
		}
	}
	switch {
	case jti != "":
		return pass("the token has a jti claim")
	case len(needs) > 0:
		return fail("configure the IdP to put a unique jti claim in the token (an Okta custom authorization server does; for Entra ID, whose tokens carry uti instead, use an IdP or token service that adds jti)",
			"the token has no jti claim, which %s requires of the tokens it exchanges", strings.Join(needs, " and "))
	case len(r.in.Services) == 0:
		return skip(servicesFix, "the token has no jti claim; whether a service needs one depends on the services used")
	}
	return pass("the token has no jti claim; none of the services used (%s) requires one", strings.Join(r.in.Services, ", "))
}

// idcScopeTargets: every authorized target of every access scope must be
// an application of the same Identity Center instance.
func (r *runner) idcScopeTargets(ctx context.Context) Result {
	if r.appMissing || r.appArn() == "" || r.instanceArn == "" {
		return after("idc.application", "the authorized targets check")
	}
	scopes, res := r.scopeTargets(ctx)
	if res != nil {
		return *res
	}
	n := 0
	for _, sc := range slices.Sorted(maps.Keys(scopes)) {
		var good []string
		for _, target := range scopes[sc] {
			n++
			out, err := r.sso.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(target)})
			why := ""
			switch {
			case err != nil && classify(err).code == "ResourceNotFoundException":
				why = "does not exist"
			case err != nil:
				return r.readFailure("sso:DescribeApplication", err, "the authorized target "+target+" of scope "+sc)
			case aws.ToString(out.InstanceArn) != "" && aws.ToString(out.InstanceArn) != r.instanceArn:
				why = "belongs to another Identity Center instance (" + aws.ToString(out.InstanceArn) + ")"
			}
			if why != "" {
				fix := fmt.Sprintf("aws sso-admin put-application-access-scope --application-arn %s --scope %s", r.appArn(), sc)
				if len(good) > 0 || len(scopes[sc]) > 1 {
					var keep []string
					for _, t := range scopes[sc] {
						if t != target {
							keep = append(keep, t)
						}
					}
					if len(keep) > 0 {
						fix += " --authorized-targets " + strings.Join(keep, " ")
					}
				}
				return fail(fix+" (name only applications of instance "+r.instanceArn+")",
					"scope %s of application %s authorizes target %s, which %s", sc, r.label(), target, why)
			}
			good = append(good, target)
		}
	}
	if n == 0 {
		return pass("no access scope of application %s is limited to authorized targets", r.label())
	}
	return pass("the %d authorized targets of application %s's scopes are applications of instance %s", n, r.label(), r.instanceArn)
}

// idcScopeServices: the application has a scope for each service used;
// for a service with its own Identity Center application (Redshift, Q
// Business) that application exists, and a scope limited to authorized
// targets names it.
func (r *runner) idcScopeServices(ctx context.Context) Result {
	if r.appMissing || r.appArn() == "" || r.instanceArn == "" {
		return after("idc.application", "the scopes-for-services check")
	}
	if len(r.in.Services) == 0 {
		return skip(servicesFix, "no services named: the scopes cannot be checked against them")
	}
	scopes, res := r.scopeTargets(ctx)
	if res != nil {
		return *res
	}
	var apps []string // service applications found, for the message
	for _, name := range r.in.Services {
		svc, ok := Services[name]
		if !ok {
			return fail(servicesFix, "unknown service %q", name)
		}
		var have string
		for _, sc := range svc.Scopes {
			if _, ok := scopes[sc]; ok {
				have = sc
				break
			}
		}
		if have == "" {
			return fail(fmt.Sprintf("aws sso-admin put-application-access-scope --application-arn %s --scope %s", r.appArn(), svc.Scopes[0]),
				"application %s has no scope for %s (one of %s): its tokens cannot reach it", r.label(), svc.Name, strings.Join(svc.Scopes, ", "))
		}
		if svc.Provider == "" {
			continue
		}
		found, res := r.serviceApps(ctx, svc.Provider)
		if res != nil {
			return *res
		}
		if len(found) == 0 {
			create := "aws redshift create-redshift-idc-application --idc-instance-arn " + r.instanceArn + " ..."
			if name == "qbusiness" {
				create = "aws qbusiness create-application --identity-center-instance-arn " + r.instanceArn + " ..."
			}
			return fail(create, "instance %s has no %s application: %s cannot take identity-enhanced sessions of this instance", r.instanceArn, svc.Name, svc.Name)
		}
		if targets := scopes[have]; len(targets) > 0 && !slices.ContainsFunc(found, func(a string) bool { return slices.Contains(targets, a) }) {
			return fail(fmt.Sprintf("aws sso-admin put-application-access-scope --application-arn %s --scope %s --authorized-targets %s",
				r.appArn(), have, strings.Join(append(slices.Clone(targets), found[0]), " ")),
				"scope %s of application %s authorizes %s but not the %s application %s", have, r.label(), strings.Join(targets, ", "), svc.Name, found[0])
		}
		apps = append(apps, svc.Name+" "+found[0])
	}
	msg := fmt.Sprintf("application %s has a scope for each service used (%s)", r.label(), strings.Join(r.in.Services, ", "))
	if len(apps) > 0 {
		msg += "; it reaches " + strings.Join(apps, ", ")
	}
	return pass("%s", msg)
}

// serviceApps lists the instance's applications of provider.
func (r *runner) serviceApps(ctx context.Context, provider string) ([]string, *Result) {
	var out []string
	p := ssoadmin.NewListApplicationsPaginator(r.sso, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(r.instanceArn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			res := r.readFailure("sso:ListApplications", err, "the applications of instance "+r.instanceArn)
			return nil, &res
		}
		for _, a := range page.Applications {
			if aws.ToString(a.ApplicationProviderArn) == provider {
				out = append(out, aws.ToString(a.ApplicationArn))
			}
		}
	}
	return out, nil
}

// s3agInstance: S3 Access Grants resolves directory grantees through the
// Identity Center instance it is associated with, which must be the one
// that issues the person's identity context.
func (r *runner) s3agInstance(ctx context.Context) Result {
	switch {
	case len(r.in.Services) == 0:
		return skip(servicesFix, "no services named: S3 Access Grants may not be used")
	case !slices.Contains(r.in.Services, "s3ag"):
		return pass("S3 Access Grants is not among the services used (%s)", strings.Join(r.in.Services, ", "))
	case r.instanceArn == "":
		return after("idc.application", "the S3 Access Grants instance check")
	}
	account := ""
	if a, err := ParseARN(r.appArn()); err == nil {
		account = a.Account
	}
	endpoint := ""
	if r.cfg.BaseEndpoint != nil {
		endpoint = *r.cfg.BaseEndpoint
	}
	c := s3control.NewFromConfig(r.cfg, awsconf.S3ControlOptions(endpoint))
	out, err := c.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: aws.String(account)})
	associate := fmt.Sprintf("aws s3control associate-access-grants-identity-center --account-id %s --identity-center-arn %s --region %s", account, r.instanceArn, r.cfg.Region)
	if err != nil {
		if e := classify(err); e.code == "AccessGrantsInstanceNotExistsError" || e.code == "NoSuchAccessGrantsInstance" {
			return fail(fmt.Sprintf("aws s3control create-access-grants-instance --account-id %s --identity-center-arn %s --region %s", account, r.instanceArn, r.cfg.Region),
				"account %s has no S3 Access Grants instance in %s", account, r.cfg.Region)
		}
		return r.readFailure("s3:GetAccessGrantsInstance", err, "the S3 Access Grants instance")
	}
	got := aws.ToString(out.IdentityCenterInstanceArn)
	switch {
	case got == "":
		return fail(associate, "the S3 Access Grants instance of account %s is not associated with IAM Identity Center: its grants to users and groups never match", account)
	case got != r.instanceArn:
		return fail(fmt.Sprintf("aws s3control dissociate-access-grants-identity-center --account-id %s --region %s, then %s", account, r.cfg.Region, associate),
			"the S3 Access Grants instance of account %s is associated with Identity Center instance %s, not %s that issues the person's identity", account, got, r.instanceArn)
	}
	return pass("the S3 Access Grants instance of account %s is associated with Identity Center instance %s", account, got)
}
