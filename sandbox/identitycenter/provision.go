package identitycenter

import (
	"slices"
	"strings"

	"github.com/tipctl/tipctl/sandbox/world"
)

// provisionFromToken creates the Identity Center user a verified token
// describes, when its trusted token issuer has CreateUsers or the
// directory is provisioned from its issuer and audience (Provisioning):
// the sandbox's stand-in for SCIM provisioning. User name and email come
// from the claim the issuer maps to emails.value, the display name from
// name, groups from the groups claim (existing groups only). It returns
// the user that now matches, created or found: two concurrent first
// tokens create one user.
func (s *State) provisionFromToken(tti *TrustedTokenIssuer, claims map[string]any, email string) *User {
	groupsClaim, ok := tti.GroupsClaim, tti.CreateUsers
	if !ok {
		groupsClaim, ok = s.provisionedBy(claims)
	}
	if !ok || tti.IdentityStoreAttributePath != "emails.value" || !strings.Contains(email, "@") || len(email) > 256 {
		return nil
	}
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	for _, u := range s.Users {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	name, _ := claims["name"].(string)
	if name == "" || len(name) > 256 {
		name = email
	}
	u := &User{IdCUser: world.IdCUser{UserName: email, DisplayName: name, Email: email,
		UserID: world.StableUUID("user", s.IdentityStoreID, email)}}
	claim := groupsClaim
	if claim == "" {
		claim = "groups"
	}
	if list, ok := claims[claim].([]any); ok {
		for _, g := range list {
			gn, _ := g.(string)
			for _, grp := range s.Groups {
				if grp.Name == gn {
					u.Groups = append(u.Groups, grp)
				}
			}
		}
	}
	// A new slice: readers holding the old one keep a consistent view.
	s.Users = append(append([]*User(nil), s.Users...), u)
	return u
}

// users returns the current directory's users (a snapshot).
func (s *State) users() []*User {
	s.dirMu.RLock()
	defer s.dirMu.RUnlock()
	return s.Users
}

// AllUsers returns the identity store's users, including those created
// from tokens.
func (s *State) AllUsers() []*User { return s.users() }

// provisionedBy reports whether the directory is provisioned from the
// token's issuer for one of its audiences, and the groups claim to read.
func (s *State) provisionedBy(claims map[string]any) (string, bool) {
	iss, _ := claims["iss"].(string)
	var auds []string
	switch a := claims["aud"].(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, v := range a {
			if str, ok := v.(string); ok {
				auds = append(auds, str)
			}
		}
	}
	for _, p := range s.Provisioning {
		if p.Issuer == iss && slices.Contains(auds, p.Audience) {
			return p.GroupsClaim, true
		}
	}
	return "", false
}
