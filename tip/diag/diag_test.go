package diag_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/diag"
)

func TestAlicePassesEveryCheck(t *testing.T) {
	sb := start(t)
	tok := login(t, sb, "alice@example.com", "alice-sandbox-pw")
	rep := run(t, input(sb, tok))
	for _, c := range rep.Checks {
		if c.Status != diag.Pass {
			t.Fatalf("check %s is %s, want PASS\n%s", c.ID, c.Status, dump(rep))
		}
		if c.Fix != "" || c.Message == "" {
			t.Fatalf("check %s: message %q fix %q", c.ID, c.Message, c.Fix)
		}
	}
	s := rep.Summary
	if !s.OK || s.Pass != len(diag.CheckIDs()) || s.Fail+s.Warn+s.Skip != 0 || !s.TokenConsumed || s.FirstFailure != "" {
		t.Fatalf("summary %+v", s)
	}
	if m := rep.Find("idc.assignment").Message; !strings.Contains(m, "emea-sales") {
		t.Fatalf("assignment message %q does not name the group", m)
	}
	if m := rep.Find("e2e.create_token").Message; !strings.Contains(m, "accepts each assertion once") {
		t.Fatalf("create_token message %q does not say the token is used", m)
	}
	// Diag read with the administrator APIs, each through its real protocol.
	for _, op := range []string{"sso:DescribeApplication", "sso:DescribeInstance", "sso:ListApplicationGrants", "sso:DescribeTrustedTokenIssuer",
		"sso:GetApplicationAssignmentConfiguration", "sso:ListApplicationAssignments", "sso:ListApplicationAccessScopes",
		"sso:GetApplicationAuthenticationMethod", "identitystore:GetUserId", "identitystore:DescribeUser",
		"identitystore:ListGroupMembershipsForMember", "iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider", "iam:GetRole",
		"sts:AssumeRoleWithWebIdentity", "sso-oauth:CreateTokenWithIAM", "sts:AssumeRole", "idp:jwks"} {
		if sb.Env.Stats.Get(op) == 0 {
			t.Errorf("diag never called %s", op)
		}
	}
	// The dry run was real: the token is spent, as the message says.
	br, err := sts.NewFromConfig(awsConfig(sb, "x", "x")).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleArn(sb, "tip-bridge")), RoleSessionName: aws.String("again"), WebIdentityToken: aws.String(tok),
	}, func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
	if err != nil {
		t.Fatal(err)
	}
	c := br.Credentials
	_, err = ssooidc.NewFromConfig(awsConfig(sb, "x", "x")).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(appArn(sb)), GrantType: aws.String(diag.GrantJWTBearer), Assertion: aws.String(tok),
	}, func(o *ssooidc.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidGrantException" {
		t.Fatalf("reusing the diagnosed token: %v", err)
	}
}

func TestListValuedAudience(t *testing.T) {
	sb := start(t)
	rep := run(t, input(sb, mint(t, sb, "alice@example.com", map[string]any{"aud": []string{"some-api", "tipctl"}})))
	if !rep.Summary.OK || rep.Summary.Pass != len(diag.CheckIDs()) {
		t.Fatalf("list-valued aud:\n%s", dump(rep))
	}
}

// broken is a world or token that breaks the chain in one place.
type broken struct {
	name  string
	edits [][2]string
	token func(t *testing.T, env brokenEnv) string
	// check must FAIL, with a fix containing every string of fix (after
	// ${app}, ${tti}, ${store}, ${iss}, ${user:NAME} expansion).
	check string
	fix   []string
	// e2e is the dry-run step that must fail too ("" when none runs).
	e2e string
}

type brokenEnv struct {
	alice, bob, dave func() string
	mint             func(email string, over map[string]any) string
}

