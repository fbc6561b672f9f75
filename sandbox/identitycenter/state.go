// Package identitycenter emulates IAM Identity Center: the identity store,
// trusted token issuers and customer-managed applications (state), and the
// SSO OIDC CreateTokenWithIAM operation (wire handlers).
package identitycenter

import (
	"strings"
	"sync"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/world"
)

// User is an identity-store user.
type User struct {
	world.IdCUser
	Groups []*Group
}

// Group is an identity-store group.
type Group struct {
	world.IdCGroup
	Users []*User
}

// TrustedTokenIssuer is a TTI.
type TrustedTokenIssuer = world.TrustedTokenIssuer

// Application is a customer-managed application with its parsed actor policy.
type Application struct {
	world.Application
	Actor *iampolicy.Document
	// Grants resolves each jwt-bearer grant's TTI.
	Grants []Grant
}

// Grant is a jwt-bearer grant with its trusted token issuer resolved.
type Grant struct {
	Issuer    *TrustedTokenIssuer
	Audiences []string
}

// State is the Identity Center instance. The directory only grows after
// New (users created from tokens, under dirMu); the single-use assertion and refresh-token ledgers are guarded by mu.
type State struct {
	AccountID       string
	Region          string
	InstanceArn     string
	IdentityStoreID string
	Users           []*User
	Groups          []*Group
	Issuers         []*TrustedTokenIssuer
	Apps            []*Application
	// Provisioning lists the external issuers whose people are created
	// on first sight (world.IdentityCenter.Provisioning).
	Provisioning []world.Provisioning

	// dirMu guards Users against the users created from tokens
	// (provisionFromToken); every reader goes through users().
	dirMu sync.RWMutex

	mu sync.Mutex
	// used holds jti/hash of exchanged assertions with their expiry (unix).
	used map[string]int64
	// refresh maps issued refresh tokens to their session.
	refresh map[string]*RefreshSession
	// codes holds the authorization codes of the sign-in page (codes.go).
	codes map[string]*authCode
}

// RefreshSession is what an Identity Center refresh token stands for.
type RefreshSession struct {
	App     *Application
	User    *User
	Scopes  []string
	Expires int64
	// AuthTime is when the person authenticated at the external IdP (unix).
	AuthTime int64
}

// New builds the state from a validated world.
func New(w *world.World) (*State, error) {
	ic := w.IdentityCenter
	s := &State{AccountID: w.AccountID, Region: w.Region, InstanceArn: ic.InstanceArn, IdentityStoreID: ic.IdentityStoreID,
		Provisioning: ic.Provisioning, used: map[string]int64{}, refresh: map[string]*RefreshSession{}}
	byName := map[string]*User{}
	for _, u := range ic.Users {
		user := &User{IdCUser: u}
		s.Users = append(s.Users, user)
		byName[u.UserName] = user
	}
	for _, g := range ic.Groups {
		grp := &Group{IdCGroup: g}
		for _, m := range g.Members {
			if u := byName[m]; u != nil {
				grp.Users = append(grp.Users, u)
				u.Groups = append(u.Groups, grp)
			}
		}
		s.Groups = append(s.Groups, grp)
	}
	for i := range ic.TrustedTokenIssuers {
		t := ic.TrustedTokenIssuers[i]
		s.Issuers = append(s.Issuers, &t)
	}
	for _, a := range ic.Applications {
		app := &Application{Application: a}
		if !a.ActorPolicy.IsZero() {
			d, err := iampolicy.Parse(a.ActorPolicy.JSON)
			if err != nil {
				return nil, err
			}
			app.Actor = d
		}
		for _, g := range a.JWTBearer {
			if t := s.Issuer(g.TrustedTokenIssuer); t != nil {
				app.Grants = append(app.Grants, Grant{Issuer: t, Audiences: g.Audiences})
			}
		}
		s.Apps = append(s.Apps, app)
	}
	return s, nil
}

