package sqlengine

import (
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ResultColumn describes one result column.
type ResultColumn struct {
	Name string
	// Type is the declared type when the column is a table column
	// ("VARCHAR(50)", "DECIMAL(10,2)"), else derived from the values.
	Type string
}

// Result is a query result. Values are nil, int64, float64, string, bool
// or []byte; timestamps are strings "2006-01-02 15:04:05".
type Result struct {
	Columns []ResultColumn
	Rows    [][]any
}

func collect(rs *sql.Rows, maxRows int, hints []string) (*Result, error) {
	cts, err := rs.ColumnTypes()
	if err != nil {
		return nil, Translate(err)
	}
	res := &Result{Columns: make([]ResultColumn, len(cts))}
	for i, c := range cts {
		res.Columns[i] = ResultColumn{Name: c.Name(), Type: c.DatabaseTypeName()}
		if res.Columns[i].Type == "" && i < len(hints) {
			res.Columns[i].Type = hints[i]
		}
	}
	for rs.Next() {
		if len(res.Rows) >= maxRows {
			return nil, ErrTooManyRows
		}
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, Translate(err)
		}
		for i, v := range vals {
			if t, ok := v.(time.Time); ok {
				vals[i] = FormatTime(t)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rs.Err(); err != nil {
		return nil, Translate(err)
	}
	// Columns of expressions have no declared type: name it from the values.
	for i := range res.Columns {
		if res.Columns[i].Type != "" {
			continue
		}
		res.Columns[i].Type = "VARCHAR"
		for _, r := range res.Rows {
			switch r[i].(type) {
			case int64:
				res.Columns[i].Type = "BIGINT"
			case float64:
				res.Columns[i].Type = "DOUBLE PRECISION"
			case bool:
				res.Columns[i].Type = "BOOLEAN"
			case nil:
				continue
			}
			break
		}
	}
	return res, nil
}

// FormatTime renders a timestamp as Redshift prints it.
func FormatTime(t time.Time) string {
	if t.Nanosecond() != 0 {
		return strings.TrimRight(t.UTC().Format("2006-01-02 15:04:05.000000"), "0")
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

var (
	reNoTable  = regexp.MustCompile(`no such table: (?:[^ .]+\.)?(\S+)`)
	reNoColumn = regexp.MustCompile(`no such column: (\S+)`)
	reNear     = regexp.MustCompile(`near "([^"]*)": syntax error`)
	reNoFunc   = regexp.MustCompile(`no such function: (\S+)`)
	reRC       = regexp.MustCompile(` \(\d+\)$`)
)

// EngineError is an error of the SQL engine in Redshift's words.
type EngineError struct{ Msg string }

func (e *EngineError) Error() string { return e.Msg }

// Translate turns an engine error into Redshift's wording where one fits.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Refused); ok {
		return err
	}
	if _, ok := err.(*EngineError); ok {
		return err
	}
	msg := err.Error()
	msg = reRC.ReplaceAllString(msg, "")
	if i := strings.Index(msg, " error: "); i >= 0 && i < 30 {
		msg = msg[i+len(" error: "):]
	}
	switch {
	case reNoTable.MatchString(msg):
		return &EngineError{Msg: fmt.Sprintf("ERROR: relation %q does not exist", strings.Trim(reNoTable.FindStringSubmatch(msg)[1], `"`))}
	case reNoColumn.MatchString(msg):
		name := reNoColumn.FindStringSubmatch(msg)[1]
		if k := strings.LastIndex(name, "."); k >= 0 {
			name = name[k+1:]
		}
		return &EngineError{Msg: fmt.Sprintf("ERROR: column %q does not exist", name)}
	case reNear.MatchString(msg):
		return &EngineError{Msg: fmt.Sprintf("ERROR: syntax error at or near %q", reNear.FindStringSubmatch(msg)[1])}
	case reNoFunc.MatchString(msg):
		return &EngineError{Msg: fmt.Sprintf("ERROR: function %s does not exist", reNoFunc.FindStringSubmatch(msg)[1])}
	case strings.Contains(msg, "not authorized"):
		return &EngineError{Msg: "ERROR: permission denied"}
	case strings.Contains(msg, "interrupted"), strings.Contains(msg, "context canceled"):
		return &EngineError{Msg: "ERROR: Query (cancelled on user's request)"}
	}
	return &EngineError{Msg: "ERROR: " + msg}
}
