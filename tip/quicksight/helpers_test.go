package quicksight_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/quicksight"
)

const account = "123456789012"

// adminConfig is an SDK configuration with the sandbox's administrator keys.
func adminConfig(t testing.TB, sb *sandbox.Sandbox) aws.Config {
	t.Helper()
	cfg, err := awsconf.New(awsconf.Options{Region: "us-east-1", Endpoint: sb.URL(),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func roleArn(t testing.TB, sb *sandbox.Sandbox, name string) string {
	t.Helper()
	r, ok := sb.Env.IAM.RoleByName(name)
	if !ok {
		t.Fatalf("the world has no role %s", name)
	}
	return r.Arn
}

// aliceSession is alice's identity-enhanced session through the QuickSight
// identity context and the world's snapshot role.
func aliceSession(t testing.TB, sb *sandbox.Sandbox, admin aws.Config) *quicksight.Credentials {
	t.Helper()
	return quicksight.IdentityCredentials(admin, quicksight.IdentityRequest{
		User: quicksight.User{Email: "alice@example.com"}, RoleArn: roleArn(t, sb, sb.Env.World.QuickSight.SnapshotRole)})
}

func wantKind(t testing.TB, err error, kind quicksight.Kind, contains ...string) *quicksight.Error {
	t.Helper()
	var qe *quicksight.Error
	if !errors.As(err, &qe) {
		t.Fatalf("error %v (%T) is not a *quicksight.Error", err, err)
	}
	if qe.Kind != kind {
		t.Fatalf("error kind %d, want %d: %v", qe.Kind, kind, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q lacks %q", err, c)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
	return qe
}

func fileNames(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f))
	}
	slices.Sort(out)
	return out
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var bg = context.Background()

func defaultWorld() []byte { return world.DefaultYAML() }
