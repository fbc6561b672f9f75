package glue

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/env"
)

// Visibility decides what of the catalog a caller sees (Lake Formation).
type Visibility interface {
	Describable(p *auth.Principal, db string, t *Table) bool
	VisibleColumns(p *auth.Principal, t *Table) []string
}

// Handler serves Glue's catalog reads (awsJson1_1, AWSGlue.<Op>).
type Handler struct {
	*json11.API
	Catalog *Catalog
	LF      Visibility
}

// New builds the wire handler over catalog; lf filters what callers see.
func New(e *env.Env, catalog *Catalog, lf Visibility) *Handler {
	h := &Handler{Catalog: catalog, LF: lf}
	h.API = &json11.API{Name: "glue", TargetPrefix: "AWSGlue.", Service: "glue", Runtime: e, Stats: e.Stats,
		Operations: map[string]json11.Operation{
			"GetDatabase":  h.getDatabase,
			"GetDatabases": h.getDatabases,
			"GetTable":     h.getTable,
			"GetTables":    h.getTables,
		}}
	return h
}

func notFound(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "EntityNotFoundException", format, a...)
}

func (h *Handler) catalogID(id *string) *awsproto.Error {
	if id != nil && *id != h.Catalog.AccountID {
		return notFound("Catalog %s not found.", awsproto.Truncate(*id, 20))
	}
	return nil
}

func (h *Handler) dbArn(name string) string {
	return "arn:aws:glue:" + h.Catalog.Region + ":" + h.Catalog.AccountID + ":database/" + name
}

// DatabaseOut renders a database as Glue does.
func (h *Handler) DatabaseOut(d *Database) map[string]any {
	return map[string]any{"Name": d.Name, "Description": d.Description, "CatalogId": h.Catalog.AccountID,
		"CreateTime": epoch(d), "Parameters": map[string]string{},
		"CreateTableDefaultPermissions": []any{}}
}

func epoch(d *Database) float64 { return float64(d.Created.Unix()) }

