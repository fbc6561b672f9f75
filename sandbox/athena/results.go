package athena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/s3control"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// Column is a result column as Athena's ColumnInfo describes it.
type Column struct {
	Name, Type    string
	Precision     int
	Scale         int
	CaseSensitive bool
}

// athenaColumn maps the engine's column type to Athena's.
func athenaColumn(c sqlengine.ResultColumn) Column {
	t := strings.ToLower(strings.TrimSpace(c.Type))
	base, args, _ := strings.Cut(t, "(")
	col := Column{Name: c.Name}
	switch base {
	case "varchar", "text", "char":
		col.Type, col.Precision, col.CaseSensitive = "varchar", 2147483647, true
	case "integer", "int":
		col.Type, col.Precision = "integer", 10
	case "bigint":
		col.Type, col.Precision = "bigint", 19
	case "double", "double precision", "real", "float":
		col.Type, col.Precision = "double", 17
	case "decimal", "numeric":
		col.Type, col.Precision, col.Scale = "decimal", 38, 0
		fmt.Sscanf(strings.TrimSuffix(args, ")"), "%d,%d", &col.Precision, &col.Scale)
	case "date":
		col.Type = "date"
	case "timestamp":
		col.Type, col.Precision, col.Scale = "timestamp", 3, 0
	case "boolean":
		col.Type = "boolean"
	default:
		col.Type, col.Precision, col.CaseSensitive = "varchar", 2147483647, true
	}
	return col
}

// text renders one value as Athena prints it for its column type.
func text(v any, c Column) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
		if c.Type == "decimal" {
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				s = strconv.FormatFloat(f, 'f', c.Scale, 64)
			}
		}
	case []byte:
		s = string(x)
	case int64:
		switch c.Type {
		case "decimal":
			s = strconv.FormatFloat(float64(x), 'f', c.Scale, 64)
		case "double":
			s = strconv.FormatInt(x, 10) + ".0"
		case "boolean":
			s = strconv.FormatBool(x != 0)
		default:
			s = strconv.FormatInt(x, 10)
		}
	case float64:
		switch {
		case c.Type == "decimal":
			s = strconv.FormatFloat(x, 'f', c.Scale, 64)
		case (c.Type == "integer" || c.Type == "bigint") && x == math.Trunc(x):
			s = strconv.FormatInt(int64(x), 10)
		default:
			s = strconv.FormatFloat(x, 'f', -1, 64)
			if !strings.ContainsAny(s, ".eEN") {
				s += ".0"
			}
		}
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

func render(res *sqlengine.Result) ([]Column, [][]*string) {
	header := make([]Column, len(res.Columns))
	for i, c := range res.Columns {
		header[i] = athenaColumn(c)
	}
	rows := make([][]*string, len(res.Rows))
	for i, r := range res.Rows {
		rows[i] = make([]*string, len(r))
		for j, v := range r {
			rows[i][j] = text(v, header[j])
		}
	}
	return header, rows
}

// resultCSV is the result file as Athena writes it: a header, every value
// quoted, NULL as an empty unquoted field.
func resultCSV(header []Column, rows [][]*string) []byte {
	var b bytes.Buffer
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	for i, c := range header {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q(c.Name))
	}
	b.WriteByte('\n')
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if v != nil {
				b.WriteString(q(*v))
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeResults writes <id>.csv and <id>.csv.metadata to the output
// location. On a workgroup that writes through S3 Access Grants, the
// person must hold a grant that gives WRITE on the result object.
func (s *Service) writeResults(x *Execution, header []Column, rows [][]*string) error {
	if x.wg.S3AccessGrants && x.caller != nil && !x.caller.Admin {
		t, e := s3control.ParseTarget(x.Output, "Object")
		if e == nil {
			s.env.RLock()
			_, e = s.Grants.Match(x.caller, t, "WRITE")
			s.env.RUnlock()
		}
		if e != nil {
			return fmt.Errorf("Access denied when writing output to url: %s . Please ensure you are allowed to access the S3 bucket. (S3 Access Grants: %s)", x.Output, e.Message)
		}
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(x.Output, "s3://"), "/")
	if err := s.env.Objects.PutObject(bucket, key, resultCSV(header, rows), "text/csv"); err != nil {
		return &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: writing " + x.Output + ": " + err.Error()}
	}
	// Athena's .metadata is an undocumented binary file; the sandbox
	// writes the same facts (the columns) as JSON.
	meta := map[string]any{"columns": header, "rows": len(rows), "queryExecutionId": x.ID}
	mb, _ := json.Marshal(meta)
	if err := s.env.Objects.PutObject(bucket, key+".metadata", mb, "application/json"); err != nil {
		return &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: writing " + x.Output + ".metadata: " + err.Error()}
	}
	return nil
}

func bucketOf(uri string) string {
	b, _, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	return b
}
