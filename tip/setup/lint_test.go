package setup

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/world"
)

func codes(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+":"+f.Code)
	}
	return strings.Join(out, ",")
}

const setContextCond = `"Condition":{"ForAllValues:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"},"Null":{"sts:RequestContextProviders":"false"}}`

func TestLint(t *testing.T) {
	const provider = "arn:aws:iam::123456789012:oidc-provider/idp.example.com/oauth2"
	cases := []struct {
		name string
		kind Kind
		doc  string
		want string // comma-separated severity:code, in statement order
	}{
		{"clean identity policy", KindIdentity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","sso-oauth:CreateTokenWithIAM","sts:*"],"Resource":"*"}]}`, ""},
		{"malformed actions", KindIdentity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts AssumeRole","s3:","s3:Get Object"],"Resource":"*"}]}`,
			"error:invalid-policy,error:malformed-action,error:malformed-action,error:malformed-action"},
		{"unknown prefix", KindIdentity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s4:GetObject","Resource":"*"}]}`, "error:unknown-service"},
		{"not JSON", KindAuto, `{"Version":`, "error:invalid-json"},
		{"no version", KindIdentity, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, "warning:version"},
		{"principal in identity policy", KindIdentity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"*"}]}`,
			"error:principal-in-identity-policy"},
		{"missing resource", KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`, "error:missing-resource"},
		{"enhanced trust without SetContext", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"}]}`,
			"error:missing-set-context"},
		{"generic trust without SetContext is a warning", KindTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"}]}`,
			"warning:missing-set-context"},
		{"auto detects trust", KindAuto,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"}]}`,
			"warning:missing-set-context"},
		{"SetContext in another statement", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
			  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext",` + setContextCond + `}]}`, ""},
		{"sts wildcard covers SetContext, from any provider", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:*"}]}`,
			"error:set-context-any-provider"},
		{"SetContext from any provider", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":["sts:AssumeRole","sts:SetContext"]}]}`,
			"error:set-context-any-provider"},
		{"SetContext providers without Null", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
			  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext",
			   "Condition":{"ForAllValues:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"}}}]}`,
			"error:set-context-any-provider"},
		{"SetContext providers with ForAnyValue", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
			  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext",
			   "Condition":{"ForAnyValue:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"},"Null":{"sts:RequestContextProviders":"false"}}}]}`,
			"error:set-context-any-provider"},
		{"SetContext providers wildcard", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
			  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext",
			   "Condition":{"ForAllValues:ArnLike":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/*"},"Null":{"sts:RequestContextProviders":"false"}}}]}`,
			"error:set-context-any-provider"},
		{"enhanced permissions without identity condition", KindEnhanced,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetDataAccess","Resource":"*"},
			  {"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}`, "error:no-identity-condition"},
		{"enhanced permissions with IfExists only", KindEnhanced,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetDataAccess","Resource":"*","Condition":{"StringEqualsIfExists":{"identitystore:UserId":"u-1"}}}]}`,
			"error:no-identity-condition"},
		{"enhanced permissions with identity condition", KindEnhanced,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetDataAccess","Resource":"*","Condition":{"Null":{"identitystore:UserId":"false"}}},
			  {"Effect":"Allow","Action":"s3:ListCallerAccessGrants","Resource":"*","Condition":{"StringEquals":{"identitystore:UserId":"u-1"}}}]}`, ""},
		{"denied SetContext does not count", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
			  {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext"}]}`, "error:missing-set-context"},
		{"enhanced trust trusting nobody", KindEnhancedTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:TagSession"}]}`, "error:no-assume-role"},
		{"web identity without aud", KindBridgeTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`,
			"error:web-identity-no-aud"},
		{"web identity with aud only wildcard", KindBridgeTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity",
			  "Condition":{"StringLike":{"idp.example.com/oauth2:aud":"*"}}}]}`, "error:web-identity-no-aud"},
		{"web identity with aud", KindBridgeTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity",
			  "Condition":{"StringEquals":{"idp.example.com/oauth2:aud":"abc","idp.example.com/oauth2:sub":"x"}}}]}`, ""},
		{"bridge trust without web identity", KindBridgeTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`,
			"error:no-web-identity"},
		{"resource in trust policy", KindTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:SetContext"],"Resource":"*"}]}`,
			"error:resource-in-trust-policy"},
		{"anyone may assume", KindTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","sts:SetContext"]}]}`,
			"error:wildcard-principal"},
		{"actor policy as a resource policy", KindResource,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`, ""},
		{"resource policy without principal", KindResource,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`, "error:missing-principal"},
		{"trust statement without principal", KindTrust,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, "error:missing-principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Lint([]byte(c.doc), c.kind)
			if codes(got) != c.want {
				t.Fatalf("findings %s, want %s\n%v", codes(got), c.want, got)
			}
			for _, f := range got {
				if f.Message == "" {
					t.Fatalf("finding without message: %+v", f)
				}
			}
			if HasErrors(got) != strings.Contains(c.want, "error:") {
				t.Fatalf("HasErrors = %v", HasErrors(got))
			}
		})
	}
}

func TestLintFixes(t *testing.T) {
	fs := Lint([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Typo","Effect":"Allow","Action":"stz:AssumeRole","Resource":"*"}]}`), KindIdentity)
	if len(fs) != 1 || fs[0].Statement != 1 || fs[0].Sid != "Typo" || !strings.Contains(fs[0].Fix, "sts:AssumeRole") {
		t.Fatalf("findings %+v", fs)
	}
	fs = Lint([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/idp.example.com/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`), KindBridgeTrust)
	if len(fs) != 1 || !strings.Contains(fs[0].Fix, `"idp.example.com/x:aud"`) {
		t.Fatalf("findings %+v", fs)
	}
	if s := fs[0].String(); !strings.Contains(s, "Statement[1]") || !strings.Contains(s, CodeWebIdentityNoAud) {
		t.Fatalf("String() = %q", s)
	}
}

// TestLintDefaultWorld lints the sandbox's roles as diag does.
func TestLintDefaultWorld(t *testing.T) {
	w, err := world.Default("http://127.0.0.1:4577")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tip-bridge": "", "tip-enhanced": "", "tip-no-setcontext": "error:missing-set-context",
		"quicksight-snapshots": ""}
	for _, r := range w.IAM.Roles {
		exp, ok := want[r.Name]
		if !ok {
			continue
		}
		kind := KindEnhancedTrust
		if r.Name == "tip-bridge" {
			kind = KindBridgeTrust
		}
		if got := codes(Lint(r.TrustPolicy.JSON, kind)); got != exp {
			t.Errorf("role %s trust: %s, want %q", r.Name, got, exp)
		}
		pkind := KindIdentity
		if r.Name == "tip-enhanced" {
			pkind = KindEnhanced
		}
		for i, p := range r.Policies {
			if fs := Lint(p.JSON, pkind); len(fs) > 0 {
				t.Errorf("role %s policy %d: %v", r.Name, i, fs)
			}
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Fatalf("ParseKind(%s) = %s, %v", k, got, err)
		}
	}
	if k, err := ParseKind(""); err != nil || k != KindAuto {
		t.Fatal("empty kind is not auto")
	}
	if _, err := ParseKind("role"); err == nil {
		t.Fatal("ParseKind(role) succeeded")
	}
	b, _ := json.Marshal(Finding{Severity: SeverityError, Code: "x", Message: "m"})
	if string(b) != `{"severity":"error","code":"x","message":"m"}` {
		t.Fatalf("finding JSON %s", b)
	}
}