// Issuer finds a trusted token issuer by name or ARN.
func (s *State) Issuer(nameOrArn string) *TrustedTokenIssuer {
	for _, t := range s.Issuers {
		if t.Name == nameOrArn || t.Arn == nameOrArn {
			return t
		}
	}
	return nil
}

// App finds an application by ARN (or name).
func (s *State) App(arnOrName string) *Application {
	for _, a := range s.Apps {
		if a.Arn == arnOrName || a.Name == arnOrName {
			return a
		}
	}
	return nil
}

// UserByID finds a user by user id.
func (s *State) UserByID(id string) *User {
	for _, u := range s.users() {
		if u.UserID == id {
			return u
		}
	}
	return nil
}

// UserByName finds a user by user name.
func (s *State) UserByName(name string) *User {
	for _, u := range s.users() {
		if u.UserName == name {
			return u
		}
	}
	return nil
}

// GroupByID finds a group by id.
func (s *State) GroupByID(id string) *Group {
	for _, g := range s.Groups {
		if g.GroupID == id {
			return g
		}
	}
	return nil
}

// GroupByName finds a group by display name.
func (s *State) GroupByName(name string) *Group {
	for _, g := range s.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// AttributeValues returns a user's values of an identity-store attribute path.
func (u *User) AttributeValues(path string) []string {
	switch path {
	case "emails.value":
		return []string{u.Email}
	case "userName":
		return []string{u.UserName}
	case "id":
		return []string{u.UserID}
	case "externalIds.id":
		out := make([]string, 0, len(u.ExternalIDs))
		for _, e := range u.ExternalIDs {
			out = append(out, e.ID)
		}
		return out
	}
	return nil
}

// UsersMatching returns the users whose attribute at path equals value.
// Email comparison ignores case, as the identity store does.
func (s *State) UsersMatching(path, value string) []*User {
	var out []*User
	for _, u := range s.users() {
		for _, v := range u.AttributeValues(path) {
			if v == value || (path == "emails.value" && strings.EqualFold(v, value)) {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

// AuthGroups returns the user's groups in the principal-context form.
func (u *User) AuthGroups() []auth.Group {
	out := make([]auth.Group, 0, len(u.Groups))
	for _, g := range u.Groups {
		out = append(out, auth.Group{ID: g.GroupID, Name: g.Name})
	}
	return out
}

// Assigned reports whether u is assigned to app directly or through a group.
func (a *Application) Assigned(u *User) bool {
	for _, as := range a.Assignments {
		switch as.PrincipalType {
		case "USER":
			if as.Principal == u.UserName {
				return true
			}
		case "GROUP":
			for _, g := range u.Groups {
				if g.Name == as.Principal {
					return true
				}
			}
		}
	}
	return false
}

// MarkUsed records an assertion id as exchanged; it returns false when it
// was exchanged before. Entries are dropped once the assertion has expired.
func (s *State) MarkUsed(id string, expires, now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.used) > 4096 {
		for k, exp := range s.used {
			if exp < now {
				delete(s.used, k)
			}
		}
	}
	if _, ok := s.used[id]; ok {
		return false
	}
	s.used[id] = expires
	return true
}

// PutRefresh stores an issued refresh token.
func (s *State) PutRefresh(token string, rs *RefreshSession) {
	s.mu.Lock()
	s.refresh[token] = rs
	s.mu.Unlock()
}

// TakeRefresh returns and forgets a refresh token (rotation).
func (s *State) TakeRefresh(token string) (*RefreshSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, ok := s.refresh[token]
	delete(s.refresh, token)
	return rs, ok
}

// Reload prepares the directory, issuers and applications of a changed
// world; the commit installs them and keeps the assertion and refresh-token
// ledgers. It runs under the sandbox's write lock.
func (s *State) Reload(w *world.World) (func(), error) {
	n, err := New(w)
	if err != nil {
		return nil, err
	}
	// The instance and the identity store never change: handlers may
	// read them without the lock.
	return func() {
		s.Users, s.Groups, s.Issuers, s.Apps, s.Provisioning = n.Users, n.Groups, n.Issuers, n.Apps, n.Provisioning
	}, nil
}
