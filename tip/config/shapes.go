package config

import "strings"

// exchangeShape checks the keys that choose how the IdP token is
// exchanged: the assertion kind, extra authorization parameters, and the
// bridge role or the ambient credentials that replace it.
func (c *checker) exchangeShape(p *Profile) {
	switch p.Assertion {
	case "", AssertionIDToken, AssertionAccessToken:
	default:
		c.add("assertion", "%q is not id_token or access_token", p.Assertion)
	}
	for k, v := range p.AuthParams {
		switch {
		case k == "" || strings.ContainsAny(k, " \t\r\n&=") || strings.ContainsAny(v, "\r\n"):
			c.add("auth_params", "%q=%q is not a valid authorization parameter", k, v)
		case reservedAuthParam[k]:
			c.add("auth_params", "%q is set by tipctl itself and cannot be overridden", k)
		}
	}
	switch {
	case p.ExchangeCredentials == "":
		c.roleARN("bridge_role_arn", p.BridgeRoleARN)
	case p.BridgeRoleARN != "":
		c.add("exchange_credentials", "is set together with bridge_role_arn; use one: the bridge role, or the ambient credentials instead of it")
	case p.ExchangeCredentials == "default":
	case p.ExchangeAWSProfile() != "" && !strings.ContainsAny(p.ExchangeAWSProfile(), " \t\r\n[]"):
	default:
		c.add("exchange_credentials", "%q is not default or profile:NAME", p.ExchangeCredentials)
	}
}

// reservedAuthParam are the authorization parameters of the flow itself.
var reservedAuthParam = map[string]bool{"client_id": true, "redirect_uri": true, "response_type": true, "state": true,
	"nonce": true, "code_challenge": true, "code_challenge_method": true, "scope": true}
