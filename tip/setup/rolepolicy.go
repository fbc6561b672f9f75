package setup

import "strings"

// The policies of the roles setup creates. Every value that names another
// resource is an `any`: a literal ARN for `tipctl setup apply`, or a
// CloudFormation intrinsic (Ref, Fn::Sub, Fn::GetAtt) for the template, so
// both write the same documents.

// The condition keys (UserIDKey, ContextProvidersKey, IdentityCenterProvider)
// are lint_enhanced.go's.

// BridgeTrust trusts the IdP's tokens with the given audience.
func BridgeTrust(providerArn any, issuerHostPath string, audience any, subject string) M {
	cond := M{{issuerHostPath + ":aud", audience}}
	if subject != "" {
		cond = append(cond, KV{issuerHostPath + ":sub", subject})
	}
	return policyDoc(M{
		{"Sid", "TrustIdPTokens"}, {"Effect", "Allow"},
		{"Principal", M{{"Federated", providerArn}}},
		{"Action", "sts:AssumeRoleWithWebIdentity"},
		{"Condition", M{{"StringEquals", cond}}},
	})
}

// BridgePermissions: CreateTokenWithIAM on the application only, and the
// identity-enhanced role (AssumeRole with the Identity Center context).
func BridgePermissions(applicationArn, enhancedRoleArn any) M {
	return policyDoc(
		allow("ExchangeIdPTokenWithIdentityCenter", []string{"sso-oauth:CreateTokenWithIAM"}, applicationArn),
		allow("AssumeIdentityEnhancedRole", []string{"sts:AssumeRole", "sts:SetContext"}, enhancedRoleArn),
	)
}

// EnhancedTrust trusts the bridge role for sts:AssumeRole, and for
// sts:SetContext only with Identity Center contexts. SetContext has a
// statement of its own: sts:RequestContextProviders is a key of SetContext
// only, so on sts:AssumeRole the condition would refuse every call.
func EnhancedTrust(bridgeRoleArn any) M {
	return policyDoc(M{
		{"Sid", "TrustBridgeRole"}, {"Effect", "Allow"},
		{"Principal", M{{"AWS", bridgeRoleArn}}},
		{"Action", "sts:AssumeRole"},
	}, M{
		{"Sid", "BridgeRoleSetsIdentityCenterContextOnly"}, {"Effect", "Allow"},
		{"Principal", M{{"AWS", bridgeRoleArn}}},
		{"Action", "sts:SetContext"},
		{"Condition", M{
			{"ForAllValues:ArnEquals", M{{ContextProvidersKey, IdentityCenterProvider}}},
			{"Null", M{{ContextProvidersKey, "false"}}},
		}},
	})
}

// WithPerson conditions a permission of the identity-enhanced role on the
// Identity Center user its session carries.
func WithPerson(stmt M) M {
	return append(stmt, KV{"Condition", M{{"Null", M{{UserIDKey, "false"}}}}})
}

// ServiceArn builds a resource ARN of service; for literal documents the
// partition, region and account are given, for templates they are nil and
// Fn::Sub fills them.
type ServiceArn func(service, resource string) any

// LiteralArns returns a ServiceArn for a known region and account.
func LiteralArns(region, account string) ServiceArn {
	return func(service, resource string) any {
		return "arn:aws:" + service + ":" + region + ":" + account + ":" + resource
	}
}

func templateArns(service, resource string) any {
	return sub("arn:${AWS::Partition}:" + service + ":${AWS::Region}:${AWS::AccountId}:" + resource)
}

