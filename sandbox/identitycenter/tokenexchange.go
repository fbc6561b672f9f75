package identitycenter

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// TokenTypeAccessToken is the RFC 8693 type of an access token.
const TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"

// accessClaims are the claims of the access tokens issue seals.
type accessClaims struct {
	Typ   string   `json:"typ"`
	Iss   string   `json:"iss"`
	Sub   string   `json:"sub"`
	Aud   string   `json:"aud"`
	Scope []string `json:"scope"`
	Iat   int64    `json:"iat"`
	Exp   int64    `json:"exp"`
}

// tokenExchange is the urn:ietf:params:oauth:grant-type:token-exchange
// grant: an Identity Center access token issued to one application (the
// subject token) becomes tokens for the calling application, for the
// scopes the subject token holds, the calling application has, and the
// issuing application authorizes for it (the AuthorizedTargets of its
// access scopes).
func (h *OIDC) tokenExchange(ctx context.Context, app *Application, req *createTokenWithIAMRequest, now time.Time) (any, *awsproto.Error) {
	if !app.TokenExchangeGrant {
		return nil, oidcError("UnauthorizedClientException", "application %s does not allow the %s grant (PutApplicationGrant)", app.Name, GrantTokenExchange)
	}
	switch {
	case req.SubjectToken == "":
		return nil, oidcError("InvalidRequestException", "subjectToken is required for the token-exchange grant")
	case req.SubjectTokenType != TokenTypeAccessToken:
		return nil, oidcError("InvalidRequestException", "subjectTokenType must be %s", TokenTypeAccessToken)
	case req.RequestedTokenType != "" && req.RequestedTokenType != TokenTypeAccessToken && req.RequestedTokenType != TokenTypeRefreshToken:
		return nil, oidcError("InvalidRequestException", "requestedTokenType must be %s or %s", TokenTypeAccessToken, TokenTypeRefreshToken)
	}
	var tok accessClaims
	if h.env.Sealer.Open(req.SubjectToken, &tok) != nil || tok.Typ != "access_token" || tok.Iss != h.state.IssuerURL() {
		return nil, oidcError("InvalidGrantException", "the subject token is not an access token this Identity Center instance issued")
	}
	if now.Unix() >= tok.Exp {
		return nil, oidcError("InvalidGrantException", "the subject token has expired")
	}
	src, u := h.state.App(tok.Aud), h.state.UserByID(tok.Sub)
	if src == nil || src.Arn != tok.Aud || u == nil {
		return nil, oidcError("InvalidGrantException", "the subject token's application or user no longer exists")
	}
	if e := checkAssigned(ctx, app, u); e != nil {
		return nil, e
	}
	var allowed []string
	for _, sc := range tok.Scope {
		targets := src.ScopeTargets[sc]
		if slices.Contains(app.Scopes, sc) && (slices.Contains(targets, app.Arn) || slices.Contains(targets, h.state.InstanceArn)) {
			allowed = append(allowed, sc)
		}
	}
	if len(allowed) == 0 {
		return nil, oidcError("InvalidScopeException", "none of the subject token's scopes (%s) is authorized for application %s: put the scope on both applications, with %s among the AuthorizedTargets of %s",
			strings.Join(tok.Scope, " "), app.Name, app.Arn, src.Name)
	}
	scopes, e := grantScopes(allowed, req.Scope)
	if e != nil {
		return nil, e
	}
	res, e := h.issue(app, u, scopes, tok.Iat, now)
	if e != nil {
		return nil, e
	}
	out := res.(createTokenWithIAMResponse)
	out.IssuedTokenType = TokenTypeAccessToken
	if req.RequestedTokenType == TokenTypeRefreshToken && out.RefreshToken != "" {
		out.IssuedTokenType = TokenTypeRefreshToken
	} else if out.RefreshToken != "" {
		h.state.TakeRefresh(out.RefreshToken) // not asked for: not issued
		out.RefreshToken = ""
	}
	return out, nil
}
