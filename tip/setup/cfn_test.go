package setup

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// parse renders o in format and decodes it back into generic values.
func parse(t *testing.T, o TemplateOptions, format string) map[string]any {
	t.Helper()
	b, err := RenderTemplate(o, format)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	switch format {
	case FormatJSON:
		if !json.Valid(b) {
			t.Fatalf("invalid JSON:\n%s", b)
		}
		err = json.Unmarshal(b, &m)
	default:
		err = yaml.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", format, err, b)
	}
	return m
}

// at walks a decoded document by keys and list indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not a mapping", path, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("at %v: no key %q in %v", path, k, keys(m))
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: %v has no element %d", path, v, k)
			}
			v = l[k]
		}
	}
	return v
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func strList(t *testing.T, v any) []string {
	t.Helper()
	switch l := v.(type) {
	case string:
		return []string{l}
	case []any:
		var out []string
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				t.Fatalf("%v is not a list of strings", v)
			}
			out = append(out, s)
		}
		return out
	}
	t.Fatalf("%v (%T) is not a string list", v, v)
	return nil
}

func TestTemplateStructure(t *testing.T) {
	o := TemplateOptions{Issuer: "https://dev-123456789.okta.com/oauth2/default", Audience: "0oa1example",
		Thumbprint: "55357933A7310D2DB90C3FA1ED0970A7BB34ED39", SubjectClaim: "00u1abc",
		Services: []string{"quicksight", "s3ag", "athena", "redshift-data", "qbusiness", "s3ag"}}
	for _, format := range []string{FormatYAML, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			m := parse(t, o, format)
			if v := at(t, m, "AWSTemplateFormatVersion"); v != "2010-09-09" {
				t.Fatalf("AWSTemplateFormatVersion = %#v", v)
			}
			params := at(t, m, "Parameters").(map[string]any)
			for _, p := range []string{"Audience", "IdentityCenterApplicationArn", "BridgeRoleName", "EnhancedRoleName", "EnhancedSessionSeconds"} {
				if _, ok := params[p]; !ok {
					t.Fatalf("no parameter %s", p)
				}
			}
			if at(t, m, "Parameters", "Audience", "Default") != "0oa1example" {
				t.Fatal("Audience default")
			}
			res := at(t, m, "Resources").(map[string]any)
			if len(res) != 3 {
				t.Fatalf("resources %v", keys(res))
			}
			if at(t, res, "OIDCProvider", "Type") != "AWS::IAM::OIDCProvider" ||
				at(t, res, "OIDCProvider", "Properties", "Url") != o.Issuer ||
				at(t, res, "OIDCProvider", "Properties", "ClientIdList", 0, "Ref") != "Audience" ||
				at(t, res, "OIDCProvider", "Properties", "ThumbprintList", 0) != "55357933a7310d2db90c3fa1ed0970a7bb34ed39" {
				t.Fatalf("OIDC provider %v", res["OIDCProvider"])
			}

			bt := at(t, res, "BridgeRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0)
			if at(t, bt, "Principal", "Federated", "Ref") != "OIDCProvider" || at(t, bt, "Action") != "sts:AssumeRoleWithWebIdentity" {
				t.Fatalf("bridge trust %v", bt)
			}
			cond := at(t, bt, "Condition", "StringEquals").(map[string]any)
			if at(t, cond, "dev-123456789.okta.com/oauth2/default:aud", "Ref") != "Audience" || cond["dev-123456789.okta.com/oauth2/default:sub"] != "00u1abc" {
				t.Fatalf("bridge condition %v", cond)
			}
			bp := at(t, res, "BridgeRole", "Properties", "Policies", 0, "PolicyDocument", "Statement")
			if strings.Join(strList(t, at(t, bp, 0, "Action")), ",") != "sso-oauth:CreateTokenWithIAM" ||
				at(t, bp, 0, "Resource", "Ref") != "IdentityCenterApplicationArn" ||
				strings.Join(strList(t, at(t, bp, 1, "Action")), ",") != "sts:AssumeRole,sts:SetContext" ||
				!strings.Contains(at(t, bp, 1, "Resource", "Fn::Sub").(string), ":role/${EnhancedRoleName}") {
				t.Fatalf("bridge policy %v", bp)
			}

			et := at(t, res, "EnhancedRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0)
			if strings.Join(strList(t, at(t, et, "Principal", "AWS", "Fn::GetAtt")), ".") != "BridgeRole.Arn" ||
				at(t, et, "Action") != "sts:AssumeRole" || et.(map[string]any)["Condition"] != nil {
				t.Fatalf("enhanced trust %v", et)
			}
			// sts:SetContext only with an Identity Center context.
			sc := at(t, res, "EnhancedRole", "Properties", "AssumeRolePolicyDocument", "Statement", 1)
			if strings.Join(strList(t, at(t, sc, "Principal", "AWS", "Fn::GetAtt")), ".") != "BridgeRole.Arn" ||
				at(t, sc, "Action") != "sts:SetContext" ||
				at(t, sc, "Condition", "ForAllValues:ArnEquals", "sts:RequestContextProviders") != "arn:aws:iam::aws:contextProvider/IdentityCenter" ||
				at(t, sc, "Condition", "Null", "sts:RequestContextProviders") != "false" {
				t.Fatalf("enhanced trust SetContext %v", sc)
			}
			pols := at(t, res, "EnhancedRole", "Properties", "Policies").([]any)
			var names []string
			for i := range pols {
				names = append(names, at(t, pols, i, "PolicyName").(string))
				// Every permission needs a person in the session.
				for j := range at(t, pols, i, "PolicyDocument", "Statement").([]any) {
					if at(t, pols, i, "PolicyDocument", "Statement", j, "Condition", "Null", "identitystore:UserId") != "false" {
						t.Fatalf("policy %d statement %d has no identity condition", i, j)
					}
				}
			}
			if strings.Join(names, ",") != "tip-athena,tip-redshift-data,tip-s3ag,tip-quicksight,tip-qbusiness" {
				t.Fatalf("enhanced policies %v", names)
			}
			out := at(t, m, "Outputs").(map[string]any)
			if at(t, out, "OIDCProviderArn", "Value", "Ref") != "OIDCProvider" ||
				strings.Join(strList(t, at(t, out, "BridgeRoleArn", "Value", "Fn::GetAtt")), ".") != "BridgeRole.Arn" ||
				strings.Join(strList(t, at(t, out, "EnhancedRoleArn", "Value", "Fn::GetAtt")), ".") != "EnhancedRole.Arn" {
				t.Fatalf("outputs %v", out)
			}
			// The actor policy output is JSON once ${BridgeRole.Arn} is substituted.
			actor := strings.ReplaceAll(at(t, out, "IdentityCenterActorPolicy", "Value", "Fn::Sub").(string), "${BridgeRole.Arn}", "arn:aws:iam::1:role/b")
			if fs := Lint([]byte(actor), KindResource); len(fs) > 0 {
				t.Fatalf("actor policy %s: %v", actor, fs)
			}
		})
	}
}

