package sandbox

import (
	"net/http"
	"time"

	"github.com/tipctl/tipctl/sandbox/access"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/console"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
)

// serveConsole serves /_sandbox/console/… and reports whether it did.
func (s *Sandbox) serveConsole(w http.ResponseWriter, r *http.Request) bool {
	if !console.Serves(r.URL.Path) || s.Trail == nil {
		return false
	}
	s.consoleOnce.Do(func() { s.console = console.New(console.Source{Recorder: s.Trail, World: s.worldView}) })
	if s.console == nil { // the sandbox is closing
		return false
	}
	s.console.ServeHTTP(w, r)
	return true
}

// stopConsole ends the console's event streams so that Close does not wait on them.
func (s *Sandbox) stopConsole() {
	s.consoleOnce.Do(func() {}) // no console after this point
	if c, ok := s.console.(*console.Handler); ok {
		c.Stop()
	}
}

type personView struct {
	UserName string   `json:"user_name"`
	Email    string   `json:"email"`
	UserID   string   `json:"user_id"`
	Groups   []string `json:"groups"`
}

type worldView struct {
	People       []personView  `json:"people"`
	Groups       []string      `json:"groups"`
	Roles        []string      `json:"roles"`
	Issuers      []string      `json:"trusted_token_issuers"`
	Applications []string      `json:"applications"`
	Matrix       access.Matrix `json:"matrix"`
}

// worldView lists the world and computes who can reach what, with the
// evaluation the services run, for an identity-enhanced session of each
// person (see matrix.go for the columns).
func (s *Sandbox) worldView() any {
	var v worldView
	oidc, _ := s.handlers[SvcSSOOIDC].(*identitycenter.OIDC)
	if oidc == nil {
		return v
	}
	idc := oidc.State()
	for _, u := range idc.Users {
		p := personView{UserName: u.UserName, Email: u.Email, UserID: u.UserID, Groups: []string{}}
		for _, g := range u.Groups {
			p.Groups = append(p.Groups, g.Name)
		}
		v.People = append(v.People, p)
	}
	for _, g := range idc.Groups {
		v.Groups = append(v.Groups, g.Name)
	}
	for _, r := range s.Env.IAM.RoleList {
		v.Roles = append(v.Roles, r.Name+" ("+r.Arn+")")
	}
	for _, t := range idc.Issuers {
		v.Issuers = append(v.Issuers, t.Name+" ("+t.IssuerURL+")")
	}
	for _, a := range idc.Apps {
		v.Applications = append(v.Applications, a.Name+" ("+a.Arn+")")
	}

	var app *identitycenter.Application
	if len(idc.Apps) > 0 {
		app = idc.Apps[0]
	}
	var people []access.Person
	exp := s.Env.Now().Add(time.Hour)
	for _, u := range idc.Users {
		if app == nil {
			break
		}
		people = append(people, access.Person{Label: u.Email, Session: &auth.Principal{AccountID: s.Env.World.AccountID,
			Arn: "identity-enhanced session of " + u.UserName, Context: idc.IdentityContext(app, u, exp)}})
	}
	v.Matrix = access.Build(people, s.matrixProviders()...)
	return v
}
