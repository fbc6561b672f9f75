package jwtverify

import "strings"

// RegisterDiscovery reads issuer's discovery document from url instead of
// ISSUER/.well-known/openid-configuration: the sandbox's stand-in for DNS,
// when an IdP serves a production issuer name (https://sts.windows.net/…/,
// https://ORG.okta.com) from a local address. The document must still
// name the issuer, and its jwks_uri is where the keys are read.
func (v *Verifier) RegisterDiscovery(issuer, url string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.discovery == nil {
		v.discovery = map[string]string{}
	}
	v.discovery[strings.TrimSuffix(issuer, "/")] = url
}
