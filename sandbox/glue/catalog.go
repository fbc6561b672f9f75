// Package glue is the sandbox's AWS Glue Data Catalog: the world's
// databases and their external tables over CSV objects in the sandbox's
// S3. Athena reads the rows through Rows; Lake Formation decides who sees
// which (sandbox/lakeformation). The wire handlers (awsJson1_1,
// AWSGlue.<Op>) are in handlers.go.
package glue

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/s3"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Database is a catalog database.
type Database struct {
	Name, Description string
	Tables            []*Table
	Created           time.Time
}

// Table is an external table whose rows are the CSV objects under Location.
type Table struct {
	Database, Name, Description string
	Location                    string
	Columns                     []world.GlueColumn
	SkipHeader                  bool
	Created                     time.Time
}

// Column finds a column by name.
func (t *Table) Column(name string) (world.GlueColumn, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return world.GlueColumn{}, false
}

// Lister lists a bucket's keys (the sandbox's S3 store satisfies it).
type Lister interface {
	List(bucket string, in s3.ListInput) (*s3.ListResult, *awsproto.Error)
}

// Catalog is the Data Catalog of one account.
type Catalog struct {
	AccountID, Region string
	Databases         []*Database
	objects           env.ObjectStore
}

// NewCatalog builds the catalog of the world.
func NewCatalog(e *env.Env) *Catalog {
	w := e.World
	c := &Catalog{AccountID: w.AccountID, Region: w.Region, objects: e.Objects}
	created := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	for _, d := range w.Glue.Databases {
		db := &Database{Name: d.Name, Description: d.Description, Created: created}
		for _, t := range d.Tables {
			db.Tables = append(db.Tables, &Table{Database: d.Name, Name: t.Name, Description: t.Description,
				Location: t.Location, Columns: t.Columns, SkipHeader: t.SkipHeader, Created: created})
		}
		c.Databases = append(c.Databases, db)
	}
	return c
}

// Database finds a database (names are case-insensitive, as in Glue).
func (c *Catalog) Database(name string) (*Database, bool) {
	for _, d := range c.Databases {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return nil, false
}

// Table finds a table.
func (c *Catalog) Table(db, name string) (*Table, bool) {
	d, ok := c.Database(db)
	if !ok {
		return nil, false
	}
	for _, t := range d.Tables {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return nil, false
}

// Arn is the table's ARN.
func (c *Catalog) Arn(t *Table) string {
	return fmt.Sprintf("arn:aws:glue:%s:%s:table/%s/%s", c.Region, c.AccountID, t.Database, t.Name)
}

// MaxTableBytes bounds the objects one table read loads.
const MaxTableBytes = 64 << 20

// Rows reads the table's rows from its objects, in key order: one string
// per column ("" for an empty field), short records padded.
func (c *Catalog) Rows(t *Table) ([][]string, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(t.Location, "s3://"), "/")
	l, ok := c.objects.(Lister)
	if !ok || !c.objects.BucketExists(bucket) {
		return nil, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: the table location %s is not readable", t.Location)
	}
	var keys []string
	after := ""
	for {
		page, e := l.List(bucket, s3.ListInput{Prefix: prefix, After: after, MaxKeys: 1000})
		if e != nil {
			return nil, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: %s", e.Message)
		}
		for _, o := range page.Objects {
			if !strings.HasSuffix(o.Key, "/") && !strings.HasSuffix(o.Key, ".metadata") {
				keys = append(keys, o.Key)
			}
		}
		if !page.Truncated {
			break
		}
		after = page.Last
	}
	sort.Strings(keys)
	var out [][]string
	total := 0
	for _, k := range keys {
		body, err := c.objects.GetObject(bucket, k)
		if err != nil {
			return nil, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: s3://%s/%s: %v", bucket, k, err)
		}
		if total += len(body); total > MaxTableBytes {
			return nil, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: the sandbox reads at most %d bytes per table", MaxTableBytes)
		}
		r := csv.NewReader(bytes.NewReader(body))
		r.FieldsPerRecord = -1
		first := true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("HIVE_BAD_DATA: s3://%s/%s: %v", bucket, k, err)
			}
			if first && t.SkipHeader {
				first = false
				continue
			}
			first = false
			row := make([]string, len(t.Columns))
			copy(row, rec)
			out = append(out, row)
		}
	}
	return out, nil
}
