package s3control_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const account = "123456789012"

func start(t testing.TB, worldYAML string) *sandbox.Sandbox {
	t.Helper()
	return ststest.Sandbox(t, []byte(worldYAML))
}

// fixedEndpoint resolves every S3 Control operation to the sandbox URL,
// without the {AccountId}. host prefix the SDK would add.
type fixedEndpoint struct{ u url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

// sandboxClock signs requests with the sandbox's clock, as a client whose
// clock agrees with the server's would after env.Advance.
type sandboxClock struct{ sb *sandbox.Sandbox }

func (s sandboxClock) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payload, service, region string, _ time.Time, o ...func(*v4.SignerOptions)) error {
	return v4.NewSigner().SignHTTP(ctx, c, r, payload, service, region, s.sb.Env.Now(), o...)
}

func staticCreds(p *auth.Principal) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
}

func controlClient(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *s3control.Client {
	u, _ := url.Parse(sb.URL())
	return s3control.New(s3control.Options{Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1,
		EndpointResolverV2: fixedEndpoint{*u}, HTTPSignerV4: sandboxClock{sb}})
}

func s3Client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true,
		RetryMaxAttempts: 1, HTTPSignerV4: sandboxClock{sb}, RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported})
}

var admin = credentials.NewStaticCredentialsProvider("test", "test", "")

// enhanced makes an identity-enhanced session of role tip-enhanced for an
// Identity Center user, as sts:AssumeRole with an IdentityCenter provided
// context would, expiring after ttl.
func enhanced(t testing.TB, sb *sandbox.Sandbox, user string, groups []string, ttl time.Duration) *auth.Principal {
	t.Helper()
	return enhancedAs(t, sb, "tip-enhanced", user, groups, ttl)
}

func enhancedAs(t testing.TB, sb *sandbox.Sandbox, roleName, user string, groups []string, ttl time.Duration) *auth.Principal {
	t.Helper()
	role, ok := sb.Env.IAM.RoleByName(roleName)
	if !ok {
		t.Fatalf("the world has no role %s", roleName)
	}
	ic := sb.Env.World.IdentityCenter
	ctx := &auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserName: user, InstanceArn: ic.InstanceArn,
		IdentityStoreID: ic.IdentityStoreID, ExpiresAt: sb.Env.Now().Add(ttl)}
	for _, u := range ic.Users {
		if u.UserName == user {
			ctx.UserID, ctx.Email = u.UserID, u.Email
		}
	}
	for _, name := range groups {
		g := auth.Group{Name: name}
		for _, wg := range ic.Groups {
			if wg.Name == name {
				g.ID = wg.GroupID
			}
		}
		ctx.Groups = append(ctx.Groups, g)
	}
	p := &auth.Principal{AccountID: account, Arn: "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + user,
		UserID: role.RoleID + ":" + user, RoleArn: role.Arn, RoleName: role.Name, SessionName: user,
		Policies: role.Policies, Context: ctx}
	return sb.Env.Registry.IssueSession(p, sb.Env.Now().Add(ttl))
}

func startErr(worldYAML string) (*sandbox.Sandbox, error) {
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: []byte(worldYAML)})
	if err == nil {
		sb.Close()
	}
	return sb, err
}

func groupID(sb *sandbox.Sandbox, name string) string {
	for _, g := range sb.Env.Snapshot().IdentityCenter.Groups {
		if g.Name == name {
			return g.GroupID
		}
	}
	return ""
}

func userID(sb *sandbox.Sandbox, name string) string {
	for _, u := range sb.Env.Snapshot().IdentityCenter.Users {
		if u.UserName == name {
			return u.UserID
		}
	}
	return ""
}

type access struct {
	*s3control.GetDataAccessOutput
	S3 *s3.Client
}

// getDataAccess calls GetDataAccess as p and returns an S3 client that uses
// the vended credentials.
func getDataAccess(t testing.TB, sb *sandbox.Sandbox, p *auth.Principal, in s3control.GetDataAccessInput) (*access, error) {
	t.Helper()
	in.AccountId = aws.String(account)
	out, err := controlClient(sb, staticCreds(p)).GetDataAccess(context.Background(), &in)
	if err != nil {
		return nil, err
	}
	c := out.Credentials
	return &access{out, s3Client(sb, credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))}, nil
}
