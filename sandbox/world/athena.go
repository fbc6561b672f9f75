package world

import (
	"fmt"
	"strings"
)

// Athena declares Athena SQL workgroups.
type Athena struct {
	Workgroups []AthenaWorkgroup `yaml:"workgroups,omitempty"`
}

// AthenaWorkgroup is an Athena workgroup and where it writes query results.
type AthenaWorkgroup struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// OutputLocation is the s3:// prefix query results are written under.
	OutputLocation string `yaml:"output_location"`
	// IdentityCenter enables IAM Identity Center on the workgroup: only
	// identity-enhanced sessions may run queries in it.
	IdentityCenter bool `yaml:"identity_center,omitempty"`
	// S3AccessGrants writes results as the person through S3 Access
	// Grants (QueryResultsS3AccessGrantsConfiguration); UserLevelPrefix
	// puts them under <output>/<Identity Center user id>/.
	S3AccessGrants  bool `yaml:"s3_access_grants,omitempty"`
	UserLevelPrefix bool `yaml:"user_level_prefix,omitempty"`
}

// Glue declares the Glue Data Catalog: databases and their tables.
type Glue struct {
	Databases []GlueDatabase `yaml:"databases,omitempty"`
}

// GlueDatabase is a Data Catalog database.
type GlueDatabase struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description,omitempty"`
	Tables      []GlueTable `yaml:"tables,omitempty"`
}

// GlueTable is an external table over CSV objects in the sandbox's S3.
type GlueTable struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Location is the s3://bucket/prefix/ whose objects hold the rows.
	Location string       `yaml:"location"`
	Columns  []GlueColumn `yaml:"columns"`
	// SkipHeader skips the first line of each object (skip.header.line.count=1).
	SkipHeader bool `yaml:"skip_header,omitempty"`
}

