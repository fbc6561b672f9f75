package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
)

func newTestRegistry(t *testing.T) *Registry {
	t.Helper()
	s, err := NewSealer()
	if err != nil {
		t.Fatal(err)
	}
	return NewRegistry(s)
}

func TestSessionTokenCarriesThePrincipal(t *testing.T) {
	r := newTestRegistry(t)
	roleDoc := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetDataAccess","Resource":"*","Condition":{"Null":{"identitystore:UserId":"false"}}}]}`)
	r.RolePolicies = func(arn string) ([]*iampolicy.Document, bool) {
		return []*iampolicy.Document{roleDoc}, arn == "arn:aws:iam::1:role/tip-enhanced"
	}
	now := time.Now().UTC()
	p := r.IssueSession(&Principal{AccountID: "1", Arn: "arn:aws:sts::1:assumed-role/tip-enhanced/s", UserID: "AROA:s",
		RoleArn: "arn:aws:iam::1:role/tip-enhanced", RoleName: "tip-enhanced", SessionName: "s", SourceIdentity: "alice",
		PoliciesFromRole: true, IssuedAt: now,
		Context: &IdentityContext{Provider: IdentityCenterProvider, UserID: "u-1", UserName: "alice", IdentityStoreID: "d-1",
			Groups: []Group{{ID: "g", Name: "emea-sales"}}, ExpiresAt: now.Add(time.Hour)}}, now.Add(time.Hour))
	if !strings.HasPrefix(p.AccessKeyID, "ASIA") || len(p.AccessKeyID) != 20 || len(p.SecretAccessKey) != 40 ||
		!strings.HasPrefix(p.SessionToken, tokenPrefix) {
		t.Fatalf("keys %q %q %q", p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
	}
	if strings.Contains(p.SessionToken, p.SecretAccessKey) {
		t.Fatal("the token carries the secret")
	}
	if r.Len() != 0 {
		t.Fatalf("the registry keeps %d entries for a session", r.Len())
	}
	got, ok := r.Resolve(p.AccessKeyID, p.SessionToken)
	if !ok || got.Arn != p.Arn || got.SecretAccessKey != p.SecretAccessKey || got.SourceIdentity != "alice" ||
		got.Context == nil || got.Context.UserID != "u-1" || got.Context.Groups[0].Name != "emea-sales" ||
		!got.Expiration.Equal(p.Expiration) || got.IssuedAt.UnixMilli() != now.UnixMilli() {
		t.Fatalf("resolved %+v", got)
	}
	// The role's current policies, with the session's keys.
	if !got.Allowed("s3:GetDataAccess", "*", nil) {
		t.Fatal("the identity-enhanced session is not allowed its role's rights")
	}
	if ctx := got.RequestContext(nil); ctx[KeyIdentityStoreArn][0] != "arn:aws:identitystore::1:identitystore/d-1" {
		t.Fatalf("request context %v", ctx)
	}

	// Another session's key id, a token of another sandbox, an altered token.
	other := r.IssueSession(&Principal{AccountID: "1", Arn: "x", RoleArn: "arn:aws:iam::1:role/r"}, now.Add(time.Hour))
	if _, ok := r.Resolve(other.AccessKeyID, p.SessionToken); ok {
		t.Fatal("a token resolves for another session's key id")
	}
	if _, ok := newTestRegistry(t).Resolve(p.AccessKeyID, p.SessionToken); ok {
		t.Fatal("another sandbox accepts the token")
	}
	b := []byte(p.SessionToken)
	b[len(tokenPrefix)+40] ^= 1
	if _, ok := r.Resolve(p.AccessKeyID, string(b)); ok {
		t.Fatal("an altered token resolves")
	}
	if _, ok := r.Resolve(p.AccessKeyID, ""); ok {
		t.Fatal("a session resolves without its token")
	}
}

func TestSessionExplicitPolicies(t *testing.T) {
	r := newTestRegistry(t)
	doc := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/emea/*"}]}`)
	p := r.IssueSession(&Principal{AccountID: "1", Arn: "a", RoleArn: "arn:aws:iam::1:role/loc", Policies: []*iampolicy.Document{doc}}, time.Now().Add(time.Hour))
	got, ok := r.Resolve(p.AccessKeyID, p.SessionToken)
	if !ok || !got.Allowed("s3:GetObject", "arn:aws:s3:::b/emea/x", nil) || got.Allowed("s3:GetObject", "arn:aws:s3:::b/apac/x", nil) {
		t.Fatalf("scoped session %+v", got)
	}
}

func TestSessionRevocation(t *testing.T) {
	r := newTestRegistry(t)
	t0 := time.Now().UTC()
	issue := func(role string, at time.Time) *Principal {
		return r.IssueSession(&Principal{AccountID: "1", Arn: "a", RoleArn: role, IssuedAt: at}, at.Add(time.Hour))
	}
	a := issue("arn:aws:iam::1:role/a", t0)
	b := issue("arn:aws:iam::1:role/b", t0)
	resolves := func(p *Principal) bool { _, ok := r.Resolve(p.AccessKeyID, p.SessionToken); return ok }

	r.Revoke(a, t0)
	if resolves(a) || !resolves(b) {
		t.Fatal("Revoke is not per session")
	}
	if r.Sweep(t0.Add(2*time.Hour)) != 1 || r.Len() != 0 {
		t.Fatal("the revocation entry outlives its session")
	}
	r.RevokeRoleSessions("arn:aws:iam::1:role/b", t0)
	if resolves(b) || !resolves(issue("arn:aws:iam::1:role/b", t0.Add(time.Millisecond))) {
		t.Fatal("role revocation")
	}
	r.RevokeIssuedBefore(t0.Add(time.Second))
	if resolves(issue("arn:aws:iam::1:role/c", t0.Add(time.Second))) || !resolves(issue("arn:aws:iam::1:role/c", t0.Add(2*time.Second))) {
		t.Fatal("epoch revocation")
	}
}

func TestRevocationListIsBounded(t *testing.T) {
	r := newTestRegistry(t)
	t0 := time.Now().UTC()
	for i := 0; i < MaxRevoked; i++ {
		r.rev.keys[RandomID("ASIA", 16)] = t0.Add(time.Hour)
	}
	p := r.IssueSession(&Principal{AccountID: "1", Arn: "a", RoleArn: "arn:aws:iam::1:role/a", IssuedAt: t0}, t0.Add(time.Hour))
	r.Revoke(p, t0)
	if r.Len() != MaxRevoked {
		t.Fatalf("the list grew to %d", r.Len())
	}
	if _, ok := r.Resolve(p.AccessKeyID, p.SessionToken); ok {
		t.Fatal("the session is not revoked when the list is full")
	}
}
