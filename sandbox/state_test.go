package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const trustAdmin = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"sts:AssumeRole"}]}`

func startOpts(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func exportWorld(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/world")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /_sandbox/world: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestBareAccount: Identity Center with its users and groups, the buckets
// and objects, and no trust configuration at all.
func TestBareAccount(t *testing.T) {
	sb := startOpts(t, sandbox.Options{Bare: true})
	ctx := context.Background()
	cfg := ststest.Config(sb, ststest.Admin())
	ic := sb.Env.Snapshot().IdentityCenter
	users, err := identitystore.NewFromConfig(cfg).ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(ic.IdentityStoreID)})
	if err != nil || len(users.Users) == 0 {
		t.Fatalf("ListUsers = %v, %v", users, err)
	}
	roles, err := awsiam.NewFromConfig(cfg).ListRoles(ctx, &awsiam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Fatalf("ListRoles = %+v, %v", roles, err)
	}
	providers, err := awsiam.NewFromConfig(cfg).ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(providers.OpenIDConnectProviderList) != 0 {
		t.Fatalf("ListOpenIDConnectProviders = %+v, %v", providers, err)
	}
	sso := ssoadmin.NewFromConfig(cfg)
	apps, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(ic.InstanceArn)})
	if err != nil || len(apps.Applications) != 0 {
		t.Fatalf("ListApplications = %+v, %v", apps, err)
	}
	ttis, err := sso.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(ic.InstanceArn)})
	if err != nil || len(ttis.TrustedTokenIssuers) != 0 {
		t.Fatalf("ListTrustedTokenIssuers = %+v, %v", ttis, err)
	}
	objs, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data")})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("ListObjectsV2 = %+v, %v", objs, err)
	}
	if !strings.Contains(exportWorld(t, sb), "no_instance: true") {
		t.Fatal("the bare world's export has an Access Grants instance")
	}
}

// TestWorldRoundTrip: the exported live state, loaded into a new sandbox,
// behaves the same and exports the same file.
func TestWorldRoundTrip(t *testing.T) {
	sb := startOpts(t, sandbox.Options{})
	ctx := context.Background()
	cfg := ststest.Config(sb, ststest.Admin())
	ic := sb.Env.Snapshot().IdentityCenter
	if _, err := awsiam.NewFromConfig(cfg).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("round-trip"), AssumeRolePolicyDocument: aws.String(trustAdmin)}); err != nil {
		t.Fatal(err)
	}
	store := identitystore.NewFromConfig(cfg)
	g, err := store.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: aws.String(ic.IdentityStoreID), DisplayName: aws.String("auditors")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: aws.String(ic.IdentityStoreID), GroupId: g.GroupId,
		MemberId: &istypes.MemberIdMemberUserId{Value: ic.User("bob").UserID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"),
		Key: aws.String("emea/new.csv"), Body: strings.NewReader("a,b\n1,2\n")}); err != nil {
		t.Fatal(err)
	}
	first := exportWorld(t, sb)
	if strings.Contains(first, sb.URL()) {
		t.Fatal("the export names the sandbox's own endpoint instead of ${endpoint}")
	}

	again := startOpts(t, sandbox.Options{WorldYAML: []byte(first)})
	if second := exportWorld(t, again); second != first {
		t.Fatalf("the reloaded world exports differently:\n--- first\n%s\n--- second\n%s", first, second)
	}
	cfg2 := ststest.Config(again, ststest.Admin())
	if _, err := ststest.STS(again, ststest.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/round-trip"), RoleSessionName: aws.String("rt")}); err != nil {
		t.Fatalf("the role created before the export cannot be assumed after it: %v", err)
	}
	in, err := identitystore.NewFromConfig(cfg2).IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		MemberId: &istypes.MemberIdMemberUserId{Value: ic.User("bob").UserID}, GroupIds: []string{aws.ToString(g.GroupId)}})
	if err != nil || !in.Results[0].MembershipExists {
		t.Fatalf("membership after the round trip: %+v, %v", in, err)
	}
	obj, err := s3.NewFromConfig(cfg2, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/new.csv")})
	if err != nil {
		t.Fatalf("the object written before the export: %v", err)
	}
	obj.Body.Close()
}

// TestStateDirectory: a change is on disk before its reply, and a new
// sandbox on the same directory starts from it.
func TestStateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	sb, err := sandbox.Start(sandbox.Options{Bare: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := awsiam.NewFromConfig(ststest.Config(sb, ststest.Admin())).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("kept"),
		AssumeRolePolicyDocument: aws.String(trustAdmin)}); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, sandbox.StateFile))
	if err != nil || !strings.Contains(string(onDisk), "name: kept") {
		t.Fatalf("the state file after CreateRole (before any shutdown): %v\n%s", err, onDisk)
	}
	sb.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != sandbox.S3StateDir || entries[1].Name() != sandbox.StateFile {
		t.Fatalf("the state directory holds %v, want only %s and %s/", entries, sandbox.StateFile, sandbox.S3StateDir)
	}
	again := startOpts(t, sandbox.Options{Bare: true, StateDir: dir})
	if _, ok := again.Env.IAM.RoleByName("kept"); !ok {
		t.Fatal("the role did not survive the restart")
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("state directory mode: %v %v", info.Mode(), err)
	}
}

// TestStateObjectWriteCost: with --state, an object write writes that
// object's file and nothing else (world.yaml and the bucket list are not
// rewritten); leftovers of writes cut short by a kill are dropped at the
// next start.
func TestStateObjectWriteCost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	sb := startOpts(t, sandbox.Options{StateDir: dir})
	ctx := context.Background()
	c := s3.NewFromConfig(ststest.Config(sb, ststest.Admin()), func(o *s3.Options) { o.UsePathStyle = true })
	others := []string{filepath.Join(dir, sandbox.StateFile), filepath.Join(dir, sandbox.S3StateDir, "buckets.json")}
	before := make([]os.FileInfo, len(others))
	for i, p := range others {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = fi
	}
	countFiles := func() int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(dir, sandbox.S3StateDir, "objects"), func(_ string, d os.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	n0 := countFiles()
	for i := 0; i < 20; i++ {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("cost/obj-" + string(rune('a'+i))),
			Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countFiles(); n != n0+20 {
		t.Fatalf("object files: %d, want %d", n, n0+20)
	}
	for i, p := range others {
		fi, err := os.Stat(p)
		if err != nil || !os.SameFile(fi, before[i]) {
			t.Fatalf("%s was rewritten by object writes", p)
		}
	}
	sb.Close()

	// A write cut short leaves a .tmp- file; an upload killed before its
	// meta was written leaves a directory without one. Both are dropped.
	objDir := filepath.Join(dir, sandbox.S3StateDir, "objects", "00")
	if err := os.MkdirAll(objDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(objDir, ".tmp-cut-short")
	orphan := filepath.Join(dir, sandbox.S3StateDir, "uploads", "never-acknowledged")
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	again := startOpts(t, sandbox.Options{StateDir: dir})
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the cut-short write is still there: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatalf("the unacknowledged upload is still there: %v", err)
	}
	c = s3.NewFromConfig(ststest.Config(again, ststest.Admin()), func(o *s3.Options) { o.UsePathStyle = true })
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("cost/")})
	if err != nil || len(list.Contents) != 20 {
		t.Fatalf("objects after restart: %v, %v", list, err)
	}
}
