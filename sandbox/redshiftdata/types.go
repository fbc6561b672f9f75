package redshiftdata

import (
	"encoding/csv"
	"math"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// ColumnMetadata is the Data API's column description.
type ColumnMetadata struct {
	IsCaseSensitive bool   `json:"isCaseSensitive"`
	IsCurrency      bool   `json:"isCurrency"`
	IsSigned        bool   `json:"isSigned"`
	Label           string `json:"label"`
	Name            string `json:"name"`
	Nullable        int    `json:"nullable"`
	Precision       int    `json:"precision"`
	Scale           int    `json:"scale"`
	SchemaName      string `json:"schemaName"`
	TableName       string `json:"tableName"`
	TypeName        string `json:"typeName"`
	Length          int    `json:"length"`
}

// redshiftType maps a declared type to Redshift's type name, precision
// and scale.
func redshiftType(decl string) (name string, prec, scale int) {
	d := strings.ToLower(strings.ReplaceAll(decl, " ", ""))
	base, args, _ := strings.Cut(d, "(")
	args = strings.TrimSuffix(args, ")")
	nums := []int{}
	for _, a := range strings.Split(args, ",") {
		if n, err := strconv.Atoi(a); err == nil {
			nums = append(nums, n)
		}
	}
	switch base {
	case "int", "integer", "int4":
		return "int4", 10, 0
	case "bigint", "int8":
		return "int8", 19, 0
	case "smallint", "int2":
		return "int2", 5, 0
	case "decimal", "numeric":
		p, s := 18, 0
		if len(nums) > 0 {
			p = nums[0]
		}
		if len(nums) > 1 {
			s = nums[1]
		}
		return "numeric", p, s
	case "real", "float4":
		return "float4", 8, 8
	case "doubleprecision", "float8", "float", "double":
		return "float8", 17, 17
	case "boolean", "bool":
		return "bool", 1, 0
	case "timestamp", "timestampwithouttimezone", "datetime":
		return "timestamp", 29, 6
	case "timestamptz":
		return "timestamptz", 35, 6
	case "date":
		return "date", 13, 0
	case "char", "character", "nchar", "bpchar":
		p := 1
		if len(nums) > 0 {
			p = nums[0]
		}
		return "bpchar", p, 0
	}
	p := 256
	if len(nums) > 0 {
		p = nums[0]
	}
	return "varchar", p, 0
}

func columnMetadata(c sqlengine.ResultColumn, schema, table string) ColumnMetadata {
	name, p, s := redshiftType(c.Type)
	m := ColumnMetadata{Name: c.Name, Label: c.Name, TypeName: name, Precision: p, Scale: s, Nullable: 1,
		SchemaName: schema, TableName: table}
	switch name {
	case "varchar", "bpchar":
		m.IsCaseSensitive, m.Length = true, p
	case "int2", "int4", "int8", "numeric", "float4", "float8":
		m.IsSigned = true
	}
	return m
}

// Field is one value of GetStatementResult.
type Field struct {
	IsNull       *bool    `json:"isNull,omitempty"`
	BooleanValue *bool    `json:"booleanValue,omitempty"`
	LongValue    *int64   `json:"longValue,omitempty"`
	DoubleValue  *float64 `json:"doubleValue,omitempty"`
	StringValue  *string  `json:"stringValue,omitempty"`
}

// text renders a value as Redshift prints it for its column type.
func text(v any, typeName string, scale int) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		if typeName == "numeric" {
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return strconv.FormatFloat(f, 'f', scale, 64), true
			}
		}
		return x, true
	case []byte:
		return string(x), true
	case int64:
		if typeName == "numeric" {
			return strconv.FormatFloat(float64(x), 'f', scale, 64), true
		}
		return strconv.FormatInt(x, 10), true
	case float64:
		if typeName == "numeric" {
			return strconv.FormatFloat(x, 'f', scale, 64), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func field(v any, m ColumnMetadata) Field {
	t := true
	if v == nil {
		return Field{IsNull: &t}
	}
	switch m.TypeName {
	case "int2", "int4", "int8":
		switch x := v.(type) {
		case int64:
			return Field{LongValue: &x}
		case float64:
			if x == math.Trunc(x) {
				n := int64(x)
				return Field{LongValue: &n}
			}
		}
	case "float4", "float8":
		switch x := v.(type) {
		case float64:
			return Field{DoubleValue: &x}
		case int64:
			f := float64(x)
			return Field{DoubleValue: &f}
		}
	case "bool":
		switch x := v.(type) {
		case bool:
			return Field{BooleanValue: &x}
		case int64:
			b := x != 0
			return Field{BooleanValue: &b}
		}
	}
	s, _ := text(v, m.TypeName, m.Scale)
	return Field{StringValue: &s}
}

// csvRows renders rows as CSV text with a header, as GetStatementResultV2
// returns them.
func csvRows(meta []ColumnMetadata, rows [][]any, header bool) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if header {
		h := make([]string, len(meta))
		for i, m := range meta {
			h[i] = m.Name
		}
		_ = w.Write(h)
	}
	for _, r := range rows {
		rec := make([]string, len(r))
		for i, v := range r {
			rec[i], _ = text(v, meta[i].TypeName, meta[i].Scale)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.String()
}
