// Package access computes the console's who-can-access-what matrix: people
// (rows) × resources (columns). Each service contributes its columns
// through a Provider, which answers with the same evaluation the service
// runs on a real call, for an identity-enhanced session of the person. A
// new service (Athena tables, say) is one more Provider.
package access

import "github.com/tipctl/tipctl/sandbox/auth"

// Cell is one person's access to one resource.
type Cell struct {
	Allowed bool `json:"allowed"`
	// Label is a short summary for the table ("RLS eu_region_filter rows");
	// the console shows Via when it is empty.
	Label string `json:"label,omitempty"`
	// Via says which grant, policy or ACL entry decided (or, when refused,
	// what is missing).
	Via string `json:"via,omitempty"`
}

// Provider is one service's columns of the matrix.
type Provider interface {
	// Resources names the columns, e.g. "s3://analytics-data/emea/",
	// "redshift:<workgroup>/<db>/public.sales_data".
	Resources() []string
	// Evaluate answers for the person whose identity-enhanced session is p,
	// one cell per resource, in the order Resources gave them.
	Evaluate(p *auth.Principal, resources []string) []Cell
}

// Person is one row: a label (the email) and the identity-enhanced session
// the services evaluate.
type Person struct {
	Label   string
	Session *auth.Principal
}

// Row is one person's cells.
type Row struct {
	Person string `json:"person"`
	Cells  []Cell `json:"cells"`
}

// Matrix is the whole table.
type Matrix struct {
	Resources []string `json:"resources"`
	Rows      []Row    `json:"rows"`
}

// Build evaluates every person against every provider's resources.
func Build(people []Person, providers ...Provider) Matrix {
	m := Matrix{Resources: []string{}, Rows: []Row{}}
	cols := make([][]string, len(providers))
	for i, p := range providers {
		cols[i] = p.Resources()
		m.Resources = append(m.Resources, cols[i]...)
	}
	for _, person := range people {
		row := Row{Person: person.Label, Cells: []Cell{}}
		for i, p := range providers {
			cells := p.Evaluate(person.Session, cols[i])
			if len(cells) != len(cols[i]) { // a provider fault must not shift the columns
				cells = make([]Cell, len(cols[i]))
			}
			row.Cells = append(row.Cells, cells...)
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}
