package redshiftdata

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// likePattern turns a SQL LIKE pattern (% and _) into a regexp.
func likePattern(p *string) *regexp.Regexp {
	if p == nil || *p == "" {
		return regexp.MustCompile(`^`)
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range *p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

type catalogIn struct {
	target
	ConnectedDatabase *string `json:"ConnectedDatabase"`
	SchemaPattern     *string `json:"SchemaPattern"`
	TablePattern      *string `json:"TablePattern"`
	Schema            *string `json:"Schema"`
	Table             *string `json:"Table"`
	NextToken         *string `json:"NextToken"`
	MaxResults        *int    `json:"MaxResults"`
}

func (h *Handler) catalogCall(c *json11.Call) (*catalogIn, *Database, User, *awsproto.Error) {
	var in catalogIn
	if e := c.Decode(&in); e != nil {
		return nil, nil, User{}, e
	}
	_, db, e := h.database(c, in.target)
	if e != nil {
		return nil, nil, User{}, e
	}
	return &in, db, h.State.UserOf(c.Caller), nil
}

func pageOut[T any](op, key, member string, items []T, in *catalogIn) (any, *awsproto.Error) {
	page, next, e := json11.Page(op, key, items, in.NextToken, in.MaxResults, 1000)
	if e != nil {
		return nil, e
	}
	out := map[string]any{member: page}
	if next != nil {
		out["NextToken"] = *next
	}
	return out, nil
}

func (h *Handler) listDatabases(c *json11.Call) (any, *awsproto.Error) {
	in, _, _, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	wg, _ := h.State.Workgroup(*in.WorkgroupName)
	dbs, _ := wg.Databases()
	return pageOut("ListDatabases", wg.Name, "Databases", sortedKeys(dbs), in)
}

func (h *Handler) listSchemas(c *json11.Call) (any, *awsproto.Error) {
	in, db, _, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	re := likePattern(in.SchemaPattern)
	var out []string
	for _, s := range append(db.store.Schemas(), "pg_catalog", "information_schema") {
		if re.MatchString(s) {
			out = append(out, s)
		}
	}
	return pageOut("ListSchemas", db.Name, "Schemas", sortStrings(out), in)
}

func sortStrings(s []string) []string {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return sortedKeys(m)
}

// visible reports whether u may read some column of table.
func (d *Database) visible(u User, table string) bool {
	return d.sec.access(u, table, nil).ok
}

func (h *Handler) listTables(c *json11.Call) (any, *awsproto.Error) {
	in, db, u, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	sre, tre := likePattern(in.SchemaPattern), likePattern(in.TablePattern)
	type member struct {
		Name   string `json:"name"`
		Schema string `json:"schema"`
		Type   string `json:"type"`
	}
	var out []member
	for _, s := range sortStrings(db.store.Schemas()) {
		if !sre.MatchString(s) {
			continue
		}
		ts, _ := db.store.Tables(context.Background(), s)
		for _, t := range ts {
			if tre.MatchString(t.Name) && db.visible(u, s+"."+t.Name) {
				out = append(out, member{Name: t.Name, Schema: s, Type: "TABLE"})
			}
		}
		for _, v := range db.viewList(s) {
			if tre.MatchString(v.name) && db.visible(u, s+"."+v.name) {
				out = append(out, member{Name: v.name, Schema: s, Type: "VIEW"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return pageOut("ListTables", db.Name, "Tables", out, in)
}

func (h *Handler) describeTable(c *json11.Call) (any, *awsproto.Error) {
	in, db, u, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	schema := "public"
	if in.Schema != nil && *in.Schema != "" {
		schema = *in.Schema
	}
	if in.Table == nil || *in.Table == "" {
		return nil, json11.Validation("Table is required.")
	}
	t, ok := db.store.Table(context.Background(), schema, *in.Table)
	if v := db.viewOf(schema + "." + *in.Table); v != nil {
		t, ok = sqlengine.Table{Schema: schema, Name: v.name, Columns: v.cols}, true
	}
	if !ok {
		return nil, json11.Validation(`ERROR: relation "%s.%s" does not exist`, awsproto.Truncate(schema, 64), awsproto.Truncate(*in.Table, 64))
	}
	a := db.sec.access(u, schema+"."+t.Name, nil)
	if !a.ok {
		return nil, json11.Validation("ERROR: permission denied for relation %s", t.Name)
	}
	var cols []ColumnMetadata
	for _, col := range t.Columns {
		if a.cols == nil || a.cols[col.Name] {
			cols = append(cols, columnMetadata(sqlengine.ResultColumn{Name: col.Name, Type: col.Type}, schema, t.Name))
		}
	}
	out, e := pageOut("DescribeTable", schema+"."+t.Name, "ColumnList", cols, in)
	if e != nil {
		return nil, e
	}
	out.(map[string]any)["TableName"] = t.Name
	return out, nil
}