// TestTemplatePoliciesLintClean lints every generated policy (with the
// intrinsic functions replaced by plausible values).
func TestTemplatePoliciesLintClean(t *testing.T) {
	tpl, err := Template(TemplateOptions{Issuer: "https://idp.example.com", Audience: "aud", Services: TemplateServices()})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tpl)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	resolve := func(v any) []byte {
		b, _ := json.Marshal(v)
		s := string(b)
		for _, r := range []struct{ from, to string }{
			{`{"Ref":"OIDCProvider"}`, `"arn:aws:iam::123456789012:oidc-provider/idp.example.com"`},
			{`{"Ref":"Audience"}`, `"aud"`}, {`{"Ref":"IdentityCenterApplicationArn"}`, `"*"`},
			{`{"Fn::GetAtt":["BridgeRole","Arn"]}`, `"arn:aws:iam::123456789012:role/tip-bridge"`},
		} {
			s = strings.ReplaceAll(s, r.from, r.to)
		}
		for strings.Contains(s, `{"Fn::Sub":"`) {
			i := strings.Index(s, `{"Fn::Sub":"`)
			j := strings.Index(s[i:], `"}`) + i
			s = s[:i] + `"` + s[i+len(`{"Fn::Sub":"`):j] + `"` + s[j+2:]
		}
		return []byte(s)
	}
	res := at(t, m, "Resources")
	check := func(name string, doc any, kind Kind) {
		if fs := Lint(resolve(doc), kind); len(fs) > 0 {
			t.Errorf("%s: %v\n%s", name, fs, resolve(doc))
		}
	}
	check("bridge trust", at(t, res, "BridgeRole", "Properties", "AssumeRolePolicyDocument"), KindBridgeTrust)
	check("enhanced trust", at(t, res, "EnhancedRole", "Properties", "AssumeRolePolicyDocument"), KindEnhancedTrust)
	check("bridge policy", at(t, res, "BridgeRole", "Properties", "Policies", 0, "PolicyDocument"), KindIdentity)
	for i := range at(t, res, "EnhancedRole", "Properties", "Policies").([]any) {
		check("enhanced policy", at(t, res, "EnhancedRole", "Properties", "Policies", i, "PolicyDocument"), KindEnhanced)
	}
}