// EnhancedServicePolicy is the least-privilege policy of one service for
// the identity-enhanced role; every statement needs a person.
func EnhancedServicePolicy(svc string, arn ServiceArn) M {
	var stmts []M
	switch svc {
	case ServiceAthena:
		stmts = []M{
			allow("AthenaQueries", []string{"athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
				"athena:GetQueryResults", "athena:ListQueryExecutions", "athena:GetWorkGroup"}, []any{arn("athena", "workgroup/*")}),
			allow("AthenaCatalog", []string{"athena:GetDataCatalog", "athena:ListDatabases", "athena:GetDatabase",
				"athena:ListTableMetadata", "athena:GetTableMetadata"}, []any{arn("athena", "datacatalog/*")}),
			allow("GlueCatalogRead", []string{"glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
				"glue:GetPartition", "glue:GetPartitions"}, []any{arn("glue", "catalog"), arn("glue", "database/*"), arn("glue", "table/*")}),
		}
	case ServiceRedshiftData:
		stmts = []M{
			allow("RedshiftDataOnWorkgroupsAndClusters", []string{"redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement",
				"redshift-data:ListDatabases", "redshift-data:ListSchemas", "redshift-data:ListTables", "redshift-data:DescribeTable"},
				[]any{arn("redshift-serverless", "workgroup/*"), arn("redshift", "cluster:*")}),
			// These operations act on statement ids and support no resource-level permissions.
			allow("RedshiftDataOwnStatements", []string{"redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
				"redshift-data:CancelStatement", "redshift-data:ListStatements"}, "*"),
		}
	case ServiceS3AG:
		stmts = []M{allow("S3AccessGrants", []string{"s3:GetDataAccess", "s3:ListCallerAccessGrants"},
			arn("s3", "access-grants/default"))}
	case ServiceQuickSight:
		stmts = []M{allow("QuickSightSnapshots", []string{"quicksight:StartDashboardSnapshotJob",
			"quicksight:DescribeDashboardSnapshotJob", "quicksight:DescribeDashboardSnapshotJobResult"}, arn("quicksight", "dashboard/*"))}
	case ServiceQBusiness:
		stmts = []M{allow("QBusinessChat", []string{"qbusiness:Chat", "qbusiness:ChatSync", "qbusiness:ListConversations",
			"qbusiness:ListMessages", "qbusiness:DeleteConversation", "qbusiness:PutFeedback", "qbusiness:GetChatControlsConfiguration"},
			arn("qbusiness", "application/*"))}
	}
	for i := range stmts {
		stmts[i] = WithPerson(stmts[i])
	}
	return policyDoc(stmts...)
}

// LocationTrust lets S3 Access Grants assume the location role and pass
// the grantee's identity context (sts:SetContext), only on behalf of this
// account's Access Grants instance in region (aws:SourceAccount and
// aws:SourceArn, against the confused deputy).
//
// sourceAccount is the account id and sourceArn the instance's ARN
// (arn:aws:s3:REGION:ACCOUNT:access-grants/default), as strings or as
// CloudFormation expressions.
func LocationTrust(sourceAccount, sourceArn any) M {
	return policyDoc(M{
		{"Sid", "AccessGrantsVendsCredentials"}, {"Effect", "Allow"},
		{"Principal", M{{"Service", "access-grants.s3.amazonaws.com"}}},
		{"Action", []string{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:SetContext"}},
		{"Condition", M{{"StringEquals", M{
			{"aws:SourceAccount", sourceAccount},
			{"aws:SourceArn", sourceArn},
		}}}},
	})
}

// AccessGrantsInstanceArn is the ARN of an account's S3 Access Grants
// instance in region.
func AccessGrantsInstanceArn(region, account string) string {
	return "arn:aws:s3:" + region + ":" + account + ":access-grants/default"
}

// LocationPermissions are the S3 rights Access Grants narrows to a grant:
// objects under the locations and listing their buckets.
func LocationPermissions(locations []string) M {
	var objects, buckets []any
	seen := map[string]bool{}
	for _, l := range locations {
		bp := strings.TrimPrefix(strings.TrimSuffix(l, "*"), "s3://")
		bucket, prefix, _ := strings.Cut(bp, "/")
		objects = append(objects, "arn:aws:s3:::"+bucket+"/"+prefix+"*")
		if !seen[bucket] {
			seen[bucket] = true
			buckets = append(buckets, "arn:aws:s3:::"+bucket)
		}
	}
	return policyDoc(
		allow("ObjectsUnderLocations", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
			"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, objects),
		allow("ListLocationBuckets", []string{"s3:ListBucket", "s3:GetBucketLocation"}, buckets),
	)
}

// SnapshotPermissions lets the QuickSight snapshot role run snapshot jobs
// on the account's dashboards.
func SnapshotPermissions(arn ServiceArn) M {
	return policyDoc(allow("QuickSightSnapshots", []string{"quicksight:StartDashboardSnapshotJob",
		"quicksight:DescribeDashboardSnapshotJob", "quicksight:DescribeDashboardSnapshotJobResult"},
		arn("quicksight", "dashboard/*")))
}

// SnapshotTrust lets the account's administrators assume the QuickSight
// snapshot role with a QuickSight identity context.
func SnapshotTrust(accountRoot any) M {
	return policyDoc(M{
		{"Sid", "AccountAssumesWithQuickSightContext"}, {"Effect", "Allow"},
		{"Principal", M{{"AWS", accountRoot}}},
		{"Action", []string{"sts:AssumeRole", "sts:SetContext"}},
	})
}

// ActorPolicy is the application's IAM authentication method: only the
// bridge role may call CreateTokenWithIAM on the application.
func ActorPolicy(bridgeRoleArn, applicationArn any) M {
	return policyDoc(M{
		{"Effect", "Allow"},
		{"Principal", M{{"AWS", bridgeRoleArn}}},
		{"Action", "sso-oauth:CreateTokenWithIAM"},
		{"Resource", applicationArn},
	})
}
