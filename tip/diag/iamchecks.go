package diag

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/tip/setup"
)

// hostPath is an issuer URL without scheme and trailing slash, as IAM
// uses it in OIDC provider ARNs and condition keys.
func hostPath(iss string) string { return setup.IssuerHostPath(iss) }

func (r *runner) iamOIDCProvider(ctx context.Context) Result {
	if r.tok == nil {
		return after("token.structure", "the OIDC provider check")
	}
	iss, hp := r.tok.iss, hostPath(r.tok.iss)
	generate := fmt.Sprintf("tipctl generate cfn-template --issuer %s --audience %s", shellQuote(iss), shellQuote(r.tok.aud[0]))
	create := fmt.Sprintf("aws iam create-open-id-connect-provider --url %s --client-id-list %s (or deploy the template of `%s`)",
		shellQuote(iss), shellQuote(r.tok.aud[0]), generate)
	list, err := r.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return r.readFailure("iam:ListOpenIDConnectProviders", err, "the IAM OIDC providers")
	}
	var arn string
	for _, p := range list.OpenIDConnectProviderList {
		a := aws.ToString(p.Arn)
		if _, suffix, ok := strings.Cut(a, ":oidc-provider/"); ok && suffix == hp {
			arn = a
		}
	}
	if arn == "" {
		return fail(create, "no IAM OIDC provider for the token's issuer %s (oidc-provider/%s): STS cannot trust its tokens", iss, hp)
	}
	r.providerArn = arn
	out, err := r.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		return r.readFailure("iam:GetOpenIDConnectProvider", err, "the OIDC provider's client ids")
	}
	r.providerClientIDs = out.ClientIDList
	if m := intersect(r.tok.aud, out.ClientIDList); len(m) == 0 {
		return fail(fmt.Sprintf("aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s", arn, shellQuote(r.tok.aud[0])),
			"the token's aud %s is not a client id of OIDC provider %s (client ids: %s)", quoteList(r.tok.aud), arn, quoteList(out.ClientIDList))
	}
	return pass("IAM OIDC provider %s accepts the token's audience (client ids %s)", arn, quoteList(out.ClientIDList))
}

// role reads a role's trust policy.
type roleTrust struct {
	name string
	arn  string
	raw  []byte
	doc  *iampolicy.Document
}

func (r *runner) getRole(ctx context.Context, arn, what string) (*roleTrust, *Result) {
	name, err := RoleName(arn)
	if err != nil {
		res := fail("pass the role's ARN (arn:aws:iam::ACCOUNT:role/NAME)", "%v", err)
		return nil, &res
	}
	out, err := r.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if classify(err).code == "NoSuchEntity" {
			res := fail(fmt.Sprintf("create the %s (deploy the template of `tipctl generate cfn-template`) or fix the ARN", what),
				"the %s %s does not exist", what, arn)
			return nil, &res
		}
		res := r.readFailure("iam:GetRole", err, "the trust policy of the "+what)
		return nil, &res
	}
	if got := aws.ToString(out.Role.Arn); got != "" && got != arn {
		res := fail("use the role's exact ARN "+got, "role %s has the ARN %s, not %s", name, got, arn)
		return nil, &res
	}
	enc := aws.ToString(out.Role.AssumeRolePolicyDocument)
	dec, err := url.QueryUnescape(enc)
	if err != nil {
		dec = enc
	}
	doc, err := iampolicy.Parse([]byte(dec))
	if err != nil {
		res := fail("rewrite the trust policy of role "+name, "the trust policy of role %s cannot be read: %v", name, err)
		return nil, &res
	}
	return &roleTrust{name: name, arn: arn, raw: []byte(dec), doc: doc}, nil
}

// webIdentityContext is the request context STS evaluates a web identity trust policy with.
func (r *runner) webIdentityContext(provider string) map[string][]string {
	hp := hostPath(r.tok.iss)
	aud := r.tok.aud
	if len(r.providerClientIDs) > 0 {
		if m := intersect(aud, r.providerClientIDs); len(m) > 0 {
			aud = m
		}
	}
	ctx := map[string][]string{
		hp + ":aud": aud, hp + ":oaud": r.tok.aud, hp + ":sub": {r.tok.sub},
		"aws:FederatedProvider": {provider}, "sts:RoleSessionName": {"tipctl-diag"},
	}
	if azp, ok := r.tok.claim("azp"); ok {
		ctx[hp+":azp"] = []string{azp}
	}
	return ctx
}

