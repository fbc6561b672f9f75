package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestUnknownSubcommandExitsUsage: a typo fails with exit 2 and the
// closest names, at every level, and never prints on stdout (where
// credential_process would read it).
func TestUnknownSubcommandExitsUsage(t *testing.T) {
	home(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"auth", "logni"}, "did you mean `tipctl auth login`?"},
		{[]string{"auth", "get-iam-credential"}, "did you mean `tipctl auth get-iam-credentials`?"},
		{[]string{"athu", "login"}, "did you mean `tipctl auth`?"},
		{[]string{"configure", "sandbx"}, "did you mean `tipctl configure sandbox`?"},
		{[]string{"s3ag", "nothing-like-it"}, `unknown command "nothing-like-it" for "tipctl s3ag"`},
	}
	for _, c := range cases {
		out, stderr, code := run(t, c.args...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d stdout %q stderr %q", c.args, code, out, stderr)
		}
	}
	// A group alone still shows its help, successfully.
	if out, stderr, code := run(t, "auth"); code != ExitOK || !strings.Contains(out, "get-iam-credentials") {
		t.Errorf("auth alone: exit %d %q %q", code, out, stderr)
	}
}

// TestTipCLIAliases: a tip-cli user switches by changing one word.
func TestTipCLIAliases(t *testing.T) {
	home(t)
	// tip-cli configure --idp okta --config JSON, with tip-cli's own keys.
	_, stderr, code := run(t, "configure", "--idp", "okta", "--config", `{"token_exchange_application_arn": "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		"oidc_role_arn": "arn:aws:iam::123456789012:role/tip-bridge", "id_enhanced_role_arn": "arn:aws:iam::123456789012:role/tip-enhanced",
		"okta_url": "https://dev-123456789.okta.com/oauth2/default", "okta_client_id": "0oEXAMPLE", "region": "eu-west-1"}`)
	if code != ExitOK {
		t.Fatalf("configure --idp: exit %d %s", code, stderr)
	}
	out, _, code := run(t, "configure", "show", "-o", "json")
	if code != ExitOK || !strings.Contains(out, `"issuer": "https://dev-123456789.okta.com/oauth2/default"`) || !strings.Contains(out, `"client_id": "0oEXAMPLE"`) {
		t.Fatalf("profile after configure --idp: %s", out)
	}
	// tip-cli configure generate-cfn-template URL AUD THUMBPRINT.
	out, stderr, code = run(t, "configure", "generate-cfn-template", "https://dev-123456789.okta.com/oauth2/default", "abcdefghij1234567890",
		"55357933a7310d2db90c3fa1ed0970a7bb34ed39")
	if code != ExitOK || !strings.Contains(out, "55357933a7310d2db90c3fa1ed0970a7bb34ed39") || !strings.Contains(out, "abcdefghij1234567890") ||
		!strings.Contains(out, "AWS::IAM::OIDCProvider") {
		t.Fatalf("generate-cfn-template: exit %d %s %s", code, out, stderr)
	}
	// tip-cli auth refresh-token: the same command as auth refresh (which
	// here needs a login first).
	_, stderr, code = run(t, "auth", "refresh-token")
	if code != ExitAuth || !strings.Contains(stderr, "tipctl auth login") {
		t.Fatalf("auth refresh-token: exit %d %s", code, stderr)
	}
}

// TestLoginFlagConflicts: contradicting login flags are a usage error,
// before anything happens.
func TestLoginFlagConflicts(t *testing.T) {
	home(t)
	for _, args := range [][]string{{"auth", "login", "--device", "--browser"}, {"auth", "login", "--no-browser", "--device"}} {
		out, stderr, code := run(t, args...)
		if code != ExitUsage || out != "" || !strings.Contains(stderr, "cannot be used together") {
			t.Errorf("%v: exit %d %q %q", args, code, out, stderr)
		}
	}
}

// TestFlagHelpRenders: a backquoted command in a flag's help is not taken
// for the flag's value name.
func TestFlagHelpRenders(t *testing.T) {
	out, _, code := run(t, "sandbox", "--help")
	if code != ExitOK || !strings.Contains(out, "--world string") || strings.Contains(out, "--world tipctl") ||
		!strings.Contains(out, "'tipctl sandbox world'") {
		t.Fatalf("sandbox --help: exit %d\n%s", code, out)
	}
}

// runAt is run with this machine's clock at now.
func runAt(t *testing.T, now time.Time, args ...string) (string, string, int) {
	t.Helper()
	prev := clock
	clock = func() time.Time { return now }
	defer func() { clock = prev }()
	return run(t, args...)
}

// TestConfigureSandboxKeepsOtherProfiles: `configure sandbox` never
// replaces an Okta profile silently; --force does, after a backup.
func TestConfigureSandboxKeepsOtherProfiles(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	dir := home(t)
	okta := `{"org_url": "https://dev-123456.okta.com", "client_id": "0oaokta", "application_arn": "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		"bridge_role_arn": "arn:aws:iam::123456789012:role/tip-bridge", "enhanced_role_arn": "arn:aws:iam::123456789012:role/tip-enhanced", "region": "eu-west-1"}`
	if _, stderr, code := run(t, "-p", "okta1", "configure", "idp", "--provider", "okta", "--config", okta); code != 0 {
		t.Fatalf("configure idp: %s", stderr)
	}
	before, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "-p", "okta1", "configure", "sandbox", "--endpoint", sb.URL())
	after, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if code != ExitUsage || !strings.Contains(stderr, `profile "okta1" is for provider okta`) || !strings.Contains(stderr, "--force") || string(after) != string(before) {
		t.Fatalf("configure sandbox over okta: exit %d %q, file changed: %v", code, stderr, string(after) != string(before))
	}
	// A sandbox profile of the same name is simply updated.
	if _, stderr, code := run(t, "-p", "sb", "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "-p", "sb", "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("updating a sandbox profile: %s", stderr)
	}
	// --force replaces it and keeps the old file.
	_, stderr, code = run(t, "-p", "okta1", "configure", "sandbox", "--endpoint", sb.URL(), "--force")
	bak, _ := os.ReadFile(filepath.Join(dir, "config.yaml.bak"))
	if code != 0 || !strings.Contains(string(bak), "0oaokta") || !strings.Contains(stderr, "config.yaml.bak") {
		t.Fatalf("--force: exit %d %q backup %q", code, stderr, bak)
	}
	out, _, _ := run(t, "-p", "okta1", "configure", "show", "-o", "json")
	if !strings.Contains(out, `"provider": "sandbox"`) {
		t.Fatalf("after --force: %s", out)
	}
}