// TableOut renders a table with the columns cols.
func (h *Handler) TableOut(t *Table, cols []string) map[string]any {
	columns := []map[string]any{}
	for _, n := range cols {
		c, _ := t.Column(n)
		m := map[string]any{"Name": c.Name, "Type": c.Type}
		if c.Comment != "" {
			m["Comment"] = c.Comment
		}
		columns = append(columns, m)
	}
	params := map[string]string{"classification": "csv", "EXTERNAL": "TRUE"}
	serde := map[string]string{"field.delim": ","}
	if t.SkipHeader {
		params["skip.header.line.count"] = "1"
	}
	return map[string]any{"Name": t.Name, "DatabaseName": t.Database, "Description": t.Description, "CatalogId": h.Catalog.AccountID,
		"CreateTime": float64(t.Created.Unix()), "UpdateTime": float64(t.Created.Unix()), "Retention": 0, "TableType": "EXTERNAL_TABLE",
		"Parameters": params, "PartitionKeys": []any{}, "IsRegisteredWithLakeFormation": true, "VersionId": "0", "CreatedBy": "arn:aws:iam::" + h.Catalog.AccountID + ":user/admin",
		"StorageDescriptor": map[string]any{"Columns": columns, "Location": t.Location,
			"InputFormat": "org.apache.hadoop.mapred.TextInputFormat", "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
			"Compressed": false, "NumberOfBuckets": -1, "StoredAsSubDirectories": false, "BucketColumns": []any{}, "SortColumns": []any{},
			"Parameters": map[string]string{}, "SerdeInfo": map[string]any{"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "Parameters": serde}}}
}

func (h *Handler) getDatabase(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		CatalogId *string `json:"CatalogId"`
		Name      *string `json:"Name"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.Name == nil || *in.Name == "" {
		return nil, json11.Required("name")
	}
	if e := h.catalogID(in.CatalogId); e != nil {
		return nil, e
	}
	if e := c.Authorize(h.dbArn(*in.Name)); e != nil {
		return nil, e
	}
	d, ok := h.Catalog.Database(*in.Name)
	if !ok || !h.LF.Describable(c.Caller, d.Name, nil) {
		return nil, notFound("Database %s not found.", awsproto.Truncate(*in.Name, 255))
	}
	return map[string]any{"Database": h.DatabaseOut(d)}, nil
}

func (h *Handler) getDatabases(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		CatalogId         *string  `json:"CatalogId"`
		NextToken         *string  `json:"NextToken"`
		MaxResults        *int     `json:"MaxResults"`
		ResourceShareType *string  `json:"ResourceShareType"`
		AttributesToGet   []string `json:"AttributesToGet"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if e := h.catalogID(in.CatalogId); e != nil {
		return nil, e
	}
	if e := c.Authorize(h.dbArn("*")); e != nil {
		return nil, e
	}
	items := []map[string]any{}
	for _, d := range h.Catalog.Databases {
		if h.LF.Describable(c.Caller, d.Name, nil) {
			items = append(items, h.DatabaseOut(d))
		}
	}
	page, next, e := json11.Page("GetDatabases", "", items, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "DatabaseList", Items: page, Next: next}, nil
}

func (h *Handler) getTable(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		CatalogId    *string `json:"CatalogId"`
		DatabaseName *string `json:"DatabaseName"`
		Name         *string `json:"Name"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.DatabaseName == nil || in.Name == nil {
		return nil, json11.Required("databaseName")
	}
	if e := h.catalogID(in.CatalogId); e != nil {
		return nil, e
	}
	if e := c.Authorize("arn:aws:glue:" + h.Catalog.Region + ":" + h.Catalog.AccountID + ":table/" + *in.DatabaseName + "/" + *in.Name); e != nil {
		return nil, e
	}
	if _, ok := h.Catalog.Database(*in.DatabaseName); !ok {
		return nil, notFound("Database %s not found.", awsproto.Truncate(*in.DatabaseName, 255))
	}
	t, ok := h.Catalog.Table(*in.DatabaseName, *in.Name)
	var cols []string
	if ok {
		cols = h.LF.VisibleColumns(c.Caller, t)
	}
	if cols == nil {
		return nil, notFound("Table %s not found.", awsproto.Truncate(*in.Name, 255))
	}
	return map[string]any{"Table": h.TableOut(t, cols)}, nil
}

func (h *Handler) getTables(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		CatalogId    *string `json:"CatalogId"`
		DatabaseName *string `json:"DatabaseName"`
		Expression   *string `json:"Expression"`
		NextToken    *string `json:"NextToken"`
		MaxResults   *int    `json:"MaxResults"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.DatabaseName == nil {
		return nil, json11.Required("databaseName")
	}
	if e := h.catalogID(in.CatalogId); e != nil {
		return nil, e
	}
	if e := c.Authorize("arn:aws:glue:" + h.Catalog.Region + ":" + h.Catalog.AccountID + ":table/" + *in.DatabaseName + "/*"); e != nil {
		return nil, e
	}
	d, ok := h.Catalog.Database(*in.DatabaseName)
	if !ok {
		return nil, notFound("Database %s not found.", awsproto.Truncate(*in.DatabaseName, 255))
	}
	re, e := Expression(in.Expression)
	if e != nil {
		return nil, e
	}
	items := []map[string]any{}
	for _, t := range d.Tables {
		if !re.MatchString(t.Name) {
			continue
		}
		if cols := h.LF.VisibleColumns(c.Caller, t); cols != nil {
			items = append(items, h.TableOut(t, cols))
		}
	}
	page, next, e := json11.Page("GetTables", d.Name, items, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "TableList", Items: page, Next: next}, nil
}

// Expression compiles a Glue/Athena table name expression: a regular
// expression where * matches anything and | separates alternatives.
func Expression(expr *string) (*regexp.Regexp, *awsproto.Error) {
	if expr == nil || *expr == "" {
		return regexp.MustCompile(`^`), nil
	}
	if len(*expr) > 2048 {
		return nil, json11.Validation("Expression is longer than 2048 characters.")
	}
	var alts []string
	for _, a := range strings.Split(*expr, "|") {
		alts = append(alts, strings.ReplaceAll(regexp.QuoteMeta(a), `\*`, ".*"))
	}
	return regexp.MustCompile("^(?:" + strings.Join(alts, "|") + ")$"), nil
}
