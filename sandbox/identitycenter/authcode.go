package identitycenter

import (
	"context"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// authorizationCode is the authorization_code grant: the code the sign-in
// page (authorize.go) redirected to the application becomes tokens, once,
// for the application it was issued to, with the redirect URI of the
// authorization request and, when it had a code_challenge, the matching
// code verifier (PKCE S256).
func (h *OIDC) authorizationCode(ctx context.Context, app *Application, req *createTokenWithIAMRequest, now time.Time) (any, *awsproto.Error) {
	if app.AuthorizationCode == nil {
		return nil, oidcError("UnauthorizedClientException", "application %s does not allow the %s grant (PutApplicationGrant)", app.Name, GrantAuthorizationCode)
	}
	switch {
	case req.Code == "":
		return nil, oidcError("InvalidRequestException", "code is required for the %s grant", GrantAuthorizationCode)
	case req.RedirectURI == "":
		return nil, oidcError("InvalidRequestException", "redirectUri is required for the %s grant: the redirect_uri of the authorization request", GrantAuthorizationCode)
	case len(req.Code) > 256 || len(req.RedirectURI) > 2048 || len(req.CodeVerifier) > 256:
		return nil, oidcError("InvalidRequestException", "code, redirectUri or codeVerifier is too long")
	}
	c, msg := h.state.redeemCode(req.Code, app.Arn, req.RedirectURI, req.CodeVerifier, now.Unix())
	if c == nil {
		return nil, oidcError("InvalidGrantException", "%s", msg)
	}
	user := h.state.UserByID(c.userID)
	if user == nil {
		return nil, oidcError("InvalidGrantException", "the user who signed in no longer exists in the identity store")
	}
	if e := checkAssigned(ctx, app, user); e != nil {
		return nil, e
	}
	scopes, e := grantScopes(c.scopes, req.Scope)
	if e != nil {
		return nil, e
	}
	res, e := h.issue(app, user, scopes, c.authTime, now)
	if e != nil {
		return nil, e
	}
	if rt := res.(createTokenWithIAMResponse).RefreshToken; rt != "" {
		h.state.codeIssued(req.Code, rt)
	}
	return res, nil
}