func (r *runner) iamBridgeTrust(ctx context.Context) Result {
	if r.in.BridgeRoleArn == "" {
		return skip("pass --bridge-role-arn or set bridge_role_arn in the profile", "no bridge role to check")
	}
	if r.tok == nil {
		return after("token.structure", "the bridge role check")
	}
	role, res := r.getRole(ctx, r.in.BridgeRoleArn, "bridge role")
	if res != nil {
		return *res
	}
	provider := r.providerArn
	if provider == "" {
		ra, _ := ParseARN(role.arn)
		provider = "arn:" + ra.Partition + ":iam::" + ra.Account + ":oidc-provider/" + hostPath(r.tok.iss)
	}
	hp := hostPath(r.tok.iss)
	want := fmt.Sprintf(`{"Effect": "Allow", "Principal": {"Federated": %q}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {%q: %q}}}`,
		provider, hp+":aud", r.tok.aud[0])
	fix := fmt.Sprintf("add this statement to the trust policy of role %s (aws iam update-assume-role-policy --role-name %s --policy-document FILE): %s", role.name, role.name, want)
	cond := r.webIdentityContext(provider)
	req := iampolicy.Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: role.arn, Caller: &iampolicy.Caller{Federated: provider}, Context: cond}
	if d := role.doc.Evaluate(req); d != iampolicy.Allow {
		why := explainTrust(role.doc, req)
		return fail(fix, "the trust policy of role %s does not let this token assume it with sts:AssumeRoleWithWebIdentity: %s", role.name, why)
	}
	if fs := setup.Lint(role.raw, setup.KindBridgeTrust); len(fs) > 0 {
		return warn(fs[0].Fix, "role %s trusts this token, but its trust policy has problems: %s", role.name, findingsText(fs))
	}
	return pass("role %s trusts %s for sts:AssumeRoleWithWebIdentity and its conditions match the token (aud %s, sub %q)", role.name, provider, quoteList(cond[hp+":aud"]), r.tok.sub)
}

// explainTrust says why no statement of doc allows req.
func explainTrust(doc *iampolicy.Document, req iampolicy.Request) string {
	var reasons []string
	for i, st := range doc.Statements {
		if st.Effect == "Deny" {
			if st.Matches(req) {
				return fmt.Sprintf("Statement[%d] denies it explicitly", i+1)
			}
			continue
		}
		base := st
		base.Conditions = nil
		one := &iampolicy.Document{Version: doc.Version, Statements: []iampolicy.Statement{base}}
		noCond := req
		if one.Evaluate(noCond) != iampolicy.Allow {
			continue // another principal or action
		}
		for _, c := range st.Conditions {
			probe := base
			probe.Conditions = []iampolicy.Condition{c}
			if !probe.Matches(req) {
				got := req.Context[c.Key]
				if got == nil {
					for k, v := range req.Context {
						if strings.EqualFold(k, c.Key) {
							got = v
						}
					}
				}
				reasons = append(reasons, fmt.Sprintf("Statement[%d] needs %s %s %s, the token has %s", i+1, c.Key, c.Operator, quoteList(c.Values), quoteList(got)))
			}
		}
	}
	if len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	who := req.Caller.Federated
	if who == "" && len(req.Caller.ARNs) > 0 {
		who = req.Caller.ARNs[0]
	}
	return fmt.Sprintf("no statement allows %s to %s", who, req.Action)
}

// addSetContext returns the trust policy fixed so that principal may call
// sts:AssumeRole and set an Identity Center context: sts:SetContext in a
// statement of its own, limited to the Identity Center provider.
func addSetContext(raw []byte, principal string) string {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return ""
	}
	var stmts []any
	switch s := doc["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	assume := false
	var kept []any
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok || m["Effect"] != "Allow" || !principalNames(m["Principal"], principal) {
			kept = append(kept, s)
			continue
		}
		acts := actionList(m["Action"])
		assume = assume || containsFold(acts, "sts:AssumeRole")
		// sts:SetContext moves to its own statement with the provider
		// condition (a key of SetContext only).
		var rest []any
		for _, a := range acts {
			if str, _ := a.(string); !strings.EqualFold(str, "sts:SetContext") {
				rest = append(rest, a)
			}
		}
		if len(rest) == 0 {
			continue
		}
		m["Action"] = rest
		kept = append(kept, m)
	}
	if !assume {
		kept = append(kept, map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole"})
	}
	kept = append(kept, map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:SetContext",
		"Condition": map[string]any{
			"ForAllValues:ArnEquals": map[string]any{setup.ContextProvidersKey: setup.IdentityCenterProvider},
			"Null":                   map[string]any{setup.ContextProvidersKey: "false"},
		}})
	doc["Statement"] = kept
	b, _ := json.Marshal(doc)
	return string(b)
}