func TestBrokenWorlds(t *testing.T) {
	cases := []broken{
		{
			name:  "wrong audience",
			edits: [][2]string{{"          audiences: [tipctl]\n", "          audiences: [reporting-portal]\n"}},
			check: "idc.grant.audience", fix: []string{"put-application-grant", "${app}", "${tti}", `"reporting-portal","tipctl"`},
			e2e: "e2e.create_token",
		},
		{
			name:  "missing grant",
			edits: [][2]string{{"      jwt_bearer:\n        - trusted_token_issuer: sandbox-idp\n          audiences: [tipctl]\n", "      jwt_bearer: []\n"}},
			check: "idc.grant.issuer", fix: []string{"put-application-grant", "${app}", "${tti}", "urn:ietf:params:oauth:grant-type:jwt-bearer", `"AuthorizedAudiences":["tipctl"]`},
			e2e: "e2e.create_token",
		},
		{
			name:  "dave is not in Identity Center",
			token: func(t *testing.T, e brokenEnv) string { return e.dave() },
			check: "idc.user.mapping", fix: []string{"create-user", "${store}", "dave@example.com"},
			e2e: "e2e.create_token",
		},
		{
			name:  "unassigned user",
			edits: [][2]string{{"        - principal_type: GROUP\n          principal: apac-sales\n", ""}},
			token: func(t *testing.T, e brokenEnv) string { return e.bob() },
			check: "idc.assignment", fix: []string{"create-application-assignment", "${app}", "${user:bob}"},
			e2e: "e2e.create_token",
		},
		{
			name:  "disabled application",
			edits: [][2]string{{"    - name: tipctl-sandbox-app\n      status: ENABLED\n", "    - name: tipctl-sandbox-app\n      status: DISABLED\n"}},
			check: "idc.application", fix: []string{"update-application", "${app}", "--status ENABLED"},
			e2e: "e2e.create_token",
		},
		{
			name:  "no sts:SetContext",
			edits: [][2]string{{enhancedSetContext, ""}},
			check: "iam.enhanced.trust", fix: []string{"update-assume-role-policy", "--role-name tip-enhanced", `"sts:SetContext"`, "role/tip-bridge",
				`"ForAllValues:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"}`},
			e2e: "e2e.assume_role",
		},
		{
			// The attack of issue 11 A5 needs no broken chain: diag
			// reports the open SetContext as a security failure.
			name:  "sts:SetContext from any provider",
			edits: [][2]string{{enhancedSetContext, strings.SplitAfter(enhancedSetContext, "Action: sts:SetContext\n")[0]}},
			check: "iam.enhanced.trust", fix: []string{"update-assume-role-policy", "--role-name tip-enhanced", `"Action":"sts:SetContext"`,
				`"ForAllValues:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"}`, `"Null":{"sts:RequestContextProviders":"false"}`},
		},
		{
			// tip-enhanced's rights as they were before issue 11 A5.
			name: "enhanced permissions without a person",
			edits: [][2]string{{"              Resource: \"*\"\n              Condition:\n                \"Null\":\n                  identitystore:UserId: \"false\"\n",
				"              Resource: \"*\"\n"}},
			check: "iam.enhanced.permissions", fix: []string{`add "Condition": {"Null": {"identitystore:UserId": "false"}}`, "put-role-policy --role-name tip-enhanced"},
		},
		{
			name:  "missing OIDC provider",
			edits: [][2]string{{"  oidc_providers:\n    - url: ${endpoint}/idp\n      client_ids: [tipctl]\n", "  oidc_providers: []\n"}},
			check: "iam.oidc_provider", fix: []string{"create-open-id-connect-provider", "--url ${iss}", "--client-id-list tipctl", "tipctl generate cfn-template"},
			e2e: "e2e.assume_web_identity",
		},
		{
			name: "expired token",
			token: func(t *testing.T, e brokenEnv) string {
				return e.mint("alice@example.com", map[string]any{"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
			},
			check: "token.expiry", fix: []string{"log in again"},
			e2e: "e2e.assume_web_identity",
		},
		{
			name: "bad signature",
			token: func(t *testing.T, e brokenEnv) string {
				tok := e.alice()
				i := strings.LastIndex(tok, ".") + 10
				c := byte('A')
				if tok[i] == 'A' {
					c = 'B'
				}
				return tok[:i] + string(c) + tok[i+1:]
			},
			check: "token.signature", fix: []string{"fresh token"},
			e2e: "e2e.assume_web_identity",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := start(t, c.edits...)
			env := brokenEnv{
				alice: func() string { return login(t, sb, "alice@example.com", "alice-sandbox-pw") },
				bob:   func() string { return login(t, sb, "bob@example.com", "bob-sandbox-pw") },
				dave:  func() string { return login(t, sb, "dave@example.com", "dave-sandbox-pw") },
				mint:  func(email string, over map[string]any) string { return mint(t, sb, email, over) },
			}
			tokFn := c.token
			if tokFn == nil {
				tokFn = func(t *testing.T, e brokenEnv) string { return e.alice() }
			}
			rep := run(t, input(sb, tokFn(t, env)))
			got := rep.Find(c.check)
			if got == nil || got.Status != diag.Fail {
				t.Fatalf("check %s is not FAIL\n%s", c.check, dump(rep))
			}
			ic := sb.Env.World.IdentityCenter
			expand := strings.NewReplacer("${app}", appArn(sb), "${tti}", ic.TrustedTokenIssuers[0].Arn, "${store}", ic.IdentityStoreID,
				"${iss}", sb.URL()+"/idp", "${user:bob}", ic.Users[1].UserID)
			for _, want := range c.fix {
				if w := expand.Replace(want); !strings.Contains(got.Fix, w) {
					t.Errorf("fix of %s does not contain %q:\n%s", c.check, w, got.Fix)
				}
			}
			if got.Message == "" {
				t.Error("empty message")
			}
			if rep.Summary.OK || rep.Summary.Fail == 0 {
				t.Errorf("summary %+v", rep.Summary)
			}
			if c.e2e != "" {
				if e := rep.Find(c.e2e); e == nil || e.Status != diag.Fail {
					t.Errorf("dry-run step %s did not fail:\n%s", c.e2e, dump(rep))
				}
			}
			// Checks before the broken one that do not depend on it still pass.
			if s := rep.Find("token.structure"); s.Status != diag.Pass {
				t.Errorf("token.structure: %s %s", s.Status, s.Message)
			}
			if t.Failed() {
				t.Log(dump(rep))
			}
		})
	}
}

func TestRestrictedAdminSkipsNamingTheAction(t *testing.T) {
	auditor := `    - name: auditor
      access_keys:
        - id: AKIAAUDITOR
          secret: auditor-secret
      policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: ["sso:Describe*", "sso:GetApplication*", "sso:ListApplicationA*", "sso:ListTrustedTokenIssuers", "identitystore:*", "iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider"]
              Resource: "*"
`
	sb := start(t, [2]string{"iam:\n  users:\n", "iam:\n  users:\n" + auditor})
	in := input(sb, login(t, sb, "alice@example.com", "alice-sandbox-pw"))
	in.AWS = awsConfig(sb, "AKIAAUDITOR", "auditor-secret")
	rep := run(t, in)
	for id, action := range map[string]string{"idc.grant.issuer": "sso:ListApplicationGrants", "iam.bridge.trust": "iam:GetRole", "iam.enhanced.trust": "iam:GetRole"} {
		r := rep.Find(id)
		if r.Status != diag.Skip || !strings.Contains(r.Message, action) || !strings.Contains(r.Fix, action) {
			t.Errorf("%s: %s %q fix %q, want a SKIP naming %s", id, r.Status, r.Message, r.Fix, action)
		}
	}
	// What the auditor may read still passes, and so does the dry run,
	// which never uses the administrator credentials.
	for _, id := range []string{"idc.application", "idc.scopes", "idc.actor_policy", "iam.oidc_provider", "e2e.assume_role"} {
		if r := rep.Find(id); r.Status != diag.Pass {
			t.Errorf("%s: %s %s", id, r.Status, r.Message)
		}
	}
	if !rep.Summary.OK || rep.Summary.Skip < 3 {
		t.Fatalf("summary %+v\n%s", rep.Summary, dump(rep))
	}
}

func TestSkipE2EKeepsTheTokenUnused(t *testing.T) {
	sb := start(t)
	tok := login(t, sb, "alice@example.com", "alice-sandbox-pw")
	in := input(sb, tok)
	in.SkipE2E = true
	rep := run(t, in)
	if rep.Summary.TokenConsumed || !rep.Summary.OK || rep.Summary.Skip != 3 {
		t.Fatalf("summary %+v\n%s", rep.Summary, dump(rep))
	}
	if sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 0 {
		t.Fatal("the token was exchanged")
	}
	// The token still works for a real run.
	if rep := run(t, input(sb, tok)); !rep.Summary.OK {
		t.Fatalf("second run:\n%s", dump(rep))
	}
}

func TestTokenStructureFailures(t *testing.T) {
	sb := start(t)
	hs := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + strings.Split(mint(t, sb, "alice@example.com", nil), ".")[1] + ".c2ln"
	for name, c := range map[string]struct{ token, want string }{
		"empty":       {"", "no IdP token"},
		"not a JWT":   {"not-a-jwt", "not a JWT"},
		"JWE":         {"a.b.c.d.e", "encrypted"},
		"bad header":  {"!!!.e30.c2ln", "header"},
		"HS256":       {hs, "asymmetric"},
		"missing sub": {mint(t, sb, "alice@example.com", map[string]any{"sub": nil}), "sub"},
	} {
		t.Run(name, func(t *testing.T) {
			rep := run(t, input(sb, c.token))
			r := rep.Find("token.structure")
			if r.Status != diag.Fail || !strings.Contains(r.Message, c.want) || r.Fix == "" {
				t.Fatalf("token.structure: %s %q (fix %q), want FAIL mentioning %q", r.Status, r.Message, r.Fix, c.want)
			}
		})
	}
	// An unparseable token stops the checks that need it, without any AWS call.
	sb.Env.Stats.Reset()
	rep := run(t, input(sb, "garbage"))
	for _, id := range []string{"token.expiry", "token.signature", "idc.grant.issuer", "iam.oidc_provider", "e2e.assume_web_identity"} {
		if r := rep.Find(id); r.Status != diag.Skip || !strings.Contains(r.Fix, "token.structure") {
			t.Errorf("%s: %s %q", id, r.Status, r.Fix)
		}
	}
	if n := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"); n != 0 {
		t.Fatalf("dry run ran on garbage (%d calls)", n)
	}
}

