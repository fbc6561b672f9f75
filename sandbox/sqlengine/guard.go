package sqlengine

import (
	"fmt"
	"strings"
)

// Class is what a statement does, decided from its tokens.
type Class int

// Statement classes.
const (
	Query  Class = iota // SELECT, WITH … SELECT, VALUES
	Write               // INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY, UNLOAD
	Define              // CREATE, DROP, ALTER, GRANT, REVOKE, ATTACH/DETACH RLS POLICY, …
	Other
)

// Classify names the class of one statement by its leading keyword.
func Classify(stmt []Token) Class {
	if len(stmt) == 0 {
		return Other
	}
	i := 0
	for i < len(stmt) && stmt[i].Kind == Punct && stmt[i].Text == "(" {
		i++
	}
	if i >= len(stmt) || stmt[i].Kind != Word {
		return Other
	}
	switch stmt[i].Text {
	case "select", "with", "values":
		return Query
	case "insert", "update", "delete", "merge", "truncate", "copy", "unload":
		return Write
	case "create", "drop", "alter", "grant", "revoke", "attach", "detach", "comment":
		return Define
	}
	return Other
}

// forbiddenWords may not appear (unquoted) anywhere in a statement the
// engine runs: they reach the host's files (ATTACH, VACUUM INTO), change
// the connection (PRAGMA) or write.
var forbiddenWords = map[string]bool{
	"attach": true, "detach": true, "pragma": true, "vacuum": true, "reindex": true, "analyze": true,
	"savepoint": true, "release": true, "rollback": true, "begin": true, "commit": true,
}

// forbiddenFuncs are engine functions that reach files, extensions or
// internals; they are refused wherever they appear as a call.
var forbiddenFuncs = map[string]bool{
	"load_extension": true, "readfile": true, "writefile": true, "fsdir": true, "edit": true,
	"zipfile": true, "sqlar_compress": true, "sqlar_uncompress": true, "fts3_tokenizer": true,
	"sqlite_dbpage": true, "sqlite_dbdata": true, "sqlite_dbptr": true, "dbstat": true,
	"sqlite_offset": true, "sqlite_source_id": true, "sqlite_compileoption_get": true,
	"sqlite_compileoption_used": true, "sqlite_version": true,
}

// Refused is a statement the engine will not run, with Redshift-like text.
type Refused struct{ Msg string }

func (e *Refused) Error() string { return e.Msg }

// CheckQuery accepts exactly one read-only query. It is a second line of
// defence: the query runs anyway in a database that holds only what the
// caller may read, on a connection that is query-only.
func CheckQuery(toks []Token) error {
	stmts := Split(toks)
	if len(stmts) == 0 {
		return &Refused{Msg: "ERROR: the SQL text has no statement"}
	}
	if len(stmts) > 1 {
		return &Refused{Msg: "ERROR: cannot insert multiple commands into a prepared statement"}
	}
	if err := CheckWords(stmts[0]); err != nil {
		return err
	}
	if Classify(stmts[0]) != Query {
		return &Refused{Msg: "ERROR: only SELECT statements run here"}
	}
	return nil
}

// CheckWords refuses forbidden statements and functions anywhere in stmt,
// and any name that reaches the engine's own catalog.
func CheckWords(stmt []Token) error {
	for i, t := range stmt {
		if !t.Name() {
			continue
		}
		name := t.Text
		if t.Kind == Word && forbiddenWords[name] {
			return &Refused{Msg: fmt.Sprintf("ERROR: syntax error at or near %q", strings.ToUpper(name))}
		}
		if forbiddenFuncs[name] && i+1 < len(stmt) && stmt[i+1].Kind == Punct && stmt[i+1].Text == "(" {
			return &Refused{Msg: fmt.Sprintf("ERROR: function %s does not exist", name)}
		}
		if strings.HasPrefix(name, "sqlite_") || strings.HasPrefix(name, "pragma_") {
			return &Refused{Msg: fmt.Sprintf("ERROR: relation %q does not exist", name)}
		}
	}
	return nil
}

// Names lists the distinct identifiers (words and quoted names) of toks.
func Names(toks []Token) map[string]bool {
	out := map[string]bool{}
	for _, t := range toks {
		if t.Name() {
			out[t.Text] = true
		}
	}
	return out
}