// TestGenerateAWSConfigNeverDefault: the default tipctl profile does not
// become [default] in ~/.aws/config unless asked.
func TestGenerateAWSConfigNeverDefault(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := run(t, "generate", "aws-config")
	if code != 0 || strings.Contains(out, "[default]") || !strings.Contains(out, "[profile tipctl]") ||
		!strings.Contains(out, "get-iam-credentials --profile default") {
		t.Fatalf("generate aws-config: %d %q %q", code, out, stderr)
	}
	out, _, code = run(t, "generate", "aws-config", "--aws-profile", "default")
	if code != 0 || !strings.Contains(out, "[default]") {
		t.Fatalf("generate aws-config --aws-profile default: %d %q", code, out)
	}
}

// TestExecHonoursAWSRegion: AWS_REGION / AWS_DEFAULT_REGION win over the
// profile's region, as in the AWS CLI; --region over both.
func TestExecHonoursAWSRegion(t *testing.T) {
	loggedIn(t)
	if env := envOf(t); env["AWS_REGION"] != "us-east-1" {
		t.Fatalf("profile region: %v", env)
	}
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-3")
	if env := envOf(t); env["AWS_REGION"] != "eu-west-3" || env["AWS_DEFAULT_REGION"] != "eu-west-3" {
		t.Fatalf("AWS_DEFAULT_REGION: %v", env)
	}
	t.Setenv("AWS_REGION", "eu-central-1")
	if env := envOf(t); env["AWS_REGION"] != "eu-central-1" || env["AWS_DEFAULT_REGION"] != "eu-central-1" {
		t.Fatalf("AWS_REGION: %v", env)
	}
	if env := envOf(t, "--region", "ap-south-1"); env["AWS_REGION"] != "ap-south-1" {
		t.Fatalf("--region: %v", env)
	}
	out, stderr, code := run(t, "serve", "--exec", "printf '%s' \"$AWS_REGION\"")
	if code != 0 || out != "eu-central-1" {
		t.Fatalf("serve --exec region: %d %q %q", code, out, stderr)
	}
}

// TestOneDurationFlag: --duration on every credential command sets the
// lifetime of what it mints; out-of-range values are usage errors.
func TestOneDurationFlag(t *testing.T) {
	loggedIn(t)
	lifetime := func(out string) time.Duration {
		var pc processCreds
		if err := json.Unmarshal([]byte(out), &pc); err != nil {
			t.Fatalf("credential_process output %q: %v", out, err)
		}
		exp, err := time.Parse(time.RFC3339, pc.Expiration)
		if err != nil {
			t.Fatal(err)
		}
		return time.Until(exp)
	}
	// The identity-enhanced session is a chained role session: at most 1h.
	out, stderr, code := run(t, "auth", "get-iam-credentials", "--duration", "20m", "--force-new")
	if code != 0 || lifetime(out) < 15*time.Minute || lifetime(out) > 21*time.Minute {
		t.Fatalf("get-iam-credentials --duration 20m: %d %q %q", code, out, stderr)
	}
	out, stderr, code = run(t, "exec", "--env", "--duration", "45m", "--", "sh", "-c", `printf '%s' "$AWS_CREDENTIAL_EXPIRATION"`)
	exp, err := time.Parse(time.RFC3339, strings.TrimSpace(out))
	if code != 0 || err != nil || time.Until(exp) < 40*time.Minute || time.Until(exp) > 46*time.Minute {
		t.Fatalf("exec --duration 45m: %d %q %q", code, out, stderr)
	}
	// AWS's own limit comes back as its reason, in one line.
	if _, stderr, code := run(t, "auth", "get-iam-credentials", "--duration", "2h", "--force-new"); code != ExitAWS || !strings.Contains(stderr, "1 hour") {
		t.Fatalf("--duration 2h: %d %q", code, stderr)
	}
	out, stderr, code = run(t, "s3ag", "get-data-access", "s3://analytics-data/emea/", "--duration", "20m")
	if code != 0 || lifetime(out) > 21*time.Minute || lifetime(out) < 15*time.Minute {
		t.Fatalf("s3ag --duration 20m: %d %q %q", code, out, stderr)
	}
	for _, args := range [][]string{{"auth", "get-iam-credentials", "--duration", "5m"}, {"exec", "--duration", "13h", "--", "true"},
		{"s3ag", "get-data-access", "s3://analytics-data/emea/", "--duration", "1500ms"}} {
		if out, stderr, code := run(t, args...); code != ExitUsage || out != "" || !strings.Contains(stderr, "--duration") {
			t.Errorf("%v: %d %q %q", args, code, out, stderr)
		}
	}
}