func principalNames(p any, principal string) bool {
	m, ok := p.(map[string]any)
	if !ok {
		return p == "*"
	}
	for _, v := range actionList(m["AWS"]) {
		if v == principal || v == "*" {
			return true
		}
	}
	return false
}

func actionList(v any) []any {
	switch t := v.(type) {
	case string:
		return []any{t}
	case []any:
		return t
	}
	return nil
}

func containsFold(list []any, s string) bool {
	for _, v := range list {
		if str, ok := v.(string); ok && strings.EqualFold(str, s) {
			return true
		}
	}
	return false
}

func (r *runner) iamEnhancedTrust(ctx context.Context) Result {
	switch {
	case r.in.EnhancedRoleArn == "":
		return skip("pass --enhanced-role-arn or set enhanced_role_arn in the profile", "no identity-enhanced role to check")
	case r.in.BridgeRoleArn == "":
		return skip("pass --bridge-role-arn or set bridge_role_arn in the profile", "no bridge role: cannot tell whom the identity-enhanced role must trust")
	}
	role, res := r.getRole(ctx, r.in.EnhancedRoleArn, "identity-enhanced role")
	if res != nil {
		return *res
	}
	bridge := r.in.BridgeRoleArn
	ba, err := ParseARN(bridge)
	if err != nil {
		return fail("pass the bridge role's ARN (arn:aws:iam::ACCOUNT:role/NAME)", "%v", err)
	}
	bridgeName, _ := RoleName(bridge)
	caller := &iampolicy.Caller{Account: ba.Account, ARNs: []string{"arn:" + ba.Partition + ":sts::" + ba.Account + ":assumed-role/" + bridgeName + "/tipctl-diag", bridge}}
	cond := map[string][]string{"aws:PrincipalArn": {bridge}, "aws:PrincipalAccount": {ba.Account}, "sts:RoleSessionName": {"tipctl-diag"}}
	fixed := addSetContext(role.raw, bridge)
	fix := fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document %s", role.name, shellQuote(fixed))
	for _, action := range []string{"sts:AssumeRole", "sts:SetContext"} {
		c := cond
		if action == "sts:SetContext" {
			// The keys of the SetContext request tipctl makes.
			c = map[string][]string{setup.ContextProvidersKey: {setup.IdentityCenterProvider}}
			for k, v := range cond {
				c[k] = v
			}
			if r.in.ApplicationArn != "" {
				c["sts:RequestContext/identitycenter:ApplicationArn"] = []string{r.in.ApplicationArn}
				c["identitycenter:ApplicationArn"] = []string{r.in.ApplicationArn}
			}
		}
		req := iampolicy.Request{Action: action, Resource: role.arn, Caller: caller, Context: c}
		if d := role.doc.Evaluate(req); d != iampolicy.Allow {
			if action == "sts:SetContext" {
				return fail(fix, "the trust policy of role %s lets %s call sts:AssumeRole but not sts:SetContext, so AssumeRole with ProvidedContexts (the identity-enhanced session) is refused with AccessDenied",
					role.name, bridge)
			}
			return fail(fix, "the trust policy of role %s does not let the bridge role %s assume it: %s", role.name, bridge, explainTrust(role.doc, req))
		}
	}
	fs := setup.Lint(role.raw, setup.KindEnhancedTrust)
	for _, f := range fs {
		if f.Code == setup.CodeSetContextAnyProvider {
			return fail(fix, "security: the trust policy of role %s lets %s set an identity context from any provider (%s): restrict sts:SetContext to the Identity Center provider",
				role.name, bridge, f.String())
		}
	}
	if len(fs) > 0 {
		return warn(fs[0].Fix, "role %s trusts the bridge role, but its trust policy has problems: %s", role.name, findingsText(fs))
	}
	return pass("role %s trusts %s for sts:AssumeRole and sts:SetContext", role.name, bridge)
}
