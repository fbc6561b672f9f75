package idp

// CheckPassword reports the email of the IdP user whose email and
// password these are. The Identity Center sign-in page of the sandbox
// (sandbox/identitycenter) signs people in with it: an instance whose
// directory is provisioned from this IdP federates its sign-in to it.
func (p *Provider) CheckPassword(email, password string) (string, bool) {
	u, ok := p.checkPassword(email, password)
	if !ok {
		return "", false
	}
	return u.Email, true
}
