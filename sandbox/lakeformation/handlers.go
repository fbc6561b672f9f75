package lakeformation

import (
	"net/http"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Handler serves Lake Formation (restJson1: POST /<Operation>).
type Handler struct {
	Env   *env.Env
	State *State
}

type op struct {
	write bool
	h     func(h *Handler, c *call) (any, *awsproto.Error)
}

var operations = map[string]op{
	"GrantPermissions":      {true, (*Handler).grant},
	"RevokePermissions":     {true, (*Handler).revoke},
	"CreateDataCellsFilter": {true, (*Handler).createFilter},
	"ListPermissions":       {false, (*Handler).listPermissions},
	"ListDataCellsFilter":   {false, (*Handler).listFilters},
	"GetDataCellsFilter":    {false, (*Handler).getFilter},
}

type call struct {
	r    *http.Request
	p    *auth.Principal
	body []byte
}

func (c *call) decode(v any) *awsproto.Error {
	return awsproto.DecodeJSON(c.body, v, "InvalidInputException")
}

func invalid(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInputException", format, a...)
}

// ServeHTTP routes POST /<Operation>, authenticates, and checks the
// caller's identity policy; writes also need a data lake administrator.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	fail := func(e *awsproto.Error) { awsproto.WriteError(w, awsproto.RestJSON, e, rid) }
	name := strings.Trim(r.URL.Path, "/")
	o, ok := operations[name]
	if !ok || r.Method != http.MethodPost {
		fail(awsproto.Errorf(http.StatusNotFound, "UnknownOperationException", "Lake Formation has no operation at %s %s", r.Method, awsproto.Truncate(r.URL.Path, 200)))
		return
	}
	h.Env.Stats.Inc("lakeformation:" + name)
	callctx.SetOperation(r.Context(), name)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		fail(e)
		return
	}
	p, e := h.Env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		fail(awsproto.JSONAuthError(e, awsproto.RestJSON))
		return
	}
	action := "lakeformation:" + name
	if !p.Admin {
		if x := p.Explain(action, "*", nil); x.Decision != iampolicy.Allow {
			callctx.Deny(r.Context(), callctx.IdentityPolicy(p, action, "*", x))
			fail(awsproto.Errorf(http.StatusForbidden, "AccessDeniedException", "User: %s is not authorized to perform: %s on resource: * because no identity-based policy allows the %s action", p.Arn, action, action))
			return
		}
	}
	if o.write && !h.State.IsAdmin(p) {
		callctx.Deny(r.Context(), callctx.Decision{Kind: "lake-formation", Action: action, Resource: "arn:aws:lakeformation:" + h.Env.World.Region + ":" + h.Env.World.AccountID + ":catalog:" + h.Env.World.AccountID,
			Reason: p.Arn + " is not a data lake administrator and holds no grantable permission"})
		fail(awsproto.Errorf(http.StatusForbidden, "AccessDeniedException", "Resource does not exist or requester is not authorized to access requested permissions."))
		return
	}
	out, e := o.h(h, &call{r: r, p: p, body: body})
	if e != nil {
		fail(e)
		return
	}
	awsproto.WriteJSON(w, awsproto.RestJSON, http.StatusOK, out, rid)
}

// change applies a write to the live world's Lake Formation section, as
// every sandbox write does (env.Change): it is checked, kept with --state,
// exported, and the state reloads from it.
func (h *Handler) change(write func(*State) error) *awsproto.Error {
	return h.Env.Change(func(w *world.World) *awsproto.Error {
		s, err := NewState(w, h.State.Catalog, h.Env.Now())
		if err != nil {
			return awsproto.Errorf(http.StatusInternalServerError, "InternalServiceException", "the world's Lake Formation section: %v", err)
		}
		if err := write(s); err != nil {
			return stateError(err)
		}
		w.LakeFormation = s.World()
		return nil
	})
}

func stateError(err error) *awsproto.Error {
	switch x := err.(type) {
	case *NotFoundError:
		return awsproto.Errorf(http.StatusBadRequest, "EntityNotFoundException", "%s", x.Msg)
	case *AlreadyExistsError:
		return awsproto.Errorf(http.StatusBadRequest, "AlreadyExistsException", "%s", x.Msg)
	}
	return invalid("%s", err.Error())
}

// Wire shapes.

type principalShape struct {
	DataLakePrincipalIdentifier *string `json:"DataLakePrincipalIdentifier,omitempty"`
}

type columnWildcard struct {
	ExcludedColumnNames []string `json:"ExcludedColumnNames,omitempty"`
}