func TestWrongIssuerAndMissingInputs(t *testing.T) {
	sb := start(t)
	// A token from an issuer nobody trusts: discovery is unreachable and
	// neither Identity Center nor IAM trust it.
	tok := mint(t, sb, "alice@example.com", map[string]any{"iss": "https://127.0.0.1:1/other"})
	rep := run(t, input(sb, tok))
	for _, id := range []string{"token.discovery", "idc.grant.issuer", "iam.oidc_provider"} {
		if r := rep.Find(id); r.Status != diag.Fail {
			t.Errorf("%s: %s %s", id, r.Status, r.Message)
		}
	}
	if r := rep.Find("idc.grant.issuer"); !strings.Contains(r.Fix, "create-trusted-token-issuer") {
		t.Errorf("grant fix %q", r.Fix)
	}

	in := input(sb, mint(t, sb, "alice@example.com", nil))
	in.ApplicationArn, in.BridgeRoleArn, in.EnhancedRoleArn = "", "", ""
	rep = run(t, in)
	for _, id := range []string{"idc.application", "iam.bridge.trust", "iam.enhanced.trust", "e2e.create_token"} {
		if r := rep.Find(id); r.Status != diag.Skip || r.Fix == "" {
			t.Errorf("%s: %s fix %q", id, r.Status, r.Fix)
		}
	}
	in = input(sb, mint(t, sb, "alice@example.com", nil))
	in.ApplicationArn = strings.Replace(appArn(sb), "/apl-", "/apl-0", 1)[:len(appArn(sb))]
	rep = run(t, in)
	if r := rep.Find("idc.application"); r.Status != diag.Fail || !strings.Contains(r.Message, in.ApplicationArn) {
		t.Fatalf("unknown application: %s %s", r.Status, r.Message)
	}
	in = input(sb, mint(t, sb, "alice@example.com", nil))
	in.EnhancedRoleArn = roleArn(sb, "tip-no-setcontext")
	rep = run(t, in)
	if r := rep.Find("iam.enhanced.trust"); r.Status != diag.Fail || !strings.Contains(r.Fix, "--role-name tip-no-setcontext") {
		t.Fatalf("tip-no-setcontext: %s %s", r.Status, r.Fix)
	}
}

