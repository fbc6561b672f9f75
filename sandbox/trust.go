package sandbox

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TrustIssuer rewires a world (YAML) to trust an external OpenID issuer
// for audience, in one step: a trusted token issuer (email claim →
// emails.value, users created on first sight), a jwt-bearer grant for it
// on every application, an IAM OIDC provider, and a statement in the trust
// policy of every bridge role (a role that trusts an OIDC provider for
// sts:AssumeRoleWithWebIdentity) for tokens of that issuer and audience.
func TrustIssuer(worldYAML []byte, issuer, audience string) ([]byte, error) {
	if err := checkTrust(issuer, audience); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(worldYAML, &doc); err != nil || doc == nil {
		return nil, fmt.Errorf("the world is not a YAML mapping: %v", err)
	}
	account, _ := doc["account_id"].(string)
	if account == "" {
		account = "123456789012"
	}
	hp := iam.HostPath(issuer)
	providerArn := "arn:aws:iam::" + account + ":oidc-provider/" + hp
	name := "trusted-" + strings.NewReplacer(":", "-", "/", "-", ".", "-").Replace(hp)

	ic := mapAt(doc, "identity_center")
	ic["trusted_token_issuers"] = append(listAt(ic, "trusted_token_issuers"), map[string]any{
		"name": name, "issuer_url": issuer, "claim_attribute_path": "email",
		"identity_store_attribute_path": "emails.value", "create_users": true,
	})
	apps := listAt(ic, "applications")
	for _, a := range apps {
		if app, ok := a.(map[string]any); ok {
			app["jwt_bearer"] = append(listAt(app, "jwt_bearer"), map[string]any{"trusted_token_issuer": name, "audiences": []any{audience}})
		}
	}
	iamDoc := mapAt(doc, "iam")
	iamDoc["oidc_providers"] = append(listAt(iamDoc, "oidc_providers"), map[string]any{"url": issuer, "client_ids": []any{audience}})
	bridges := 0
	for _, r := range listAt(iamDoc, "roles") {
		role, ok := r.(map[string]any)
		if !ok || !trustsWebIdentity(role["trust_policy"]) {
			continue
		}
		tp := role["trust_policy"].(map[string]any)
		tp["Statement"] = append(statements(tp["Statement"]), map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": providerArn}, "Action": "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{hp + ":aud": audience}},
		})
		bridges++
	}
	if bridges == 0 || len(apps) == 0 {
		return nil, fmt.Errorf("the world has no bridge role (a role trusting an OIDC provider for sts:AssumeRoleWithWebIdentity) or no Identity Center application to trust %s for", issuer)
	}
	return yaml.Marshal(doc)
}

func mapAt(m map[string]any, k string) map[string]any {
	if v, ok := m[k].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[k] = v
	return v
}

func listAt(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

// statements returns a policy's Statement as a list (a single statement
// may be written as a mapping).
func statements(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case map[string]any:
		return []any{t}
	}
	return nil
}

// trustsWebIdentity reports whether a trust policy allows a federated OIDC
// provider sts:AssumeRoleWithWebIdentity.
func trustsWebIdentity(policy any) bool {
	tp, ok := policy.(map[string]any)
	if !ok {
		return false
	}
	for _, s := range statements(tp["Statement"]) {
		st, ok := s.(map[string]any)
		if !ok || st["Effect"] != "Allow" {
			continue
		}
		p, _ := st["Principal"].(map[string]any)
		fed := fmt.Sprint(p["Federated"])
		if strings.Contains(fed, ":oidc-provider/") && strings.Contains(fmt.Sprint(st["Action"]), "sts:AssumeRoleWithWebIdentity") {
			return true
		}
	}
	return false
}

// trustOptions applies opts.TrustIssuer to the world opts name.
func trustOptions(opts Options) (Options, error) {
	src := opts.WorldYAML
	if len(src) == 0 && opts.WorldFile != "" {
		b, err := os.ReadFile(opts.WorldFile)
		if err != nil {
			return opts, err
		}
		src = b
	}
	if len(src) == 0 {
		src = world.DefaultYAML()
	}
	out, err := TrustIssuer(src, opts.TrustIssuer, opts.Audience)
	if err != nil {
		return opts, err
	}
	opts.WorldYAML = out
	return opts, nil
}

// checkTrust validates --trust-issuer and --audience.
func checkTrust(issuer, audience string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--trust-issuer %q is not an http(s) issuer URL", issuer)
	}
	if audience == "" || strings.ContainsAny(audience, " \t\r\n") {
		return fmt.Errorf("--audience %q is not a token audience (the aud claim, e.g. the IdP client id)", audience)
	}
	return nil
}

// bareTrust reports whether opts start a bare account that trusts an
// external issuer: --bare with --trust-issuer and no world of its own.
func bareTrust(opts Options) bool {
	return opts.Bare && opts.TrustIssuer != "" && len(opts.WorldYAML) == 0 && opts.WorldFile == ""
}

// ProvisionFrom makes the directory of w provisioned from an external
// issuer (--bare --trust-issuer): a bare account has no trust
// configuration for it to join, so the issuer's people are created in
// Identity Center on first sight of a verified token for audience, as
// SCIM provisioning from that IdP would, and the trust itself (OIDC
// provider, trusted token issuer, application, roles) is what the user
// sets up (tipctl setup apply, the AWS CLI). Idempotent.
func ProvisionFrom(w *world.World, issuer, audience string) error {
	if err := checkTrust(issuer, audience); err != nil {
		return err
	}
	for _, p := range w.IdentityCenter.Provisioning {
		if p.Issuer == issuer && p.Audience == audience {
			return nil
		}
	}
	w.IdentityCenter.Provisioning = append(w.IdentityCenter.Provisioning, world.Provisioning{Issuer: issuer, Audience: audience})
	return nil
}