type tableShape struct {
	CatalogId     *string   `json:"CatalogId,omitempty"`
	DatabaseName  *string   `json:"DatabaseName,omitempty"`
	Name          *string   `json:"Name,omitempty"`
	TableWildcard *struct{} `json:"TableWildcard,omitempty"`
}

type tableWithColumns struct {
	CatalogId      *string         `json:"CatalogId,omitempty"`
	DatabaseName   *string         `json:"DatabaseName,omitempty"`
	Name           *string         `json:"Name,omitempty"`
	ColumnNames    []string        `json:"ColumnNames,omitempty"`
	ColumnWildcard *columnWildcard `json:"ColumnWildcard,omitempty"`
}

type databaseShape struct {
	CatalogId *string `json:"CatalogId,omitempty"`
	Name      *string `json:"Name,omitempty"`
}

type filterResource struct {
	TableCatalogId *string `json:"TableCatalogId,omitempty"`
	DatabaseName   *string `json:"DatabaseName,omitempty"`
	TableName      *string `json:"TableName,omitempty"`
	Name           *string `json:"Name,omitempty"`
}

type resourceShape struct {
	Catalog          *struct{}         `json:"Catalog,omitempty"`
	Database         *databaseShape    `json:"Database,omitempty"`
	Table            *tableShape       `json:"Table,omitempty"`
	TableWithColumns *tableWithColumns `json:"TableWithColumns,omitempty"`
	DataLocation     any               `json:"DataLocation,omitempty"`
	DataCellsFilter  *filterResource   `json:"DataCellsFilter,omitempty"`
	LFTag            any               `json:"LFTag,omitempty"`
	LFTagPolicy      any               `json:"LFTagPolicy,omitempty"`
	LFTagExpression  any               `json:"LFTagExpression,omitempty"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// grantOf turns a request's principal and resource into a grant.
func (h *Handler) grantOf(pr *principalShape, r *resourceShape, perms, opt []string) (*Grant, *awsproto.Error) {
	if pr == nil || str(pr.DataLakePrincipalIdentifier) == "" {
		return nil, invalid("Principal.DataLakePrincipalIdentifier is required.")
	}
	if r == nil {
		return nil, invalid("Resource is required.")
	}
	g := &Grant{Principal: *pr.DataLakePrincipalIdentifier, Perms: perms, GrantOption: opt}
	n := 0
	if r.Database != nil {
		n++
		g.Kind, g.Database = KindDatabase, str(r.Database.Name)
	}
	if r.Table != nil {
		n++
		g.Kind, g.Database, g.Table, g.TableWildcard = KindTable, str(r.Table.DatabaseName), str(r.Table.Name), r.Table.TableWildcard != nil
		if g.TableWildcard == (g.Table != "") {
			return nil, invalid("Table must name exactly one of Name and TableWildcard.")
		}
	}
	if t := r.TableWithColumns; t != nil {
		n++
		g.Kind, g.Database, g.Table, g.Columns = KindTableWithColumns, str(t.DatabaseName), str(t.Name), t.ColumnNames
		if t.ColumnWildcard != nil {
			g.ColumnWildcard, g.Excluded = true, t.ColumnWildcard.ExcludedColumnNames
		}
		if g.ColumnWildcard == (len(g.Columns) > 0) {
			return nil, invalid("TableWithColumns must have exactly one of ColumnNames and ColumnWildcard.")
		}
	}
	if f := r.DataCellsFilter; f != nil {
		n++
		g.Kind, g.Database, g.Table, g.Filter = KindDataCellsFilter, str(f.DatabaseName), str(f.TableName), str(f.Name)
	}
	if r.Catalog != nil || r.DataLocation != nil || r.LFTag != nil || r.LFTagPolicy != nil || r.LFTagExpression != nil {
		return nil, invalid("The sandbox's Lake Formation grants on Database, Table, TableWithColumns and DataCellsFilter resources only.")
	}
	if n != 1 {
		return nil, invalid("Resource must specify exactly one resource.")
	}
	if g.Database == "" {
		return nil, invalid("DatabaseName is required.")
	}
	if len(perms) == 0 {
		return nil, invalid("Permissions is required.")
	}
	return g, nil
}

type grantIn struct {
	CatalogId                  *string         `json:"CatalogId"`
	Principal                  *principalShape `json:"Principal"`
	Resource                   *resourceShape  `json:"Resource"`
	Permissions                []string        `json:"Permissions"`
	PermissionsWithGrantOption []string        `json:"PermissionsWithGrantOption"`
	Condition                  any             `json:"Condition"`
}

func (h *Handler) grant(c *call) (any, *awsproto.Error) {
	var in grantIn
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	g, e := h.grantOf(in.Principal, in.Resource, in.Permissions, in.PermissionsWithGrantOption)
	if e != nil {
		return nil, e
	}
	if e := h.change(func(s *State) error { return s.Grant(g, h.Env.Now(), c.p.Arn) }); e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

func (h *Handler) revoke(c *call) (any, *awsproto.Error) {
	var in grantIn
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	g, e := h.grantOf(in.Principal, in.Resource, in.Permissions, in.PermissionsWithGrantOption)
	if e != nil {
		return nil, e
	}
	if e := h.change(func(s *State) error { return s.Revoke(g) }); e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

// resourceOf renders a grant's resource.
func (h *Handler) resourceOf(g *Grant) map[string]any {
	cat := h.Env.World.AccountID
	switch g.Kind {
	case KindDatabase:
		return map[string]any{"Database": map[string]any{"CatalogId": cat, "Name": g.Database}}
	case KindTable:
		t := map[string]any{"CatalogId": cat, "DatabaseName": g.Database}
		if g.TableWildcard {
			t["TableWildcard"] = map[string]any{}
		} else {
			t["Name"] = g.Table
		}
		return map[string]any{"Table": t}
	case KindTableWithColumns:
		t := map[string]any{"CatalogId": cat, "DatabaseName": g.Database, "Name": g.Table}
		if g.ColumnWildcard {
			t["ColumnWildcard"] = map[string]any{"ExcludedColumnNames": nonNil(g.Excluded)}
		} else {
			t["ColumnNames"] = g.Columns
		}
		return map[string]any{"TableWithColumns": t}
	}
	return map[string]any{"DataCellsFilter": map[string]any{"TableCatalogId": cat, "DatabaseName": g.Database, "TableName": g.Table, "Name": g.Filter}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *Handler) listPermissions(c *call) (any, *awsproto.Error) {
	var in struct {
		CatalogId      *string         `json:"CatalogId"`
		Principal      *principalShape `json:"Principal"`
		ResourceType   *string         `json:"ResourceType"`
		Resource       *resourceShape  `json:"Resource"`
		NextToken      *string         `json:"NextToken"`
		MaxResults     *int            `json:"MaxResults"`
		IncludeRelated *string         `json:"IncludeRelated"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	var want *Grant
	if in.Resource != nil {
		g, e := h.grantOf(&principalShape{DataLakePrincipalIdentifier: strp("x")}, in.Resource, []string{"ALL"}, nil)
		if e != nil {
			return nil, e
		}
		want = g
	}
	// A data lake administrator sees every grant; anyone else the grants
	// made to the identities they are evaluated as.
	mine := map[string]bool{}
	admin := h.State.IsAdmin(c.p)
	for _, p := range h.State.Principals(c.p) {
		mine[p] = true
	}
	grants := h.State.Grants(func(g *Grant) bool {
		if !admin && !mine[g.Principal] {
			return false
		}
		if in.Principal != nil && str(in.Principal.DataLakePrincipalIdentifier) != g.Principal {
			return false
		}
		if in.ResourceType != nil && *in.ResourceType != g.Kind && !(*in.ResourceType == "TABLE" && g.Kind != KindDatabase) {
			return false
		}
		if want != nil && (!strings.EqualFold(want.Database, g.Database) || (want.Kind != KindDatabase && !strings.EqualFold(want.Table, g.Table))) {
			return false
		}
		return true
	})
	items := make([]map[string]any, 0, len(grants))
	for i := range grants {
		g := &grants[i]
		items = append(items, map[string]any{"Principal": map[string]any{"DataLakePrincipalIdentifier": g.Principal},
			"Resource": h.resourceOf(g), "Permissions": nonNil(g.Perms), "PermissionsWithGrantOption": nonNil(g.GrantOption),
			"LastUpdated": float64(g.Updated.UnixMilli()) / 1000, "LastUpdatedBy": g.UpdatedBy})
	}
	page, next, e := json11.Page("ListPermissions", c.p.Arn, items, in.NextToken, in.MaxResults, 1000)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"PrincipalResourcePermissions": page}
	if next != nil {
		out["NextToken"] = *next
	}
	return out, nil
}

