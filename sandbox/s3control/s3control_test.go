package s3control_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

var ctx = context.Background()

func read(t testing.TB, c *s3.Client, bucket, key string) (string, error) {
	t.Helper()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func list(t *testing.T, c *s3.Client, bucket, prefix string) ([]string, error) {
	t.Helper()
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys, nil
}

func put(c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

func TestAliceReadsEMEAThroughHerGroupGrant(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	a, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(a.MatchedGrantTarget); got != "s3://analytics-data/emea/*" {
		t.Errorf("MatchedGrantTarget = %q", got)
	}
	if a.Grantee.GranteeType != types.GranteeTypeDirectoryGroup || aws.ToString(a.Grantee.GranteeIdentifier) != groupID(sb, "emea-sales") {
		t.Errorf("Grantee = %s %s, want the emea-sales group %s", a.Grantee.GranteeType, aws.ToString(a.Grantee.GranteeIdentifier), groupID(sb, "emea-sales"))
	}
	if !strings.HasPrefix(aws.ToString(a.Credentials.AccessKeyId), "ASIA") || aws.ToString(a.Credentials.SessionToken) == "" {
		t.Errorf("vended credentials look wrong: %s", aws.ToString(a.Credentials.AccessKeyId))
	}
	if d := a.Credentials.Expiration.Sub(sb.Env.Now()); d < 59*time.Minute || d > time.Hour {
		t.Errorf("default duration: credentials expire in %v, want 1h", d)
	}

	keys, err := list(t, a.S3, "analytics-data", "emea/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "emea/customers.csv,emea/sales-2025-q4.csv" {
		t.Errorf("listing emea/ = %v", keys)
	}
	body, err := read(t, a.S3, "analytics-data", "emea/sales-2025-q4.csv")
	if err != nil || !strings.Contains(body, "EMEA,DE,Widget") {
		t.Fatalf("reading emea: %q %v", body, err)
	}
	// The scope is enforced by S3: nothing outside emea/, and no writes.
	_, err = read(t, a.S3, "analytics-data", "apac/sales-2025-q4.csv")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = list(t, a.S3, "analytics-data", "apac/")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = list(t, a.S3, "analytics-data", "")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	ststest.WantAPIError(t, put(a.S3, "analytics-data", "emea/new.csv", "x"), "AccessDenied", 403)
	_, err = a.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = read(t, a.S3, "quicksight-snapshots", "emea/x")
	ststest.WantAPIError(t, err, "AccessDenied", 403)

	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 1 {
		t.Errorf("s3:GetDataAccess counted %d times", n)
	}
}

func TestAliceWritesHerOwnPrefixOnly(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	a, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/users/alice/*"), Permission: types.PermissionReadwrite})
	if err != nil {
		t.Fatal(err)
	}
	if a.Grantee.GranteeType != types.GranteeTypeDirectoryUser || aws.ToString(a.Grantee.GranteeIdentifier) != userID(sb, "alice") {
		t.Errorf("Grantee = %s %s", a.Grantee.GranteeType, aws.ToString(a.Grantee.GranteeIdentifier))
	}
	if err := put(a.S3, "analytics-data", "users/alice/x.csv", "a,b\n1,2\n"); err != nil {
		t.Fatal(err)
	}
	if body, err := read(t, a.S3, "analytics-data", "users/alice/x.csv"); err != nil || body != "a,b\n1,2\n" {
		t.Fatalf("read back %q %v", body, err)
	}
	// The admin sees the object alice wrote.
	if body, err := read(t, s3Client(sb, admin), "analytics-data", "users/alice/x.csv"); err != nil || body != "a,b\n1,2\n" {
		t.Fatalf("admin read %q %v", body, err)
	}
	ststest.WantAPIError(t, put(a.S3, "analytics-data", "emea/x.csv", "x"), "AccessDenied", 403)
	ststest.WantAPIError(t, put(a.S3, "analytics-data", "users/bob/x.csv", "x"), "AccessDenied", 403)
	if _, err := a.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("users/alice/x.csv")}); err != nil {
		t.Fatal(err)
	}

	// READ alone is covered by the READWRITE grant.
	r, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/users/alice/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, r.S3, "analytics-data", "users/alice/notes.csv"); err != nil {
		t.Fatal(err)
	}
	ststest.WantAPIError(t, put(r.S3, "analytics-data", "users/alice/y.csv", "x"), "AccessDenied", 403)
}

func TestDeniedWithoutAMatchingGrant(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	bob := enhanced(t, sb, "bob", []string{"apac-sales"}, time.Hour)
	cases := []struct {
		name   string
		p      *auth.Principal
		target string
		perm   types.Permission
	}{
		{"other group's prefix", alice, "s3://analytics-data/apac/*", types.PermissionRead},
		{"permission not granted", alice, "s3://analytics-data/emea/*", types.PermissionWrite},
		{"readwrite over a read grant", alice, "s3://analytics-data/emea/*", types.PermissionReadwrite},
		{"wider than the grant", alice, "s3://analytics-data/*", types.PermissionRead},
		{"another user's prefix", bob, "s3://analytics-data/users/alice/*", types.PermissionRead},
		{"other bucket", alice, "s3://quicksight-snapshots/*", types.PermissionRead},
	}
	for _, c := range cases {
		_, err := getDataAccess(t, sb, c.p, s3control.GetDataAccessInput{Target: aws.String(c.target), Permission: c.perm})
		ststest.WantAPIError(t, err, "AccessDenied", 403)
		if !strings.Contains(err.Error(), string(c.perm)) || !strings.Contains(err.Error(), c.target) {
			t.Errorf("%s: the message should name the permission and target: %v", c.name, err)
		}
	}
	// An identity-enhanced session of a user in no granted group.
	dave := enhanced(t, sb, "dave", nil, time.Hour)
	_, err := getDataAccess(t, sb, dave, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestCarolReadsEverything(t *testing.T) {
	sb := start(t, "")
	carol := enhanced(t, sb, "carol", []string{"exec-global"}, time.Hour)
	a, err := getDataAccess(t, sb, carol, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.MatchedGrantTarget) != "s3://analytics-data/*" {
		t.Errorf("MatchedGrantTarget = %q", aws.ToString(a.MatchedGrantTarget))
	}
	for _, k := range []string{"emea/sales-2025-q4.csv", "apac/sales-2025-q4.csv", "global/summary-2025.csv", "users/alice/notes.csv"} {
		if _, err := read(t, a.S3, "analytics-data", k); err != nil {
			t.Errorf("carol reads %s: %v", k, err)
		}
	}
	keys, err := list(t, a.S3, "analytics-data", "")
	if err != nil || len(keys) != 5 {
		t.Errorf("carol lists the bucket: %v %v", keys, err)
	}
	ststest.WantAPIError(t, put(a.S3, "analytics-data", "global/x.csv", "x"), "AccessDenied", 403)
	_, err = read(t, a.S3, "quicksight-snapshots", "x")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestMostSpecificGrantWins(t *testing.T) {
	sb := start(t, "")
	// In both groups: the emea grant is more specific than exec-global's.
	p := enhanced(t, sb, "alice", []string{"exec-global", "emea-sales"}, time.Hour)
	a, err := getDataAccess(t, sb, p, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.MatchedGrantTarget) != "s3://analytics-data/emea/*" || aws.ToString(a.Grantee.GranteeIdentifier) != groupID(sb, "emea-sales") {
		t.Errorf("matched %s via %s", aws.ToString(a.MatchedGrantTarget), aws.ToString(a.Grantee.GranteeIdentifier))
	}
	// The vended scope is the matched grant's: apac is out even though exec-global covers it.
	_, err = read(t, a.S3, "analytics-data", "apac/sales-2025-q4.csv")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestMinimalPrivilegeNarrowsToTheTarget(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	obj := "s3://analytics-data/emea/sales-2025-q4.csv"

	def, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String(obj), TargetType: types.S3PrefixTypeObject, Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, def.S3, "analytics-data", "emea/customers.csv"); err != nil {
		t.Errorf("Default privilege vends the whole grant scope: %v", err)
	}

	min, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String(obj), TargetType: types.S3PrefixTypeObject,
		Permission: types.PermissionRead, Privilege: types.PrivilegeMinimal})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(min.MatchedGrantTarget) != "s3://analytics-data/emea/*" {
		t.Errorf("MatchedGrantTarget = %q", aws.ToString(min.MatchedGrantTarget))
	}
	if _, err := read(t, min.S3, "analytics-data", "emea/sales-2025-q4.csv"); err != nil {
		t.Fatal(err)
	}
	_, err = read(t, min.S3, "analytics-data", "emea/customers.csv")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = read(t, min.S3, "analytics-data", "emea/sales-2025-q4.csv.bak")
	ststest.WantAPIError(t, err, "AccessDenied", 403)

	// A Minimal prefix target: only that sub-prefix.
	sub, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/sales*"),
		Permission: types.PermissionRead, Privilege: types.PrivilegeMinimal})
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := list(t, sub.S3, "analytics-data", "emea/sales"); err != nil || len(keys) != 1 {
		t.Errorf("list emea/sales: %v %v", keys, err)
	}
	_, err = list(t, sub.S3, "analytics-data", "emea/")
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestDurationAndExpiry(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, 12*time.Hour)
	target := aws.String("s3://analytics-data/emea/*")
	for _, bad := range []int32{899, 43201, 0, -5} {
		_, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: target, Permission: types.PermissionRead, DurationSeconds: aws.Int32(bad)})
		ststest.WantAPIError(t, err, "InvalidRequest", 400)
	}
	a, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: target, Permission: types.PermissionRead, DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Credentials.Expiration.Sub(sb.Env.Now()); d < 899*time.Second-time.Second || d > 900*time.Second {
		t.Errorf("durationSeconds=900: expires in %v", d)
	}
	if _, err := read(t, a.S3, "analytics-data", "emea/customers.csv"); err != nil {
		t.Fatal(err)
	}
	sb.Env.Advance(16 * time.Minute)
	_, err = read(t, a.S3, "analytics-data", "emea/customers.csv")
	ststest.WantAPIError(t, err, "ExpiredToken", 400)

	// Vended credentials never outlive the session that asked for them.
	short := enhanced(t, sb, "alice", []string{"emea-sales"}, 20*time.Minute)
	b, err := getDataAccess(t, sb, short, s3control.GetDataAccessInput{Target: target, Permission: types.PermissionRead, DurationSeconds: aws.Int32(43200)})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Credentials.Expiration.Equal(short.Expiration) {
		t.Errorf("expiration %v, want the caller's %v", b.Credentials.Expiration, short.Expiration)
	}
	// An expired caller cannot ask at all.
	sb.Env.Advance(21 * time.Minute)
	_, err = getDataAccess(t, sb, short, s3control.GetDataAccessInput{Target: target, Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "ExpiredToken", 400)
}

func TestMalformedRequests(t *testing.T) {
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	for _, in := range []s3control.GetDataAccessInput{
		{Target: aws.String("analytics-data/emea/*"), Permission: types.PermissionRead},
		{Target: aws.String("s3://"), Permission: types.PermissionRead},
		{Target: aws.String("s3://Bad_Bucket/x/*"), Permission: types.PermissionRead},
		{Target: aws.String("s3://analytics-data/e*a/*"), Permission: types.PermissionRead},
		{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead, TargetType: types.S3PrefixTypeObject},
		{Target: aws.String("s3://analytics-data/emea/*"), Permission: "OWNER"},
		{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead, Privilege: "Maximal"},
	} {
		_, err := getDataAccess(t, sb, alice, in)
		ststest.WantAPIError(t, err, "InvalidRequest", 400)
	}
	// The server keeps serving.
	if _, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead}); err != nil {
		t.Fatal(err)
	}
	// Another account's instance.
	_, err := controlClient(sb, staticCreds(alice)).GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: aws.String("111122223333"),
		Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "AccessGrantsInstanceNotExistsError", 404)
}

func TestCallerNeedsGetDataAccessPermission(t *testing.T) {
	sb := start(t, "")
	// A session of tip-bridge carries alice's context but the role lacks s3:GetDataAccess.
	p := enhancedAs(t, sb, "tip-bridge", "alice", []string{"emea-sales"}, time.Hour)
	_, err := getDataAccess(t, sb, p, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	if !strings.Contains(err.Error(), "s3:GetDataAccess") {
		t.Errorf("message should name the action: %v", err)
	}
	// A wrong secret is a signature error, an unknown key an invalid key.
	_, err = controlClient(sb, credentials.NewStaticCredentialsProvider("test", "nope", "")).ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: aws.String(account)})
	ststest.WantAPIError(t, err, "SignatureDoesNotMatch", 403)
	_, err = controlClient(sb, credentials.NewStaticCredentialsProvider("AKIANOPE", "x", "")).ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: aws.String(account)})
	ststest.WantAPIError(t, err, "InvalidAccessKeyId", 403)
	// Unsigned.
	resp, err := http.Get(sb.URL() + "/v20180820/accessgrantsinstance/dataaccess?target=s3://analytics-data/emea/*&permission=READ")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<ErrorResponse><Error><Code>AccessDenied</Code>") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, body)
	}
}

func worldWith(t *testing.T, replace ...string) string {
	t.Helper()
	y := string(world.DefaultYAML())
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(y, replace[i]) {
			t.Fatalf("the default world has no %q", replace[i])
		}
		y = strings.Replace(y, replace[i], replace[i+1], 1)
	}
	return y
}

func TestIAMPrincipalGrant(t *testing.T) {
	// tip-no-setcontext's s3:GetDataAccess needs no identity context
	// (tip-enhanced's does).
	y := worldWith(t, "    grants:\n", "    grants:\n      - grantee: iam:arn:aws:iam::123456789012:role/tip-no-setcontext\n        permission: READ\n        target: s3://analytics-data/global/*\n")
	sb := start(t, y)
	role, _ := sb.Env.IAM.RoleByName("tip-no-setcontext")
	// A plain role session (no identity context) is matched by its role ARN.
	p := sb.Env.Registry.IssueSession(&auth.Principal{AccountID: account, Arn: "arn:aws:sts::123456789012:assumed-role/tip-no-setcontext/job",
		RoleArn: role.Arn, RoleName: role.Name, SessionName: "job", Policies: role.Policies}, sb.Env.Now().Add(time.Hour))
	a, err := getDataAccess(t, sb, p, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/global/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if a.Grantee.GranteeType != types.GranteeTypeIam || aws.ToString(a.Grantee.GranteeIdentifier) != role.Arn {
		t.Errorf("Grantee = %s %s", a.Grantee.GranteeType, aws.ToString(a.Grantee.GranteeIdentifier))
	}
	if _, err := read(t, a.S3, "analytics-data", "global/summary-2025.csv"); err != nil {
		t.Fatal(err)
	}
	// Without a context, directory grants do not apply.
	_, err = getDataAccess(t, sb, p, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestLocationRoleMustTrustAccessGrants(t *testing.T) {
	y := worldWith(t, "iam_role: arn:aws:iam::123456789012:role/tip-s3ag-location", "iam_role: arn:aws:iam::123456789012:role/tip-bridge")
	sb := start(t, y)
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	_, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	if !strings.Contains(err.Error(), "trust policy") || !strings.Contains(err.Error(), "access-grants.s3.amazonaws.com") {
		t.Errorf("the message should explain the trust problem: %v", err)
	}
}

// TestLocationTrustSourceConditions: S3 Access Grants assumes a location
// role on behalf of one instance, and the trust's aws:SourceAccount /
// aws:SourceArn conditions are evaluated with that instance's values, so a
// trust pinned to another account's instance refuses (the confused deputy).
func TestLocationTrustSourceConditions(t *testing.T) {
	for _, c := range []struct{ name, from, to string }{
		{"another account", `aws:SourceAccount: "123456789012"`, `aws:SourceAccount: "210987654321"`},
		{"another instance", `aws:SourceArn: arn:aws:s3:us-east-1:123456789012:access-grants/default`,
			`aws:SourceArn: arn:aws:s3:eu-west-1:123456789012:access-grants/default`},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := start(t, worldWith(t, c.from, c.to))
			alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
			_, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
			ststest.WantAPIError(t, err, "AccessDenied", 403)
			if !strings.Contains(err.Error(), "trust policy") {
				t.Errorf("the message should explain the trust problem: %v", err)
			}
		})
	}
	// The default world pins its own instance: alice is served.
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	if _, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead}); err != nil {
		t.Fatal(err)
	}
}

func TestGrantOutsideAnyLocationIsAWorldError(t *testing.T) {
	y := worldWith(t, "      - scope: s3://\n", "      - scope: s3://quicksight-snapshots/*\n")
	if _, err := startErr(y); err == nil || !strings.Contains(err.Error(), "not inside any registered location") {
		t.Fatalf("want a world error, got %v", err)
	}
}

func TestAdministration(t *testing.T) {
	sb := start(t, "")
	c := controlClient(sb, admin)
	inst, err := c.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: aws.String(account)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(inst.AccessGrantsInstanceArn) != "arn:aws:s3:us-east-1:123456789012:access-grants/default" ||
		aws.ToString(inst.IdentityCenterInstanceArn) != sb.Env.World.IdentityCenter.InstanceArn {
		t.Errorf("instance = %s %s", aws.ToString(inst.AccessGrantsInstanceArn), aws.ToString(inst.IdentityCenterInstanceArn))
	}
	locs, err := c.ListAccessGrantsLocations(ctx, &s3control.ListAccessGrantsLocationsInput{AccountId: aws.String(account)})
	if err != nil {
		t.Fatal(err)
	}
	if len(locs.AccessGrantsLocationsList) != 1 || aws.ToString(locs.AccessGrantsLocationsList[0].AccessGrantsLocationId) != "default" ||
		aws.ToString(locs.AccessGrantsLocationsList[0].IAMRoleArn) != "arn:aws:iam::123456789012:role/tip-s3ag-location" {
		t.Errorf("locations = %+v", locs.AccessGrantsLocationsList)
	}
	loc, err := c.GetAccessGrantsLocation(ctx, &s3control.GetAccessGrantsLocationInput{AccountId: aws.String(account), AccessGrantsLocationId: aws.String("default")})
	if err != nil || aws.ToString(loc.LocationScope) != "s3://" {
		t.Errorf("GetAccessGrantsLocation: %v %v", loc, err)
	}

	// Paginate the grants two at a time.
	var all []types.ListAccessGrantEntry
	p := s3control.NewListAccessGrantsPaginator(c, &s3control.ListAccessGrantsInput{AccountId: aws.String(account), MaxResults: 2})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.AccessGrantsList...)
	}
	if len(all) != 7 || pages != 4 { // 4 on analytics-data, 3 for Athena results
		t.Fatalf("%d grants in %d pages, want 7 in 4", len(all), pages)
	}
	byScope := map[string]types.ListAccessGrantEntry{}
	for _, g := range all {
		byScope[aws.ToString(g.GrantScope)] = g
	}
	g := byScope["s3://analytics-data/users/alice/*"]
	if g.Permission != types.PermissionReadwrite || g.Grantee.GranteeType != types.GranteeTypeDirectoryUser ||
		aws.ToString(g.Grantee.GranteeIdentifier) != userID(sb, "alice") || aws.ToString(g.AccessGrantsLocationConfiguration.S3SubPrefix) != "analytics-data/users/alice/*" {
		t.Errorf("alice's grant = %+v", g)
	}
	one, err := c.GetAccessGrant(ctx, &s3control.GetAccessGrantInput{AccountId: aws.String(account), AccessGrantId: g.AccessGrantId})
	if err != nil || aws.ToString(one.AccessGrantArn) != aws.ToString(g.AccessGrantArn) || aws.ToString(one.GrantScope) != "s3://analytics-data/users/alice/*" {
		t.Fatalf("GetAccessGrant: %+v %v", one, err)
	}
	_, err = c.GetAccessGrant(ctx, &s3control.GetAccessGrantInput{AccountId: aws.String(account), AccessGrantId: aws.String("nope")})
	ststest.WantAPIError(t, err, "AccessGrantNotFound", 404)

	filtered, err := c.ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: aws.String(account), GranteeType: types.GranteeTypeDirectoryGroup, Permission: types.PermissionRead})
	if err != nil || len(filtered.AccessGrantsList) != 3 {
		t.Errorf("group READ grants: %v %v", filtered, err)
	}

	// tip-enhanced may list its caller's grants but not administer.
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	ac := controlClient(sb, staticCreds(alice))
	_, err = ac.ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: aws.String(account)})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	mine, err := ac.ListCallerAccessGrants(ctx, &s3control.ListCallerAccessGrantsInput{AccountId: aws.String(account)})
	if err != nil {
		t.Fatal(err)
	}
	var scopes []string
	for _, e := range mine.CallerAccessGrantsList {
		scopes = append(scopes, aws.ToString(e.GrantScope)+"="+string(e.Permission))
	}
	if strings.Join(scopes, " ") != "s3://analytics-data/emea/*=READ s3://analytics-data/users/alice/*=READWRITE s3://tip-athena-results/*=READWRITE" {
		t.Errorf("alice's grants = %v", scopes)
	}
	narrowed, err := ac.ListCallerAccessGrants(ctx, &s3control.ListCallerAccessGrantsInput{AccountId: aws.String(account), GrantScope: aws.String("s3://analytics-data/users/")})
	if err != nil || len(narrowed.CallerAccessGrantsList) != 1 {
		t.Errorf("narrowed: %v %v", narrowed, err)
	}
}

func TestSandboxInfo(t *testing.T) {
	sb := start(t, "")
	resp, err := http.Get(sb.URL() + "/_sandbox/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		S3 struct {
			Buckets []string `json:"buckets"`
			Grants  []struct {
				Grantee, Permission, Target string
			} `json:"grants"`
		} `json:"s3"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.S3.Buckets, ",") != "analytics-data,quicksight-snapshots,redshift-blogs,tip-athena-results,tip-datalake" || len(info.S3.Grants) != 7 ||
		info.S3.Grants[0].Grantee != "group:emea-sales" || info.S3.Grants[0].Target != "s3://analytics-data/emea/*" || info.S3.Grants[0].Permission != "READ" {
		t.Errorf("info.s3 = %+v", info.S3)
	}
}

// With only an HTTP proxy pointed at the sandbox (which serves absolute-form
// requests), an unchanged client reaches it at {AccountId}.127.0.0.1.
func TestHostPrefixThroughProxy(t *testing.T) {
	sb := start(t, "")
	proxy, _ := http.NewRequest("GET", sb.URL(), nil)
	c := s3control.New(s3control.Options{Region: "us-east-1", Credentials: admin, BaseEndpoint: aws.String(sb.URL()), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy.URL)}}})
	out, err := c.ListAccessGrantsLocations(ctx, &s3control.ListAccessGrantsLocationsInput{AccountId: aws.String(account)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AccessGrantsLocationsList) != 1 {
		t.Errorf("locations: %+v", out.AccessGrantsLocationsList)
	}
}
