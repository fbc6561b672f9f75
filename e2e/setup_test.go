package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// seedSetup is seed 003's Identity Center setup sequence ("Step 2: Create
// the OAuth integration for trusted identity propagation"), as the seed
// writes it, with the sandbox IdP as the issuer and tipctl as the audience.
// One change: the seed's authentication-method.json has a trailing comma
// after "Resource", which the AWS CLI rejects as invalid JSON; it is removed.
// Then an assignment, and the IAM side: the OIDC provider and the bridge and
// enhanced roles, least-privilege and demanding the identity context.
const seedSetup = `set -eu
cd "$WORK"
INSTANCE_ARN=$(aws sso-admin list-instances --output text --query "Instances[*].InstanceArn")
TRUSTED_TOKEN_ISSUER_ARN=$(aws sso-admin create-trusted-token-issuer \
  --name cognito \
  --instance-arn $INSTANCE_ARN \
  --trusted-token-issuer-configuration "OidcJwtConfiguration={IssuerUrl=$ISSUER_URL,ClaimAttributePath=email,IdentityStoreAttributePath=emails.value,JwksRetrievalOption=OPEN_ID_DISCOVERY}" \
  --trusted-token-issuer-type OIDC_JWT\
  --output text \
  --query "TrustedTokenIssuerArn"
  )
OAUTH_APPLICATION_ARN=$(aws sso-admin create-application \
    --instance-arn $INSTANCE_ARN \
    --application-provider-arn "arn:aws:sso::aws:applicationProvider/custom" \
    --name DemoApplication \
    --output text \
    --query "ApplicationArn")
aws sso-admin put-application-assignment-configuration \
    --application-arn $OAUTH_APPLICATION_ARN \
    --no-assignment-required
cat << EOF > grant.json
{
  "JwtBearer": {
    "AuthorizedTokenIssuers": [
      {
        "TrustedTokenIssuerArn": "$TRUSTED_TOKEN_ISSUER_ARN",
        "AuthorizedAudiences": ["$AUDIENCE"]
      }
    ]
  }
}
EOF
aws sso-admin put-application-grant \
    --application-arn $OAUTH_APPLICATION_ARN \
    --grant-type "urn:ietf:params:oauth:grant-type:jwt-bearer" \
    --grant file://grant.json
for scope in qbusiness:messages:access qbusiness:messages:read_write qbusiness:conversations:access qbusiness:conversations:read_write qbusiness:qapps:access; do
    aws sso-admin put-application-access-scope \
        --application-arn $OAUTH_APPLICATION_ARN \
        --scope $scope
done
AWS_ACCOUNTID=$(aws sts get-caller-identity --output text --query "Account")
cat << EOF > authentication-method.json
{
  "Iam": {
    "ActorPolicy": {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": { 
            "AWS": "${AWS_ACCOUNTID}" 
          },
          "Action": "sso-oauth:CreateTokenWithIAM",
          "Resource": "$OAUTH_APPLICATION_ARN"
        }
      ]
    }
  }
}
EOF
aws sso-admin put-application-authentication-method \
  --application-arn $OAUTH_APPLICATION_ARN \
  --authentication-method file://authentication-method.json \
  --authentication-method-type IAM

# An assignment: the emea-sales group.
STORE_ID=$(aws sso-admin list-instances --output text --query "Instances[0].IdentityStoreId")
GROUP_ID=$(aws identitystore get-group-id --identity-store-id $STORE_ID \
  --alternate-identifier '{"UniqueAttribute":{"AttributePath":"displayName","AttributeValue":"emea-sales"}}' --output text --query GroupId)
aws sso-admin create-application-assignment --application-arn $OAUTH_APPLICATION_ARN --principal-id $GROUP_ID --principal-type GROUP

# The IAM side.
HOST_PATH=${ISSUER_URL#http://}
aws iam create-open-id-connect-provider --url $ISSUER_URL --client-id-list $AUDIENCE >/dev/null
cat << EOF > bridge-trust.json
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::${AWS_ACCOUNTID}:oidc-provider/${HOST_PATH}"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"${HOST_PATH}:aud": "$AUDIENCE"}}}]}
EOF
cat << EOF > bridge-policy.json
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "$OAUTH_APPLICATION_ARN"},
  {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetContext"], "Resource": "arn:aws:iam::${AWS_ACCOUNTID}:role/tip-enhanced"}]}
EOF
cat << EOF > enhanced-trust.json
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${AWS_ACCOUNTID}:role/tip-bridge"}, "Action": "sts:AssumeRole"},
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${AWS_ACCOUNTID}:role/tip-bridge"}, "Action": "sts:SetContext",
   "Condition": {"ForAllValues:ArnEquals": {"sts:RequestContextProviders": "arn:aws:iam::aws:contextProvider/IdentityCenter"}}}]}
EOF
cat << EOF > enhanced-policy.json
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["s3:GetDataAccess", "s3:ListCallerAccessGrants"], "Resource": "*",
  "Condition": {"Null": {"identitystore:UserId": "false"}}}]}
EOF
aws iam create-role --role-name tip-bridge --assume-role-policy-document file://bridge-trust.json >/dev/null
aws iam put-role-policy --role-name tip-bridge --policy-name exchange --policy-document file://bridge-policy.json
aws iam create-role --role-name tip-enhanced --assume-role-policy-document file://enhanced-trust.json --max-session-duration 43200 >/dev/null
aws iam put-role-policy --role-name tip-enhanced --policy-name data --policy-document file://enhanced-policy.json
echo "APP=$OAUTH_APPLICATION_ARN"
`

