package sandbox

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/console"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/quicksight"
	"github.com/tipctl/tipctl/sandbox/s3control"
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

type cell struct {
	Allowed bool   `json:"allowed"`
	Via     string `json:"via,omitempty"`
}

type matrixRow struct {
	Person string `json:"person"`
	Cells  []cell `json:"cells"`
}

type worldView struct {
	People       []personView `json:"people"`
	Groups       []string     `json:"groups"`
	Roles        []string     `json:"roles"`
	Issuers      []string     `json:"trusted_token_issuers"`
	Applications []string     `json:"applications"`
	Matrix       struct {
		Resources []string    `json:"resources"`
		Rows      []matrixRow `json:"rows"`
	} `json:"matrix"`
}

// worldView lists the world and computes who can reach what, with the
// evaluation the services run: S3 Access Grants matching for an
// identity-enhanced session of each person (as GetDataAccess does) and
// QuickSight's dashboard permissions (as snapshot jobs check them).
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

	grants, _ := s.handlers[SvcS3Control].(*s3control.Handler)
	qs, _ := s.handlers[SvcQuickSight].(*quicksight.Service)
	var prefixes []string
	if grants != nil {
		seen := map[string]bool{}
		for _, g := range grants.State.Grants {
			if g.GranteeType == s3control.IAMGrantee {
				continue
			}
			p := strings.TrimSuffix(g.Scope, "*")
			if !seen[p] {
				seen[p] = true
				prefixes = append(prefixes, p)
			}
		}
		sort.Strings(prefixes)
	}
	var dashboards []*quicksight.Dashboard
	if qs != nil {
		dashboards = qs.State.Dashboards
	}
	v.Matrix.Resources = append([]string{}, prefixes...)
	for _, d := range dashboards {
		v.Matrix.Resources = append(v.Matrix.Resources, "quicksight:dashboard/"+d.ID)
	}
	var app *identitycenter.Application
	if len(idc.Apps) > 0 {
		app = idc.Apps[0]
	}
	now := s.Env.Now()
	for _, u := range idc.Users {
		row := matrixRow{Person: u.Email}
		if grants != nil && app != nil {
			p := &auth.Principal{AccountID: s.Env.World.AccountID, Arn: "identity-enhanced session of " + u.UserName,
				Context: idc.IdentityContext(app, u, now.Add(time.Hour))}
			for _, prefix := range prefixes {
				t, e := s3control.ParseTarget(prefix+"*", "")
				if e != nil {
					row.Cells = append(row.Cells, cell{})
					continue
				}
				g, e := grants.State.Match(p, t, s3control.Read)
				if e != nil {
					row.Cells = append(row.Cells, cell{})
					continue
				}
				row.Cells = append(row.Cells, cell{Allowed: true, Via: "access grant " + g.Grantee + " " + g.Permission + " " + g.Scope})
			}
		}
		for _, d := range dashboards {
			qu := (*quicksight.User)(nil)
			if qs != nil {
				qu = qs.State.UserForEmail(u.Email)
			}
			if qu == nil || !d.CanView(qu) {
				row.Cells = append(row.Cells, cell{})
				continue
			}
			via := "QuickSight user " + qu.UserName
			if len(d.Viewers) > 0 {
				via += " (viewers " + strings.Join(d.Viewers, ", ") + ")"
			}
			row.Cells = append(row.Cells, cell{Allowed: true, Via: via})
		}
		v.Matrix.Rows = append(v.Matrix.Rows, row)
	}
	return v
}
