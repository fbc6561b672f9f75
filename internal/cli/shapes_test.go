package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// editWorld returns the default world with edit applied to its document.
func editWorld(t *testing.T, edit func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(world.DefaultYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func roleOf(doc map[string]any, name string) map[string]any {
	for _, r := range doc["iam"].(map[string]any)["roles"].([]any) {
		if r := r.(map[string]any); r["name"] == name {
			return r
		}
	}
	return nil
}

// TestNoBridgeRole (seed 003): an existing role, here an application
// server's role reached through a named AWS profile (source_profile +
// role_arn, as on a real machine), calls CreateTokenWithIAM itself; there
// is no bridge role and no AssumeRoleWithWebIdentity.
func TestNoBridgeRole(t *testing.T) {
	const serverRole = "arn:aws:iam::123456789012:role/app-server"
	w := editWorld(t, func(doc map[string]any) {
		iamDoc := doc["iam"].(map[string]any)
		iamDoc["roles"] = append(iamDoc["roles"].([]any), map[string]any{
			"name": "app-server", "max_session_duration": 3600,
			"trust_policy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:user/admin"}, "Action": "sts:AssumeRole"}}},
			"policies": []any{map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"},
				map[string]any{"Effect": "Allow", "Action": []any{"sts:AssumeRole", "sts:SetContext"}, "Resource": "arn:aws:iam::123456789012:role/tip-enhanced"},
			}}},
		})
		enh := roleOf(doc, "tip-enhanced")
		// The server role joins the bridge role in every trust statement:
		// AssumeRole, and SetContext with its provider condition.
		for _, st := range enh["trust_policy"].(map[string]any)["Statement"].([]any) {
			st.(map[string]any)["Principal"] = map[string]any{"AWS": []any{"arn:aws:iam::123456789012:role/tip-bridge", serverRole}}
		}
		app := doc["identity_center"].(map[string]any)["applications"].([]any)[0].(map[string]any)
		ast := app["actor_policy"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
		ast["Principal"] = map[string]any{"AWS": []any{"arn:aws:iam::123456789012:role/tip-bridge", serverRole}}
	})
	sb := ststest.Sandbox(t, w)
	dir := home(t)
	for _, k := range append(credentialVars, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL") {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte("[profile admin-keys]\naws_access_key_id = test\naws_secret_access_key = test\n\n"+
		"[profile app-server]\nrole_arn = "+serverRole+"\nsource_profile = admin-keys\nregion = us-east-1\nendpoint_url = "+sb.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", awsConfig)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "configure", "idp", "--config", `{"bridge_role_arn": "", "exchange_credentials": "profile:app-server"}`); code != 0 {
		t.Fatalf("configure without a bridge role: %s", stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code != 0 {
		t.Fatalf("get-iam-credentials without a bridge role: %d %s", code, stderr)
	}
	var pc processCreds
	_ = json.Unmarshal([]byte(out), &pc)
	p, ok := sb.Env.Registry.Resolve(pc.AccessKeyId, pc.SessionToken)
	if !ok || p.Context == nil || p.Context.UserName != "alice" || !strings.Contains(p.Arn, ":assumed-role/tip-enhanced/") {
		t.Fatalf("session %+v", p)
	}
	if n := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"); n != 0 {
		t.Fatalf("AssumeRoleWithWebIdentity was called %d times without a bridge role", n)
	}
	if sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 1 {
		t.Fatalf("CreateTokenWithIAM not called once")
	}

	// A profile that is not allowed by the actor policy: AWS's reason, in
	// one line.
	if err := os.WriteFile(awsConfig, []byte("[profile admin-keys]\naws_access_key_id = test\naws_secret_access_key = test\nregion = us-east-1\nendpoint_url = "+sb.URL()+"\n\n"+
		"[profile app-server]\nrole_arn = arn:aws:iam::123456789012:role/quicksight-snapshots\nsource_profile = admin-keys\nregion = us-east-1\nendpoint_url = "+sb.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "auth", "get-iam-credentials", "--force-new"); code != ExitAWS || !strings.Contains(stderr, "actor policy") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("disallowed ambient role: %d %q", code, stderr)
	}
	// Both a bridge role and exchange_credentials: refused.
	if _, stderr, code := run(t, "configure", "idp", "--config", `{"bridge_role_arn": "arn:aws:iam::123456789012:role/tip-bridge", "exchange_credentials": "default"}`); code != ExitConfig ||
		!strings.Contains(stderr, "exchange_credentials") {
		t.Fatalf("bridge role and exchange_credentials: %d %q", code, stderr)
	}
}

// TestCredentialProcessCarriesAWSReason (E4): when Identity Center refuses
// the token, the one-line credential_process error carries its reason
// (the OAuth error_description), not only the error code.
func TestCredentialProcessCarriesAWSReason(t *testing.T) {
	w := editWorld(t, func(doc map[string]any) {
		app := doc["identity_center"].(map[string]any)["applications"].([]any)[0].(map[string]any)
		app["jwt_bearer"].([]any)[0].(map[string]any)["audiences"] = []any{"some-other-client"}
	})
	sb := ststest.Sandbox(t, w)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code != ExitAWS || out != "" || !strings.Contains(stderr, "InvalidGrantException: the assertion's audience") ||
		!strings.Contains(stderr, "is not accepted by application") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, stderr)
	}
}
