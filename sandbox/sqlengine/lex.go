// Package sqlengine is the SQL engine the sandbox's Redshift Data API and
// Athena share: an embedded SQLite (modernc.org/sqlite, pure Go) that holds
// every base table, and a statement path that is safe by construction. A
// person's query never runs against the base tables: it runs in a fresh
// in-memory database that holds only the rows and columns the caller may
// read, copied there after privileges and row filters were applied, with
// the engine's file, extension and pragma statements refused before it
// runs. The package also lexes, splits and renders Redshift-flavoured SQL
// so that the services can recognise the statements no engine has (RLS
// policies, roles, COPY from s3://).
package sqlengine

import (
	"fmt"
	"strings"
)

// Kind is a token kind.
type Kind int

// Token kinds.
const (
	Word   Kind = iota // unquoted identifier or keyword
	Quoted             // "quoted identifier"
	String             // 'string literal'
	Number
	Param // :name (Data API parameter)
	Punct // operators and punctuation
	Semi  // ;
)

// Token is one lexical token. Text is the identifier (unquoted and
// lower-cased for Word, unescaped for Quoted and String) or the operator.
type Token struct {
	Kind Kind
	Text string
	Pos  int
}

// Is reports whether t is the unquoted word w (case-insensitive).
func (t Token) Is(w string) bool { return t.Kind == Word && t.Text == strings.ToLower(w) }

// Name reports whether t names something (a word or a quoted identifier).
func (t Token) Name() bool { return t.Kind == Word || t.Kind == Quoted }

// SyntaxError is a lexing or parsing failure.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return e.Msg }

// MaxSQL bounds the text of one call (Redshift's own limit is 100 KB).
const MaxSQL = 100_000

// Lex splits sql into tokens. Comments (-- and nested /* */) are dropped.
// Unquoted identifiers are lower-cased, as Redshift folds them.
func Lex(sql string) ([]Token, error) {
	if len(sql) > MaxSQL {
		return nil, &SyntaxError{Msg: fmt.Sprintf("the SQL text is longer than %d bytes", MaxSQL)}
	}
	var out []Token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			depth, j := 0, i
			for j < len(sql) {
				if j+1 < len(sql) && sql[j] == '/' && sql[j+1] == '*' {
					depth++
					j += 2
				} else if j+1 < len(sql) && sql[j] == '*' && sql[j+1] == '/' {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			if depth != 0 {
				return nil, &SyntaxError{Pos: i, Msg: "unterminated /* comment"}
			}
			i = j
		case c == '\'' || c == '"':
			s, n, ok := quoted(sql[i:], c)
			if !ok {
				what := "string literal"
				if c == '"' {
					what = "quoted identifier"
				}
				return nil, &SyntaxError{Pos: i, Msg: "unterminated " + what}
			}
			k := String
			if c == '"' {
				k = Quoted
				if s == "" {
					return nil, &SyntaxError{Pos: i, Msg: "zero-length delimited identifier"}
				}
			}
			out = append(out, Token{Kind: k, Text: s, Pos: i})
			i += n
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			j := i
			for j < len(sql) && (isDigit(sql[j]) || sql[j] == '.') {
				j++
			}
			if j < len(sql) && (sql[j] == 'e' || sql[j] == 'E') {
				k := j + 1
				if k < len(sql) && (sql[k] == '+' || sql[k] == '-') {
					k++
				}
				if k < len(sql) && isDigit(sql[k]) {
					j = k
					for j < len(sql) && isDigit(sql[j]) {
						j++
					}
				}
			}
			if strings.Count(sql[i:j], ".") > 1 {
				return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("syntax error at or near %q", sql[i:j])}
			}
			out = append(out, Token{Kind: Number, Text: sql[i:j], Pos: i})
			i = j
		case isWordStart(c):
			j := i
			for j < len(sql) && isWordPart(sql[j]) {
				j++
			}
			out = append(out, Token{Kind: Word, Text: strings.ToLower(sql[i:j]), Pos: i})
			i = j
		case c == ':' && i+1 < len(sql) && isWordStart(sql[i+1]) && (len(out) == 0 || !(out[len(out)-1].Kind == Punct && out[len(out)-1].Text == ":")):
			j := i + 1
			for j < len(sql) && isWordPart(sql[j]) {
				j++
			}
			out = append(out, Token{Kind: Param, Text: sql[i+1 : j], Pos: i})
			i = j
		case c == ';':
			out = append(out, Token{Kind: Semi, Text: ";", Pos: i})
			i++
		default:
			op := string(c)
			if i+1 < len(sql) {
				two := sql[i : i+2]
				switch two {
				case "||", "<=", ">=", "<>", "!=", "::", "==":
					op = two
				}
			}
			if strings.ContainsAny(op, "\x00") || c >= 0x80 {
				return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("syntax error at or near %q", string(rune(c)))}
			}
			if !strings.Contains("(),.*+-/%<>=!|:[]^~&", op[:1]) {
				return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("syntax error at or near %q", op)}
			}
			out = append(out, Token{Kind: Punct, Text: op, Pos: i})
			i += len(op)
		}
	}
	return out, nil
}

func quoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			return b.String(), i + 1, true
		}
		b.WriteByte(s[i])
	}
	return "", 0, false
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isWordPart(c byte) bool  { return isWordStart(c) || isDigit(c) || c == '$' }

// Split cuts tokens into statements at semicolons; empty statements are
// dropped.
func Split(toks []Token) [][]Token {
	var out [][]Token
	start := 0
	for i, t := range toks {
		if t.Kind == Semi {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}

// QuoteIdent quotes an identifier for SQLite.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString quotes a string literal.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Render turns tokens back into SQL for the engine: identifiers are always
// quoted unless they are keywords the engine must see, strings re-quoted,
// comments gone. words maps an unquoted word to its replacement text (e.g.
// current_user to a literal); params receive ? placeholders in order.
func Render(toks []Token, words map[string]string) (string, []string) {
	return render(toks, words, false)
}

func render(toks []Token, words map[string]string, named bool) (string, []string) {
	var b strings.Builder
	var params []string
	for i, t := range toks {
		if i > 0 && spaced(toks[i-1], t) {
			b.WriteByte(' ')
		}
		switch t.Kind {
		case Word:
			if r, ok := words[t.Text]; ok {
				b.WriteString(r)
			} else {
				b.WriteString(t.Text)
			}
		case Quoted:
			b.WriteString(QuoteIdent(t.Text))
		case String:
			b.WriteString(QuoteString(t.Text))
		case Param:
			if named {
				b.WriteString(":" + t.Text)
				continue
			}
			b.WriteByte('?')
			params = append(params, t.Text)
		default:
			b.WriteString(t.Text)
		}
	}
	return b.String(), params
}

func spaced(prev, cur Token) bool {
	// A number must not run into a dot, nor punctuation into punctuation.
	if (prev.Kind == Number && cur.Kind == Punct && cur.Text == ".") || (cur.Kind == Number && prev.Kind == Punct && prev.Text == ".") ||
		(prev.Kind == Punct && cur.Kind == Punct && prev.Text != "(" && cur.Text != ")") {
		return true
	}
	if cur.Kind == Punct && (cur.Text == ")" || cur.Text == "," || cur.Text == ".") {
		return false
	}
	if cur.Kind == Punct && cur.Text == "(" && prev.Kind == Word {
		return false
	}
	return !(prev.Kind == Punct && (prev.Text == "(" || prev.Text == "."))
}

// Text renders tokens for messages and for the stored text of a policy.
func Text(toks []Token) string {
	s, _ := render(toks, nil, true)
	return s
}