// GlueColumn is a table column with its Hive type (string, int, bigint,
// double, decimal(p,s), date, timestamp, boolean).
type GlueColumn struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`
	Comment string `yaml:"comment,omitempty"`
}

// LakeFormation declares Lake Formation permissions on the catalog.
type LakeFormation struct {
	// Admins are data lake administrators (IAM ARNs) besides the world's
	// administrator.
	Admins           []string            `yaml:"admins,omitempty"`
	DataCellsFilters []LFDataCellsFilter `yaml:"data_cells_filters,omitempty"`
	Permissions      []LFPermission      `yaml:"permissions,omitempty"`
}

// LFDataCellsFilter is a data cells filter: the rows RowFilter keeps
// (empty: all rows) and the columns listed (or all but ExcludedColumns).
type LFDataCellsFilter struct {
	Name            string   `yaml:"name"`
	Database        string   `yaml:"database"`
	Table           string   `yaml:"table"`
	RowFilter       string   `yaml:"row_filter,omitempty"`
	Columns         []string `yaml:"columns,omitempty"`
	ExcludedColumns []string `yaml:"excluded_columns,omitempty"`
}

// LFPermission grants Permissions to a principal on a table, on some of
// its columns (Columns, or all but ExcludedColumns), or through a data
// cells filter. Principal is group:NAME or user:NAME (Identity Center,
// made arn:aws:identitystore:::group/<id>), or an IAM ARN.
type LFPermission struct {
	Principal       string   `yaml:"principal"`
	Database        string   `yaml:"database"`
	Table           string   `yaml:"table,omitempty"`
	Columns         []string `yaml:"columns,omitempty"`
	ExcludedColumns []string `yaml:"excluded_columns,omitempty"`
	DataCellsFilter string   `yaml:"data_cells_filter,omitempty"`
	// TableWildcard grants on every table of Database; ColumnWildcard on
	// every column of Table but ExcludedColumns.
	TableWildcard  bool     `yaml:"table_wildcard,omitempty"`
	ColumnWildcard bool     `yaml:"column_wildcard,omitempty"`
	Permissions    []string `yaml:"permissions,omitempty"`
	// GrantOption are the permissions the principal may grant on.
	GrantOption []string `yaml:"grant_option,omitempty"`
}

// GlueTableByName finds a table.
func (w *World) GlueTableByName(db, table string) (*GlueTable, bool) {
	for i := range w.Glue.Databases {
		d := &w.Glue.Databases[i]
		if d.Name != db {
			continue
		}
		for j := range d.Tables {
			if d.Tables[j].Name == table {
				return &d.Tables[j], true
			}
		}
	}
	return nil, false
}

var hiveTypes = []string{"string", "varchar", "char", "int", "integer", "bigint", "smallint", "tinyint", "double", "float", "decimal", "date", "timestamp", "boolean"}

func (w *World) validateAthena(c *checker) {
	seen := map[string]bool{}
	for i, wg := range w.Athena.Workgroups {
		p := func(f string) string { return fmt.Sprintf("athena.workgroups[%d].%s", i, f) }
		if c.required(p("name"), wg.Name) {
			c.unique(seen, p("name"), wg.Name)
		}
		if !strings.HasPrefix(wg.OutputLocation, "s3://") || len(wg.OutputLocation) < 6 {
			c.add(p("output_location"), "must be an s3://bucket/prefix/ URI")
		}
	}
	dbs := map[string]bool{}
	for i, d := range w.Glue.Databases {
		p := fmt.Sprintf("glue.databases[%d]", i)
		if c.required(p+".name", d.Name) {
			c.unique(dbs, p+".name", d.Name)
		}
		tables := map[string]bool{}
		for j, t := range d.Tables {
			tp := fmt.Sprintf("%s.tables[%d]", p, j)
			if c.required(tp+".name", t.Name) {
				c.unique(tables, tp+".name", t.Name)
			}
			if !strings.HasPrefix(t.Location, "s3://") {
				c.add(tp+".location", "must be an s3://bucket/prefix/ URI")
			}
			if len(t.Columns) == 0 {
				c.add(tp+".columns", "a table needs at least one column")
			}
			cols := map[string]bool{}
			for k, col := range t.Columns {
				cp := fmt.Sprintf("%s.columns[%d]", tp, k)
				if c.required(cp+".name", col.Name) {
					c.unique(cols, cp+".name", col.Name)
				}
				base, _, _ := strings.Cut(strings.ToLower(col.Type), "(")
				ok := false
				for _, h := range hiveTypes {
					ok = ok || base == h
				}
				if !ok {
					c.add(cp+".type", "unknown type %q (known: %s)", col.Type, strings.Join(hiveTypes, ", "))
				}
			}
		}
	}
	lf := w.LakeFormation
	filters := map[string]bool{}
	for i, f := range lf.DataCellsFilters {
		p := fmt.Sprintf("lake_formation.data_cells_filters[%d]", i)
		c.required(p+".name", f.Name)
		if _, ok := w.GlueTableByName(f.Database, f.Table); !ok {
			c.add(p, "no Glue table %s.%s in the world", f.Database, f.Table)
		}
		c.unique(filters, p+".name", f.Database+"."+f.Table+"."+f.Name)
	}
	for i, perm := range lf.Permissions {
		p := fmt.Sprintf("lake_formation.permissions[%d]", i)
		c.required(p+".principal", perm.Principal)
		if !dbs[perm.Database] {
			c.add(p+".database", "no Glue database %q in the world", perm.Database)
		}
		if perm.Table != "" {
			if _, ok := w.GlueTableByName(perm.Database, perm.Table); !ok {
				c.add(p+".table", "no Glue table %s.%s in the world", perm.Database, perm.Table)
			}
		}
		if perm.DataCellsFilter != "" && !filters[perm.Database+"."+perm.Table+"."+perm.DataCellsFilter] {
			c.add(p+".data_cells_filter", "no data cells filter %q on %s.%s", perm.DataCellsFilter, perm.Database, perm.Table)
		}
		if len(perm.Permissions) == 0 && len(perm.GrantOption) == 0 {
			c.add(p+".permissions", "list at least one permission (SELECT, DESCRIBE, ALL)")
		}
	}
}