func TestReportJSONShape(t *testing.T) {
	sb := start(t)
	in := input(sb, "x.y")
	in.SkipE2E = true
	b, err := json.Marshal(run(t, in))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Checks  []map[string]any `json:"checks"`
		Summary map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Checks {
		for _, k := range []string{"id", "status", "message", "fix"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("check %v lacks %s", c, k)
			}
		}
	}
	for _, k := range []string{"total", "pass", "warn", "fail", "skip", "ok", "token_consumed"} {
		if _, ok := doc.Summary[k]; !ok {
			t.Fatalf("summary lacks %s: %s", k, b)
		}
	}
}

// BenchmarkDiagnose measures a full diagnosis without the dry run (which
// needs a fresh token per run) against an in-process sandbox.
func BenchmarkDiagnose(b *testing.B) {
	sb := start(b)
	in := input(sb, mint(b, sb, "alice@example.com", nil))
	in.SkipE2E = true
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rep := diag.Run(context.Background(), in); !rep.Summary.OK {
			b.Fatalf("%+v", rep.Summary)
		}
	}
}

// enhancedSetContext is the sts:SetContext statement of tip-enhanced's
// trust in the default world.
const enhancedSetContext = `          # Only an Identity Center context may be set on the role.
          - Effect: Allow
            Principal:
              AWS: arn:aws:iam::123456789012:role/tip-bridge
            Action: sts:SetContext
            Condition:
              ForAllValues:ArnEquals:
                sts:RequestContextProviders: arn:aws:iam::aws:contextProvider/IdentityCenter
              "Null":
                sts:RequestContextProviders: "false"
`
