package setup

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// CustomApplicationProvider is the application provider of customer
// managed OAuth 2.0 applications in IAM Identity Center.
const CustomApplicationProvider = "arn:aws:sso::aws:applicationProvider/custom"

// NotInCloudFormation are the parts of a setup that have no CloudFormation
// resource type; ExportTemplate leaves them to `tipctl setup apply`.
var NotInCloudFormation = []string{
	"the trusted token issuer (no resource type)",
	"the application's jwt-bearer grant (no resource type; terraform-provider-aws #34764)",
	"the application's authentication method, i.e. its actor policy (no resource type; terraform-provider-aws #34763; the template's IdentityCenterActorPolicy output has the document)",
	"the application's access scopes (no resource type)",
	"the application's assignment configuration, assignment_required (no resource type)",
}

// ExportTemplate is the CloudFormation template of a setup file: the OIDC
// provider and the two roles of Template, and every other part that has a
// resource type: the Identity Center application and its group
// assignments, the QuickSight snapshot role, and S3 Access Grants (the
// location role, the instance, its locations and grants). The bridge role
// may exchange tokens with that application only. Identity Store group ids
// are parameters: CloudFormation cannot look a group up by name.
//
// The resources carry no tipctl:setup tag: the stack owns them, so
// `tipctl setup destroy` leaves them to a stack deletion (and `setup apply`
// adopts them by name without recording them as its own).
func ExportTemplate(s *Spec) (M, error) {
	app := s.IdentityCenter.Application
	o := TemplateOptions{Issuer: s.IdP.Issuer, Thumbprint: s.IdP.Thumbprint, Services: s.Roles.Enhanced.Services,
		BridgeRoleName: s.Roles.Bridge.Name, EnhancedRoleName: s.Roles.Enhanced.Name,
		applicationArn: getAtt("Application", "ApplicationArn")}
	if len(s.IdP.Audiences) > 0 {
		o.Audience = s.IdP.Audiences[0]
	}
	t, err := Template(o)
	if err != nil {
		return nil, err
	}
	var params, resources, outputs M

	instance := M{{"Type", "String"}, {"AllowedPattern", `arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}`},
		{"Description", "ARN of the IAM Identity Center instance (aws sso-admin list-instances)."}}
	if s.IdentityCenter.InstanceArn != "" {
		instance = append(instance, KV{"Default", s.IdentityCenter.InstanceArn})
	}
	params = append(params, KV{"IdentityCenterInstanceArn", instance})

	// One parameter per group the file names, in a stable order.
	groupParam := map[string]string{}
	var groups []string
	addGroup := func(g string) {
		if _, ok := groupParam[g]; !ok {
			groupParam[g] = "GroupId" + logicalID(g)
			groups = append(groups, g)
		}
	}
	for _, g := range app.AssignedGroups {
		addGroup(g)
	}
	if ag := s.AccessGrants; ag != nil {
		for _, g := range ag.Grants {
			addGroup(g.Group)
		}
	}
	for _, g := range groups {
		params = append(params, KV{groupParam[g], M{{"Type", "String"},
			{"AllowedPattern", `([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}`},
			{"Description", truncate(fmt.Sprintf("Identity Store id of the group %q (aws identitystore get-group-id --identity-store-id ID --alternate-identifier '{\"UniqueAttribute\":{\"AttributePath\":\"displayName\",\"AttributeValue\":\"%s\"}}')", g, g), 4000)}}})
	}

	resources = append(resources, KV{"Application", M{{"Type", "AWS::SSO::Application"}, {"Properties", M{
		{"ApplicationProviderArn", CustomApplicationProvider},
		{"InstanceArn", ref("IdentityCenterInstanceArn")},
		{"Name", app.Name},
		{"Description", "tipctl trusted identity propagation: exchanges tokens of " + truncate(s.IdP.Issuer, 80)},
		{"Status", "ENABLED"},
	}}}})
	for _, g := range app.AssignedGroups {
		resources = append(resources, KV{"Assignment" + logicalID(g), M{{"Type", "AWS::SSO::ApplicationAssignment"}, {"Properties", M{
			{"ApplicationArn", getAtt("Application", "ApplicationArn")},
			{"PrincipalType", "GROUP"},
			{"PrincipalId", ref(groupParam[g])},
		}}}})
	}
	outputs = append(outputs, KV{"ApplicationArn", M{{"Description", "The Identity Center application: tipctl's application_arn"},
		{"Value", getAtt("Application", "ApplicationArn")}}})

	account := ref("AWS::AccountId")
	if q := s.Roles.Snapshot; q != nil {
		resources = append(resources, KV{"QuickSightSnapshotRole", M{{"Type", "AWS::IAM::Role"}, {"Properties", M{
			{"RoleName", q.Name},
			{"Description", "tipctl QuickSight snapshot role: assumed with a QuickSight identity context"},
			{"MaxSessionDuration", q.MaxSessionSeconds}, // ParseSpec defaults it
			{"AssumeRolePolicyDocument", SnapshotTrust(sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))},
			{"Policies", []M{{{"PolicyName", "tipctl-quicksight-snapshots"}, {"PolicyDocument", SnapshotPermissions(templateArns)}}}},
		}}}})
	}

	if ag := s.AccessGrants; ag != nil {
		instanceArn := sub("arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:access-grants/default")
		resources = append(resources,
			KV{"AccessGrantsLocationRole", M{{"Type", "AWS::IAM::Role"}, {"Properties", M{
				{"RoleName", ag.LocationRole},
				{"Description", "tipctl S3 Access Grants location role: Access Grants assumes it to vend credentials scoped to a grant"},
				{"MaxSessionDuration", 43200},
				{"AssumeRolePolicyDocument", LocationTrust(account, instanceArn)},
				{"Policies", []M{{{"PolicyName", "tipctl-access-grants-location"}, {"PolicyDocument", LocationPermissions(ag.Locations)}}}},
			}}}},
			KV{"AccessGrantsInstance", M{{"Type", "AWS::S3::AccessGrantsInstance"}, {"Properties", M{
				{"IdentityCenterArn", ref("IdentityCenterInstanceArn")},
			}}}})
		locID := map[string]string{}
		for _, l := range ag.Locations {
			locID[l] = "AccessGrantsLocation" + logicalID(strings.TrimPrefix(l, "s3://"))
			resources = append(resources, KV{locID[l], M{{"Type", "AWS::S3::AccessGrantsLocation"},
				{"DependsOn", "AccessGrantsInstance"}, {"Properties", M{
					{"IamRoleArn", getAtt("AccessGrantsLocationRole", "Arn")},
					{"LocationScope", l},
				}}}})
		}
		for _, g := range ag.Grants {
			loc := locationOf(ag.Locations, g.Target)
			props := M{{"AccessGrantsLocationId", getAtt(locID[loc], "AccessGrantsLocationId")}}
			if sp := strings.TrimPrefix(g.Target, strings.TrimSuffix(loc, "*")); sp != "" {
				props = append(props, KV{"AccessGrantsLocationConfiguration", M{{"S3SubPrefix", sp}}})
			}
			props = append(props,
				KV{"Grantee", M{{"GranteeType", "DIRECTORY_GROUP"}, {"GranteeIdentifier", ref(groupParam[g.Group])}}},
				KV{"Permission", g.Permission})
			resources = append(resources, KV{"AccessGrant" + logicalID(g.Group+" "+g.Permission+" "+g.Target),
				M{{"Type", "AWS::S3::AccessGrant"}, {"Properties", props}}})
		}
	}
	desc := "tipctl trusted identity propagation for " + s.IdP.Issuer +
		": IAM OIDC provider, bridge and identity-enhanced roles, the Identity Center application and its assignments"
	if s.AccessGrants != nil {
		desc += ", S3 Access Grants"
	}
	desc += ". Deploy with --capabilities CAPABILITY_NAMED_IAM, then run tipctl setup apply for the parts CloudFormation cannot express."
	set(t, "Description", truncate(desc, 1024))
	for _, sec := range []struct {
		key string
		add M
	}{{"Parameters", params}, {"Resources", resources}, {"Outputs", outputs}} {
		v, _ := t.Get(sec.key)
		all := append(v.(M), sec.add...)
		seen := map[string]bool{}
		for _, kv := range all {
			if seen[kv.K] {
				return nil, fmt.Errorf("two names in the file map to the CloudFormation logical id %s; rename one", kv.K)
			}
			seen[kv.K] = true
		}
		set(t, sec.key, all)
	}
	return t, nil
}

func set(t M, k string, v any) {
	for i := range t {
		if t[i].K == k {
			t[i].V = v
		}
	}
}

var notAlnum = lazyre.New(`[^A-Za-z0-9]+`)

// logicalID turns a name into the alphanumeric tail of a logical id.
func logicalID(name string) string {
	var b strings.Builder
	for _, w := range notAlnum.Re().Split(name, -1) {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