func strp(s string) *string { return &s }

type filterShape struct {
	TableCatalogId *string `json:"TableCatalogId,omitempty"`
	DatabaseName   *string `json:"DatabaseName,omitempty"`
	TableName      *string `json:"TableName,omitempty"`
	Name           *string `json:"Name,omitempty"`
	RowFilter      *struct {
		FilterExpression *string   `json:"FilterExpression,omitempty"`
		AllRowsWildcard  *struct{} `json:"AllRowsWildcard,omitempty"`
	} `json:"RowFilter,omitempty"`
	ColumnNames    []string        `json:"ColumnNames,omitempty"`
	ColumnWildcard *columnWildcard `json:"ColumnWildcard,omitempty"`
	VersionId      *string         `json:"VersionId,omitempty"`
}

func (h *Handler) filterOut(f *Filter) map[string]any {
	m := map[string]any{"TableCatalogId": h.Env.World.AccountID, "DatabaseName": f.Database, "TableName": f.Table, "Name": f.Name, "VersionId": f.Version}
	if f.AllRows {
		m["RowFilter"] = map[string]any{"AllRowsWildcard": map[string]any{}}
	} else {
		m["RowFilter"] = map[string]any{"FilterExpression": f.RowFilter}
	}
	if f.ColumnWildcard {
		m["ColumnWildcard"] = map[string]any{"ExcludedColumnNames": nonNil(f.Excluded)}
	} else {
		m["ColumnNames"] = f.Columns
	}
	return m
}

