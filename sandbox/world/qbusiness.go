package world

import (
	"fmt"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// QBusiness declares Amazon Q Business applications and the documents of
// their index, each with the access control list Q Business keeps from the
// data source.
type QBusiness struct {
	Applications []QBusinessApplication `yaml:"applications,omitempty"`
}

// QBusinessApplication is an application with an Identity Center identity
// type and one index.
type QBusinessApplication struct {
	// ID is the 36-character application identifier.
	ID        string              `yaml:"id"`
	Name      string              `yaml:"name"`
	Documents []QBusinessDocument `yaml:"documents,omitempty"`
}

// QBusinessDocument is one indexed document. A person may see it when
// they are one of Users or a member of one of Groups (Identity Center
// user and group names); a document with neither is seen by nobody.
type QBusinessDocument struct {
	ID     string   `yaml:"id"`
	Title  string   `yaml:"title"`
	Text   string   `yaml:"text"`
	Users  []string `yaml:"users,omitempty"`
	Groups []string `yaml:"groups,omitempty"`
}

var qbusinessIDRe = lazyre.New(`^[a-zA-Z0-9][a-zA-Z0-9-]{35}$`)

func (w *World) validateQBusiness(c *checker) {
	users, groups := map[string]bool{}, map[string]bool{}
	for _, u := range w.IdentityCenter.Users {
		users[u.UserName] = true
	}
	for _, g := range w.IdentityCenter.Groups {
		groups[g.Name] = true
	}
	seen := map[string]bool{}
	for i, a := range w.QBusiness.Applications {
		p := func(f string) string { return fmt.Sprintf("qbusiness.applications[%d].%s", i, f) }
		if c.required(p("id"), a.ID) {
			if !qbusinessIDRe.MatchString(a.ID) {
				c.add(p("id"), "%q is not a 36-character application id", a.ID)
			}
			c.unique(seen, p("id"), a.ID)
		}
		c.required(p("name"), a.Name)
		docs := map[string]bool{}
		for j, d := range a.Documents {
			dp := p(fmt.Sprintf("documents[%d]", j))
			if c.required(dp+".id", d.ID) {
				c.unique(docs, dp+".id", d.ID)
			}
			c.required(dp+".title", d.Title)
			c.required(dp+".text", d.Text)
			for _, u := range d.Users {
				if !users[u] {
					c.add(dp+".users", "%q is not an identity_center user", u)
				}
			}
			for _, g := range d.Groups {
				if !groups[g] {
					c.add(dp+".groups", "%q is not an identity_center group", g)
				}
			}
		}
	}
}
