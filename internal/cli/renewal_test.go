package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// renewAs runs `auth get-iam-credentials --force-new` and checks that the
// credentials carry alice.
func renewAs(t *testing.T, sb *sandbox.Sandbox, user string) {
	t.Helper()
	out, stderr, code := run(t, "auth", "get-iam-credentials", "--force-new")
	if code != 0 {
		t.Fatalf("renewal: %d %s", code, stderr)
	}
	var pc processCreds
	_ = json.Unmarshal([]byte(out), &pc)
	p, ok := sb.Env.Registry.Resolve(pc.AccessKeyId, pc.SessionToken)
	if !ok || p.Context == nil || p.Context.UserName != user {
		t.Fatalf("renewed session %+v", p)
	}
}

func wantCalls(t *testing.T, sb *sandbox.Sandbox, when string, want map[string]int64) {
	t.Helper()
	for op, n := range want {
		if got := sb.Env.Stats.Get(op); got != n {
			t.Fatalf("%s: %s called %d times, want %d (all: %v)", when, op, got, n, sb.Env.Stats.Snapshot())
		}
	}
}

// TestRenewalUsesIdentityCenterRefreshToken (D4): after the IdP token is
// exchanged once, renewals use CreateTokenWithIAM's refresh_token grant,
// presented by the cached bridge session: the IdP is not asked and no new
// bridge session is made. Once the bridge session has expired, Identity
// Center refuses the call and the renewal falls back to the IdP path,
// which stores the new reply's refresh token for the next renewal.
func TestRenewalUsesIdentityCenterRefreshToken(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "first exchange", map[string]int64{"sts:AssumeRoleWithWebIdentity": 1, "sso-oauth:CreateTokenWithIAM": 1})

	sb.Env.Stats.Reset()
	for range 3 {
		renewAs(t, sb, "alice")
	}
	wantCalls(t, sb, "renewals with the refresh token", map[string]int64{"idp:token": 0, "sts:AssumeRoleWithWebIdentity": 0,
		"sso-oauth:CreateTokenWithIAM": 3, "sts:AssumeRole": 3})
	if out, _, _ := run(t, "auth", "status"); !strings.Contains(out, "Renewal:      Identity Center refresh token, presented by the bridge session") {
		t.Fatalf("status does not say how the next renewal is made:\n%s", out)
	}

	// The bridge session (15 minutes) expires at AWS: Identity Center
	// refuses its call, and the IdP path runs once. (Once the sandbox
	// clock has moved, the SDK's first try of each signed call is refused
	// as skewed and retried, so signed calls are not counted exactly.)
	sb.Env.Advance(20 * time.Minute)
	sb.Env.Stats.Reset()
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "fallback", map[string]int64{"idp:token": 1, "sts:AssumeRoleWithWebIdentity": 1})
	// and the next renewal uses the new refresh token again.
	sb.Env.Stats.Reset()
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "after the fallback", map[string]int64{"idp:token": 0, "sts:AssumeRoleWithWebIdentity": 0})

	// A new login replaces the renewal: bob's login never renews alice.
	loginAs(t, "bob@example.com", "bob-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	renewAs(t, sb, "bob")
	// Logout wipes it with the rest.
	if _, stderr, code := run(t, "auth", "logout"); code != 0 {
		t.Fatal(stderr)
	}
	if _, _, code := run(t, "auth", "get-iam-credentials", "--force-new"); code != ExitAuth {
		t.Fatalf("after logout: exit %d", code)
	}
}

// TestRenewalFallsBackWhenTheRefreshTokenExpired (D4): a profile without
// a bridge role presents the refresh token with its ambient credentials,
// which do not expire; when Identity Center's refresh token has expired
// (90 days), the renewal falls back to the IdP, whose refresh token lives
// longer in this world.
func TestRenewalFallsBackWhenTheRefreshTokenExpired(t *testing.T) {
	const admin = "arn:aws:iam::123456789012:user/admin"
	w := editWorld(t, func(doc map[string]any) {
		doc["idp"].(map[string]any)["refresh_ttl"] = "2400h"
		enh := roleOf(doc, "tip-enhanced")
		for _, st := range enh["trust_policy"].(map[string]any)["Statement"].([]any) {
			st.(map[string]any)["Principal"] = map[string]any{"AWS": []any{"arn:aws:iam::123456789012:role/tip-bridge", admin}}
		}
		app := doc["identity_center"].(map[string]any)["applications"].([]any)[0].(map[string]any)
		app["actor_policy"].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Principal"] = map[string]any{"AWS": admin}
	})
	sb := ststest.Sandbox(t, w)
	dir := home(t)
	for _, k := range append(credentialVars, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL") {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte("[profile admin-keys]\naws_access_key_id = test\naws_secret_access_key = test\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", awsConfig)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "configure", "idp", "--config", `{"bridge_role_arn": "", "exchange_credentials": "profile:admin-keys"}`); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	renewAs(t, sb, "alice")
	// A day later: the ambient credentials still present the refresh token.
	sb.Env.Advance(24 * time.Hour)
	sb.Env.Stats.Reset()
	renewAs(t, sb, "alice")
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "ambient renewals", map[string]int64{"idp:token": 0, "sts:AssumeRoleWithWebIdentity": 0})

	// 91 days later Identity Center's refresh token has expired: one
	// refused refresh, then the IdP refresh and a jwt-bearer exchange.
	sb.Env.Advance(91 * 24 * time.Hour)
	sb.Env.Stats.Reset()
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "expired refresh token", map[string]int64{"idp:token": 1, "sts:AssumeRoleWithWebIdentity": 0})
	sb.Env.Stats.Reset()
	renewAs(t, sb, "alice")
	wantCalls(t, sb, "after the fallback", map[string]int64{"idp:token": 0})
}
