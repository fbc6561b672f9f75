package sts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// awsCLI runs the real AWS CLI against the sandbox with only the given
// credentials in its environment, and returns stdout, stderr and the exit code.
type awsCLI struct {
	t        *testing.T
	bin, url string
	base     []string
}

func newAWSCLI(t *testing.T, url string) *awsCLI {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: skipping the cross-check with an independent client")
	}
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{cfg, creds} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			base = append(base, kv)
		}
	}
	base = append(base, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
	return &awsCLI{t: t, bin: bin, url: url, base: base}
}

func (c *awsCLI) run(creds []string, args ...string) ([]byte, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "--endpoint-url", c.url, "--output", "json")...)
	cmd.Env = append(append([]string{}, c.base...), creds...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("aws %s: %v", args[0], err)
	}
	return out.Bytes(), errb.String(), code
}

func (c *awsCLI) json(creds []string, out any, args ...string) {
	c.t.Helper()
	stdout, stderr, code := c.run(creds, args...)
	if code != 0 {
		c.t.Fatalf("aws %s %s failed (%d): %s", args[0], args[1], code, stderr)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		c.t.Fatalf("aws %s %s printed no JSON: %v\n%s", args[0], args[1], err, stdout)
	}
}

type cliCredentials struct {
	AccessKeyId, SecretAccessKey, SessionToken, Expiration string
}

func (c cliCredentials) env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_SESSION_TOKEN=" + c.SessionToken}
}

// TestAWSCLI runs the whole chain with the AWS CLI (botocore), an
// independent implementation of the wire protocols.
func TestAWSCLI(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	cli := newAWSCLI(t, sb.URL())
	idToken := iss.Token(t, "alice@example.com", sb.Env.Now())

	var wi struct {
		Credentials                 cliCredentials
		SubjectFromWebIdentityToken string
		AssumedRoleUser             struct{ Arn, AssumedRoleId string }
		Audience, Provider          string
	}
	cli.json(nil, &wi, "sts", "assume-role-with-web-identity", "--role-arn", ststest.Role(sb, "tip-bridge"),
		"--role-session-name", "cli-bridge", "--web-identity-token", idToken)
	if wi.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/tip-bridge/cli-bridge" || wi.Audience != "tipctl" ||
		!strings.HasPrefix(wi.Credentials.AccessKeyId, "ASIA") || wi.Credentials.Expiration == "" || wi.SubjectFromWebIdentityToken == "" {
		t.Fatalf("assume-role-with-web-identity printed %+v", wi)
	}

	var tok struct {
		AccessToken, TokenType, IdToken, RefreshToken, IssuedTokenType string
		ExpiresIn                                                      int
		Scope                                                          []string
		AwsAdditionalDetails                                           struct{ IdentityContext string }
	}
	appArn := ststest.AppArn(t, sb, appName)
	cli.json(wi.Credentials.env(), &tok, "sso-oidc", "create-token-with-iam", "--client-id", appArn,
		"--grant-type", identitycenter.GrantJWTBearer, "--assertion", idToken)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.AwsAdditionalDetails.IdentityContext == "" || tok.IdToken == "" || len(tok.Scope) == 0 {
		t.Fatalf("create-token-with-iam printed %+v", tok)
	}
	if claims := ststest.DecodeJWT(t, tok.IdToken); claims["sts:identity_context"] != tok.AwsAdditionalDetails.IdentityContext {
		t.Errorf("the id token's sts:identity_context differs from awsAdditionalDetails.identityContext")
	}

	// The same assertion again: botocore decodes the modeled error.
	_, stderr, code := cli.run(wi.Credentials.env(), "sso-oidc", "create-token-with-iam", "--client-id", appArn,
		"--grant-type", identitycenter.GrantJWTBearer, "--assertion", idToken)
	if code == 0 || !strings.Contains(stderr, "InvalidGrantException") {
		t.Errorf("replayed assertion: exit %d, stderr %s", code, stderr)
	}

	contexts, _ := json.Marshal([]map[string]string{{"ProviderArn": auth.IdentityCenterProvider, "ContextAssertion": tok.AwsAdditionalDetails.IdentityContext}})
	var enh struct {
		Credentials     cliCredentials
		AssumedRoleUser struct{ Arn, AssumedRoleId string }
	}
	cli.json(wi.Credentials.env(), &enh, "sts", "assume-role", "--role-arn", ststest.Role(sb, "tip-enhanced"),
		"--role-session-name", "cli-enhanced", "--provided-contexts", string(contexts))
	if enh.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/tip-enhanced/cli-enhanced" {
		t.Fatalf("assume-role printed %+v", enh)
	}
	p, ok := sb.Env.Registry.Resolve(enh.Credentials.AccessKeyId, enh.Credentials.SessionToken)
	if !ok || p.Context == nil || p.Context.UserName != "alice" {
		t.Fatalf("the CLI's enhanced session does not carry alice: %+v", p)
	}

	var who struct{ UserId, Account, Arn string }
	cli.json(enh.Credentials.env(), &who, "sts", "get-caller-identity")
	if who.Arn != enh.AssumedRoleUser.Arn || who.Account != "123456789012" || who.UserId != enh.AssumedRoleUser.AssumedRoleId {
		t.Errorf("get-caller-identity printed %+v", who)
	}

	// The role without sts:SetContext: botocore sees AccessDenied.
	_, stderr, code = cli.run(wi.Credentials.env(), "sts", "assume-role", "--role-arn", ststest.Role(sb, "tip-no-setcontext"),
		"--role-session-name", "cli-nosc", "--provided-contexts", string(contexts))
	if code == 0 || !strings.Contains(stderr, "AccessDenied") || !strings.Contains(stderr, "sts:SetContext") {
		t.Errorf("tip-no-setcontext: exit %d, stderr %s", code, stderr)
	}
}