func TestTemplateEscaping(t *testing.T) {
	o := TemplateOptions{
		Issuer:       `https://idp.example.com/tenants/a"b'c: {d} & *e`,
		Audience:     `client "x": y # z \ ${AWS::Region} & <tag>`,
		SubjectClaim: `sub: "quoted" - [list] {map} *alias &anchor !tag`,
	}
	for _, format := range []string{FormatYAML, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			m := parse(t, o, format)
			if got := at(t, m, "Resources", "OIDCProvider", "Properties", "Url"); got != o.Issuer {
				t.Fatalf("issuer round trip %q", got)
			}
			if got := at(t, m, "Parameters", "Audience", "Default"); got != o.Audience {
				t.Fatalf("audience round trip %q", got)
			}
			cond := at(t, m, "Resources", "BridgeRole", "Properties", "AssumeRolePolicyDocument", "Statement", 0, "Condition", "StringEquals").(map[string]any)
			hp := `idp.example.com/tenants/a"b'c: {d} & *e`
			if _, ok := cond[hp+":aud"]; !ok || cond[hp+":sub"] != o.SubjectClaim {
				t.Fatalf("condition keys %v", keys(cond))
			}
			if got := at(t, m, "Metadata", "tipctl", "Audience"); got != o.Audience {
				t.Fatalf("metadata audience %q", got)
			}
			// No user value ever lands inside an Fn::Sub string.
			b, _ := json.Marshal(m)
			for _, part := range strings.Split(string(b), `"Fn::Sub":`)[1:] {
				if strings.Contains(part[:strings.Index(part, "}")], "AWS::Region} &") {
					t.Fatalf("user value inside Fn::Sub: %s", part)
				}
			}
		})
	}
}

func TestTemplateValidation(t *testing.T) {
	good := TemplateOptions{Issuer: "https://idp.example.com", Audience: "aud"}
	for _, c := range []struct {
		option string
		mod    func(*TemplateOptions)
	}{
		{"issuer", func(o *TemplateOptions) { o.Issuer = "" }},
		{"issuer", func(o *TemplateOptions) { o.Issuer = "http://idp.example.com" }},
		{"issuer", func(o *TemplateOptions) { o.Issuer = "https://idp.example.com/?x=1" }},
		{"issuer", func(o *TemplateOptions) { o.Issuer = "https://idp.example.com/\nx" }},
		{"issuer", func(o *TemplateOptions) { o.Issuer = "idp.example.com" }},
		{"audience", func(o *TemplateOptions) { o.Audience = "" }},
		{"audience", func(o *TemplateOptions) { o.Audience = "a\x00b" }},
		{"thumbprint", func(o *TemplateOptions) { o.Thumbprint = "abc" }},
		{"thumbprint", func(o *TemplateOptions) { o.Thumbprint = strings.Repeat("g", 40) }},
		{"services", func(o *TemplateOptions) { o.Services = []string{"athena", "ec2"} }},
		{"bridge-role-name", func(o *TemplateOptions) { o.BridgeRoleName = "bad name" }},
	} {
		o := good
		c.mod(&o)
		_, err := RenderTemplate(o, FormatYAML)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%+v: err %v, want an error about %s", o, err, c.option)
		}
	}
	if _, err := RenderTemplate(good, "xml"); err == nil {
		t.Fatal("format xml accepted")
	}
	// No thumbprint, no services: ThumbprintList and Policies are left out.
	m := parse(t, good, FormatYAML)
	if _, ok := at(t, m, "Resources", "OIDCProvider", "Properties").(map[string]any)["ThumbprintList"]; ok {
		t.Fatal("ThumbprintList without a thumbprint")
	}
	if _, ok := at(t, m, "Resources", "EnhancedRole", "Properties").(map[string]any)["Policies"]; ok {
		t.Fatal("Policies without services")
	}
}

// TestCFNLint validates generated templates with cfn-lint, an independent
// CloudFormation validator, when it is installed.
func TestCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed; skipping the independent template validation")
	}
	dir := t.TempDir()
	o := TemplateOptions{Issuer: `https://idp.example.com/t"x`, Audience: `a "b"`, Thumbprint: strings.Repeat("ab", 20),
		SubjectClaim: "s", Services: TemplateServices()}
	for _, format := range []string{FormatYAML, FormatJSON} {
		b, err := RenderTemplate(o, format)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "template."+format)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--regions", "us-east-1", "--", f)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cfn-lint %s: %v\n%s\n%s", format, err, out, b)
		}
	}
}