// startSandboxProcess runs `tipctl sandbox` with args and returns its URL.
func startSandboxProcess(t *testing.T, e *env, args ...string) string {
	t.Helper()
	_, u := sandboxProc(t, e, args...)
	return u
}

// TestSeedSetupOnBareSandbox: against `tipctl sandbox --bare`, the seed's
// own AWS CLI commands set up trusted identity propagation; then tipctl
// configure, auth login and get-iam-credentials work for alice.
func TestSeedSetupOnBareSandbox(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs the AWS CLI")
		}
		t.Skip("the AWS CLI is not installed")
	}
	e := newEnv(t)
	url := startSandboxProcess(t, e, "--bare")

	// Before the setup, tipctl cannot even be configured: there is no trust.
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", url); code == 0 {
		t.Fatalf("configure sandbox worked on a bare account: %s", stderr)
	}

	script := exec.Command("bash", "-c", seedSetup)
	script.Env = ststest.CLIEnv(t, "test", "test", "", "AWS_ENDPOINT_URL="+url, "WORK="+t.TempDir(),
		"ISSUER_URL="+url+"/idp", "AUDIENCE=tipctl")
	out, err := script.CombinedOutput()
	if err != nil {
		t.Fatalf("the setup commands failed: %v\n%s", err, out)
	}
	app := ""
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "APP="); ok {
			app = v
		}
	}
	if !strings.HasPrefix(app, "arn:aws:sso::123456789012:application/") {
		t.Fatalf("no application ARN in the setup output:\n%s", out)
	}

	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", url); code != 0 {
		t.Fatalf("configure sandbox: %s", stderr)
	}
	if show, _, _ := e.run(nil, "configure", "show"); !strings.Contains(show, app) {
		t.Fatalf("the profile does not use the application the seed created (%s):\n%s", app, show)
	}
	self, _ := os.Executable()
	lo, stderr, code := e.run([]string{"BROWSER=" + self, "TIPCTL_E2E_BROWSER=1", "TIPCTL_TEST_USER=alice@example.com",
		"TIPCTL_TEST_PASSWORD=alice-sandbox-pw"}, "auth", "login", "--browser")
	if code != 0 || !strings.Contains(lo, "Logged in as alice@example.com") {
		t.Fatalf("login: %d %q %q", code, lo, stderr)
	}
	credsOut, stderr, code := e.run(nil, "auth", "get-iam-credentials", "--debug")
	if code != 0 {
		t.Fatalf("get-iam-credentials: %d %s", code, stderr)
	}
	var creds processCreds
	if err := json.Unmarshal([]byte(credsOut), &creds); err != nil || creds.Version != 1 || creds.SessionToken == "" {
		t.Fatalf("get-iam-credentials printed %q (%v)", credsOut, err)
	}
	who := exec.Command("aws", "sts", "get-caller-identity", "--output", "text", "--query", "Arn")
	who.Env = ststest.CLIEnv(t, creds.AccessKeyId, creds.SecretAccessKey, creds.SessionToken, "AWS_ENDPOINT_URL="+url)
	arn, err := who.CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(arn)), "arn:aws:sts::123456789012:assumed-role/tip-enhanced/") {
		t.Fatalf("aws sts get-caller-identity with alice's credentials: %v %s", err, arn)
	}
}