func (h *Handler) createFilter(c *call) (any, *awsproto.Error) {
	var in struct {
		TableData *filterShape `json:"TableData"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	t := in.TableData
	if t == nil || str(t.DatabaseName) == "" || str(t.TableName) == "" || str(t.Name) == "" || str(t.TableCatalogId) == "" {
		return nil, invalid("TableData needs TableCatalogId, DatabaseName, TableName and Name.")
	}
	if *t.TableCatalogId != h.Env.World.AccountID {
		return nil, awsproto.Errorf(http.StatusBadRequest, "EntityNotFoundException", "Catalog %s not found.", awsproto.Truncate(*t.TableCatalogId, 20))
	}
	f := &Filter{Database: *t.DatabaseName, Table: *t.TableName, Name: *t.Name, Columns: t.ColumnNames}
	switch {
	case t.RowFilter == nil || (t.RowFilter.FilterExpression == nil) == (t.RowFilter.AllRowsWildcard == nil):
		return nil, invalid("RowFilter must have exactly one of FilterExpression and AllRowsWildcard.")
	case t.RowFilter.AllRowsWildcard != nil:
		f.AllRows = true
	default:
		f.RowFilter = *t.RowFilter.FilterExpression
	}
	if t.ColumnWildcard != nil {
		f.ColumnWildcard, f.Excluded = true, t.ColumnWildcard.ExcludedColumnNames
	}
	if f.ColumnWildcard == (len(f.Columns) > 0) {
		return nil, invalid("Exactly one of ColumnNames and ColumnWildcard must be specified.")
	}
	f.Version = "0"
	if e := h.change(func(s *State) error { return s.CreateFilter(f) }); e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

func (h *Handler) listFilters(c *call) (any, *awsproto.Error) {
	var in struct {
		Table      *tableShape `json:"Table"`
		NextToken  *string     `json:"NextToken"`
		MaxResults *int        `json:"MaxResults"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	db, table := "", ""
	if in.Table != nil {
		db, table = str(in.Table.DatabaseName), str(in.Table.Name)
	}
	fs := h.State.Filters(db, table)
	items := make([]map[string]any, 0, len(fs))
	for i := range fs {
		items = append(items, h.filterOut(&fs[i]))
	}
	page, next, e := json11.Page("ListDataCellsFilter", db+"."+table, items, in.NextToken, in.MaxResults, 1000)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"DataCellsFilters": page}
	if next != nil {
		out["NextToken"] = *next
	}
	return out, nil
}

func (h *Handler) getFilter(c *call) (any, *awsproto.Error) {
	var in filterResource
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if str(in.TableCatalogId) == "" || str(in.DatabaseName) == "" || str(in.TableName) == "" || str(in.Name) == "" {
		return nil, invalid("TableCatalogId, DatabaseName, TableName and Name are required.")
	}
	f, ok := h.State.Filter(*in.DatabaseName, *in.TableName, *in.Name)
	if !ok {
		return nil, awsproto.Errorf(http.StatusBadRequest, "EntityNotFoundException", "Data cells filter %s not found.", awsproto.Truncate(*in.Name, 255))
	}
	return map[string]any{"DataCellsFilter": h.filterOut(&f)}, nil
}
