package sqlengine

import (
	"fmt"
	"strconv"
	"strings"
)

// Redshift rewrites the Redshift syntax the engine does not know into
// the engine's own, token by token, so that what the guard inspected is
// still what runs:
//
//   - expr::type becomes CAST(expr AS type), and every CAST becomes a call of
//     rs_cast, which converts as Redshift does (dates, timestamps, decimals
//     rounded to their scale, varchar(n) cut to n characters) and fails with
//     Redshift's words on a value that does not convert;
//   - a ILIKE b and a NOT ILIKE b compare lower(a) with lower(b);
//   - a ~ b, a ~* b, a !~ b and a !~* b match POSIX regular expressions
//     (regexp.go);
//   - SELECT TOP n … becomes SELECT … LIMIT n;
//   - x + INTERVAL '7 days' and x - INTERVAL '1 month 2 hours' become
//     DATEADD calls;
//   - EXTRACT(field FROM x), POSITION(a IN b), SUBSTRING(x FROM a FOR b),
//     LISTAGG(…) WITHIN GROUP (ORDER BY …), NVL, GETDATE() and SYSDATE take
//     the engine's forms, and the first argument of DATEADD, DATEDIFF and
//     DATE_PART may be a bare date part (day, month, …).
//
// The Redshift functions the engine lacks (date_trunc, dateadd, …) are
// registered with the engine in funcs.go. hints gives, for each top-level
// result column that is a whole cast, the type it was cast to (in order;
// "" where unknown), so that the result describes it as Redshift would.
func Redshift(toks []Token) (out []Token, hints []string, err error) {
	sites := 0
	for _, t := range toks {
		if isPunct(t, "::") || isPunct(t, "~") || (t.Kind == Word && (rewritten[t.Text] || datePartFuncs[t.Text])) {
			sites++
		}
	}
	if sites > maxRewrites {
		return nil, nil, &Refused{Msg: fmt.Sprintf("ERROR: the sandbox rewrites at most %d casts, ILIKEs and Redshift functions in one statement", maxRewrites)}
	}
	out = append([]Token(nil), toks...)
	if out, err = rewriteColonCasts(out); err != nil {
		return nil, nil, err
	}
	hints = castHints(out)
	steps := []func([]Token) ([]Token, error){rewriteIntervals, rewriteCasts, rewriteILike, rewriteRegexpOps, rewriteTop, rewriteSpecialForms}
	for _, step := range steps {
		if out, err = step(out); err != nil {
			return nil, nil, err
		}
	}
	return out, hints, nil
}

// maxRewrites bounds the rewriting work one statement may ask for (each
// site costs a pass over the statement).
const maxRewrites = 1000

var rewritten = map[string]bool{"interval": true, "cast": true, "ilike": true, "top": true, "sysdate": true, "getdate": true, "nvl": true,
	"extract": true, "position": true, "substring": true, "trim": true, "listagg": true}

func word(s string) Token            { return Token{Kind: Word, Text: s} }
func punct(s string) Token           { return Token{Kind: Punct, Text: s} }
func str(s string) Token             { return Token{Kind: String, Text: s} }
func isPunct(t Token, p string) bool { return t.Kind == Punct && t.Text == p }

// match returns the index of the parenthesis that closes the one at i
// (or opens the one at i, when toks[i] is ")"), or -1.
func match(toks []Token, i int) int {
	step, open, close := 1, "(", ")"
	if isPunct(toks[i], ")") {
		step, open, close = -1, ")", "("
	}
	depth := 0
	for j := i; j >= 0 && j < len(toks); j += step {
		switch {
		case isPunct(toks[j], open):
			depth++
		case isPunct(toks[j], close):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// stopWords end an operand: clauses, logical and comparison keywords.
var stopWords = map[string]bool{
	"select": true, "where": true, "and": true, "or": true, "not": true, "when": true, "then": true,
	"else": true, "end": true, "case": true, "on": true, "having": true, "by": true, "as": true,
	"from": true, "join": true, "is": true, "between": true, "in": true, "like": true, "ilike": true,
	"similar": true, "escape": true, "distinct": true, "all": true, "any": true, "some": true,
	"exists": true, "set": true, "values": true, "using": true, "limit": true, "offset": true,
	"union": true, "intersect": true, "except": true, "minus": true, "with": true, "order": true,
	"group": true, "top": true, "for": true, "returning": true, "into": true, "over": true,
	"partition": true, "rows": true, "range": true, "asc": true, "desc": true, "nulls": true,
	"window": true, "filter": true, "within": true, "collate": true, "isnull": true, "notnull": true,
}

// operandOps may stand inside an operand (they bind tighter than LIKE).
var operandOps = map[string]bool{".": true, "::": true, "||": true, "+": true, "-": true, "*": true,
	"/": true, "%": true, "^": true, "[": true, "]": true, "~": true, "&": true, "|": true}

// operandStart finds where the operand that ends just before i begins;
// primary limits it to one primary expression (the operand of ::).
func operandStart(toks []Token, i int, primary bool) (int, error) {
	j := i - 1
	start := -1
	for j >= 0 {
		t := toks[j]
		switch {
		case isPunct(t, ")"):
			k := match(toks, j)
			if k < 0 {
				return 0, fmt.Errorf("unbalanced")
			}
			start, j = k, k-1
			// a function call: name(…), schema.name(…)
			if j >= 0 && toks[j].Name() && !(toks[j].Kind == Word && stopWords[toks[j].Text]) {
				start, j = j, j-1
			}
		case t.Kind == Word && stopWords[t.Text]:
			j = -1
			continue
		case t.Name() || t.Kind == String || t.Kind == Number || t.Kind == Param:
			start, j = j, j-1
		case t.Kind == Punct && (t.Text == "." || (!primary && operandOps[t.Text])):
			start, j = j, j-1
			continue
		default:
			j = -1
			continue
		}
		if primary && !(j >= 0 && isPunct(toks[j], ".")) {
			break
		}
		// two operands in a row are not one operand: "a b" ends at b.
		if j >= 0 && !isPunct(toks[j], ".") && !(toks[j].Kind == Punct && operandOps[toks[j].Text]) {
			break
		}
	}
	if start < 0 {
		return 0, fmt.Errorf("no operand")
	}
	return start, nil
}

// operandEnd finds the end (exclusive) of the operand that starts at i.
func operandEnd(toks []Token, i int) (int, error) {
	j := i
	end := -1
	for j < len(toks) {
		t := toks[j]
		switch {
		case isPunct(t, "("):
			k := match(toks, j)
			if k < 0 {
				return 0, fmt.Errorf("unbalanced")
			}
			j, end = k+1, k+1
		case t.Kind == Word && stopWords[t.Text]:
			j = len(toks)
			continue
		case t.Name() || t.Kind == String || t.Kind == Number || t.Kind == Param:
			j, end = j+1, j+1
			if j < len(toks) && isPunct(toks[j], "(") {
				continue // a function call
			}
		case t.Kind == Punct && operandOps[t.Text]:
			j++
			continue
		default:
			j = len(toks)
			continue
		}
		if j < len(toks) && !(toks[j].Kind == Punct && (operandOps[toks[j].Text] || toks[j].Text == "(")) {
			break
		}
	}
	if end < 0 {
		return 0, fmt.Errorf("no operand")
	}
	return end, nil
}

// typeEnd reads a type name at i: words (double precision, character
// varying, timestamp without time zone) and an optional (n[,m]).
func typeEnd(toks []Token, i int) (int, error) {
	j := i
	for j < len(toks) && toks[j].Kind == Word && (j == i || typeWords[toks[j].Text]) {
		j++
	}
	if j == i {
		return 0, fmt.Errorf("no type")
	}
	if j < len(toks) && isPunct(toks[j], "(") {
		k := match(toks, j)
		if k < 0 {
			return 0, fmt.Errorf("unbalanced")
		}
		j = k + 1
	}
	return j, nil
}

var typeWords = map[string]bool{"precision": true, "varying": true, "without": true, "with": true, "time": true, "zone": true}

func syntaxNear(toks []Token, i int) error {
	if i >= len(toks) {
		return &Refused{Msg: "ERROR: syntax error at end of input"}
	}
	return &Refused{Msg: fmt.Sprintf("ERROR: syntax error at or near %q", toks[i].Text)}
}

func splice(toks []Token, from, to int, repl ...Token) []Token {
	out := make([]Token, 0, len(toks)-(to-from)+len(repl))
	out = append(out, toks[:from]...)
	out = append(out, repl...)
	return append(out, toks[to:]...)
}

// rewriteColonCasts turns expr::type into CAST(expr AS type).
func rewriteColonCasts(toks []Token) ([]Token, error) {
	for n := 0; n <= maxRewrites; n++ {
		i := -1
		for k, t := range toks {
			if isPunct(t, "::") {
				i = k
				break
			}
		}
		if i < 0 {
			return toks, nil
		}
		s, err := operandStart(toks, i, true)
		if err != nil {
			return nil, syntaxNear(toks, i)
		}
		e, err := typeEnd(toks, i+1)
		if err != nil {
			return nil, syntaxNear(toks, i+1)
		}
		repl := []Token{word("cast"), punct("(")}
		repl = append(repl, toks[s:i]...)
		repl = append(repl, word("as"))
		repl = append(repl, toks[i+1:e]...)
		repl = append(repl, punct(")"))
		toks = splice(toks, s, e, repl...)
	}
	return nil, &Refused{Msg: "ERROR: too many casts in one statement"}
}

// typeText renders a type's tokens as one lower-case name: "decimal(10,2)".
func typeText(toks []Token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && t.Kind == Word && toks[i-1].Kind == Word {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

// rewriteCasts turns CAST(x AS type) into rs_cast(x, 'type').
func rewriteCasts(toks []Token) ([]Token, error) {
	for i := len(toks) - 2; i >= 0; i-- {
		if !toks[i].Is("cast") || !isPunct(toks[i+1], "(") || (i > 0 && isPunct(toks[i-1], ".")) {
			continue
		}
		close := match(toks, i+1)
		if close < 0 {
			return nil, syntaxNear(toks, i)
		}
		as := -1
		for j := i + 2; j < close; j++ {
			if isPunct(toks[j], "(") {
				j = match(toks, j)
				continue
			}
			if toks[j].Is("as") {
				as = j
			}
		}
		if as < 0 || as == i+2 {
			return nil, syntaxNear(toks, close)
		}
		if e, err := typeEnd(toks, as+1); err != nil || e != close {
			return nil, syntaxNear(toks, as+1)
		}
		typ := typeText(toks[as+1 : close])
		if _, err := parseType(typ); err != nil {
			return nil, &Refused{Msg: "ERROR: " + err.Error()}
		}
		repl := []Token{word("rs_cast"), punct("(")}
		repl = append(repl, toks[i+2:as]...)
		repl = append(repl, punct(","), str(typ), punct(")"))
		toks = splice(toks, i, close+1, repl...)
	}
	return toks, nil
}

// rewriteILike turns a [NOT] ILIKE b into lower(a) [NOT] LIKE lower(b).
func rewriteILike(toks []Token) ([]Token, error) {
	for i := len(toks) - 1; i >= 0; i-- {
		if !toks[i].Is("ilike") {
			continue
		}
		op := i
		if i > 0 && toks[i-1].Is("not") {
			op = i - 1
		}
		s, err := operandStart(toks, op, false)
		if err != nil {
			return nil, syntaxNear(toks, i)
		}
		e, err := operandEnd(toks, i+1)
		if err != nil {
			return nil, syntaxNear(toks, i+1)
		}
		repl := []Token{word("lower"), punct("(")}
		repl = append(repl, toks[s:op]...)
		repl = append(repl, punct(")"))
		if op < i {
			repl = append(repl, word("not"))
		}
		repl = append(repl, word("like"), word("lower"), punct("("))
		repl = append(repl, toks[i+1:e]...)
		repl = append(repl, punct(")"))
		toks = splice(toks, s, e, repl...)
		i = s
	}
	return toks, nil
}

// rewriteRegexpOps turns a ~ b (and ~*, !~, !~*) into a call of the
// matching rs_regexp_* function.
func rewriteRegexpOps(toks []Token) ([]Token, error) {
	for i := len(toks) - 1; i >= 0; i-- {
		if !isPunct(toks[i], "~") {
			continue
		}
		op, end := i, i+1
		negate := i > 0 && isPunct(toks[i-1], "!")
		if negate {
			op = i - 1
		}
		icase := end < len(toks) && isPunct(toks[end], "*")
		if icase {
			end++
		}
		s, err := operandStart(toks, op, false)
		if err != nil || (negate && op == i) {
			continue // ~x: the engine's bitwise NOT
		}
		e, err := operandEnd(toks, end)
		if err != nil {
			return nil, syntaxNear(toks, end)
		}
		fn := map[[2]bool]string{{false, false}: "rs_regexp_match", {true, false}: "rs_regexp_imatch",
			{false, true}: "rs_regexp_nomatch", {true, true}: "rs_regexp_inomatch"}[[2]bool{icase, negate}]
		repl := []Token{word(fn), punct("(")}
		repl = append(repl, toks[s:op]...)
		repl = append(repl, punct(","))
		repl = append(repl, toks[end:e]...)
		repl = append(repl, punct(")"))
		toks = splice(toks, s, e, repl...)
		i = s
	}
	return toks, nil
}

// rewriteIntervals turns x ± INTERVAL 'n unit [n unit …]' into nested
// dateadd('unit', ±n, x); x is the primary expression before the sign.
func rewriteIntervals(toks []Token) ([]Token, error) {
	for i := len(toks) - 2; i >= 1; i-- {
		if !toks[i].Is("interval") || toks[i+1].Kind != String || !(isPunct(toks[i-1], "+") || isPunct(toks[i-1], "-")) {
			continue
		}
		sign := toks[i-1].Text
		s, err := operandStart(toks, i-1, true)
		if err != nil {
			return nil, syntaxNear(toks, i-1)
		}
		f := strings.Fields(toks[i+1].Text)
		if len(f) == 0 || len(f)%2 != 0 {
			return nil, &Refused{Msg: fmt.Sprintf("ERROR: invalid input syntax for type interval: %q", toks[i+1].Text)}
		}
		expr := append([]Token{}, toks[s:i-1]...)
		for k := 0; k < len(f); k += 2 {
			n, unit := f[k], strings.ToLower(f[k+1])
			if _, err := strconv.ParseInt(n, 10, 32); err != nil {
				return nil, &Refused{Msg: fmt.Sprintf("ERROR: invalid input syntax for type interval: %q", toks[i+1].Text)}
			}
			if _, err := datePartName(unit); err != nil {
				return nil, &Refused{Msg: fmt.Sprintf("ERROR: invalid input syntax for type interval: %q", toks[i+1].Text)}
			}
			neg := (sign == "-") != strings.HasPrefix(n, "-")
			num := []Token{{Kind: Number, Text: strings.TrimLeft(n, "+-")}}
			if neg {
				num = append([]Token{punct("-")}, num...)
			}
			call := append([]Token{word("dateadd"), punct("("), str(unit), punct(",")}, num...)
			call = append(call, punct(","))
			call = append(call, expr...)
			expr = append(call, punct(")"))
		}
		toks = splice(toks, s, i+2, expr...)
		i = s
	}
	return toks, nil
}

// rewriteTop turns SELECT [DISTINCT] TOP n … into SELECT … LIMIT n, the
// LIMIT closing the same query level.
func rewriteTop(toks []Token) ([]Token, error) {
	for i := len(toks) - 1; i >= 0; i-- {
		if !toks[i].Is("top") || i == 0 {
			continue
		}
		p := i - 1
		if toks[p].Is("distinct") || toks[p].Is("all") {
			p--
		}
		if p < 0 || !toks[p].Is("select") {
			continue
		}
		if i+1 >= len(toks) || toks[i+1].Kind != Number {
			return nil, syntaxNear(toks, i+1)
		}
		n := toks[i+1]
		setOp := func(t Token) bool { return t.Is("union") || t.Is("intersect") || t.Is("except") || t.Is("minus") }
		compound := p > 0 && (setOp(toks[p-1]) || (toks[p-1].Is("all") && p > 1 && setOp(toks[p-2])) || toks[p-1].Is("distinct") && p > 1 && setOp(toks[p-2]))
		end, depth := len(toks), 0
		for j := i + 2; j < len(toks); j++ {
			if isPunct(toks[j], "(") {
				depth++
			} else if isPunct(toks[j], ")") {
				if depth == 0 {
					end = j
					break
				}
				depth--
			} else if depth == 0 && setOp(toks[j]) {
				end, compound = j, true
				break
			} else if depth == 0 && compound && (toks[j].Is("order") || toks[j].Is("limit")) {
				end = j // the compound's own ORDER BY and LIMIT
				break
			} else if depth == 0 && toks[j].Is("limit") {
				return nil, &Refused{Msg: "ERROR: syntax error at or near \"LIMIT\""}
			}
		}
		if compound {
			// One member of a UNION: SELECT * FROM (member LIMIT n).
			member := append([]Token{}, toks[p:i]...)
			member = append(member, toks[i+2:end]...)
			repl := []Token{word("select"), punct("*"), word("from"), punct("(")}
			repl = append(repl, member...)
			repl = append(repl, word("limit"), n, punct(")"))
			toks = splice(toks, p, end, repl...)
			continue
		}
		toks = splice(toks, end, end, word("limit"), n)
		toks = splice(toks, i, i+2)
	}
	return toks, nil
}

// datePartFuncs take a bare date part as their first argument.
var datePartFuncs = map[string]bool{"dateadd": true, "datediff": true, "date_part": true, "date_trunc": true}

// rewriteSpecialForms handles the functions with keyword syntax.
func rewriteSpecialForms(toks []Token) ([]Token, error) {
	for i := len(toks) - 1; i >= 0; i-- {
		t := toks[i]
		if t.Kind != Word || (i > 0 && isPunct(toks[i-1], ".")) {
			continue
		}
		call := i+1 < len(toks) && isPunct(toks[i+1], "(")
		switch {
		case t.Text == "sysdate" && !call:
			toks = splice(toks, i, i+1, word("rs_getdate"), punct("("), punct(")"))
		case t.Text == "getdate" && call:
			toks[i] = word("rs_getdate")
		case t.Text == "nvl" && call:
			toks[i] = word("coalesce")
		case datePartFuncs[t.Text] && call && i+3 < len(toks) && toks[i+2].Kind == Word && isPunct(toks[i+3], ","):
			toks[i+2] = str(toks[i+2].Text)
		case (t.Text == "extract" || t.Text == "position" || t.Text == "substring" || t.Text == "trim") && call:
			close := match(toks, i+1)
			if close < 0 {
				return nil, syntaxNear(toks, i)
			}
			inner := toks[i+2 : close]
			var repl []Token
			switch t.Text {
			case "extract":
				if len(inner) < 3 || !inner[1].Is("from") || !(inner[0].Kind == Word || inner[0].Kind == String) {
					return nil, syntaxNear(toks, i+2)
				}
				repl = append([]Token{word("date_part"), punct("("), str(inner[0].Text), punct(",")}, inner[2:]...)
			case "position":
				k := topLevel(inner, "in")
				if k < 0 {
					continue
				}
				repl = append(append(append([]Token{word("instr"), punct("(")}, inner[k+1:]...), punct(",")), inner[:k]...)
			case "substring":
				k := topLevel(inner, "from")
				if k < 0 {
					continue
				}
				repl = append(append([]Token{word("substr"), punct("(")}, inner[:k]...), punct(","))
				if f := topLevel(inner, "for"); f > k {
					repl = append(append(append(repl, inner[k+1:f]...), punct(",")), inner[f+1:]...)
				} else {
					repl = append(repl, inner[k+1:]...)
				}
			case "trim":
				k := topLevel(inner, "from")
				if k < 0 {
					continue
				}
				fn, chars := "trim", inner[:k]
				if len(chars) > 0 && (chars[0].Is("both") || chars[0].Is("leading") || chars[0].Is("trailing")) {
					fn = map[string]string{"both": "trim", "leading": "ltrim", "trailing": "rtrim"}[chars[0].Text]
					chars = chars[1:]
				}
				repl = append([]Token{word(fn), punct("(")}, inner[k+1:]...)
				if len(chars) > 0 {
					repl = append(append(repl, punct(",")), chars...)
				}
			}
			repl = append(repl, punct(")"))
			toks = splice(toks, i, close+1, repl...)
		case t.Text == "listagg" && call:
			close := match(toks, i+1)
			if close < 0 || close+4 >= len(toks) || !toks[close+1].Is("within") || !toks[close+2].Is("group") || !isPunct(toks[close+3], "(") {
				toks[i] = word("group_concat")
				continue
			}
			end := match(toks, close+3)
			if end < 0 {
				return nil, syntaxNear(toks, close+3)
			}
			repl := []Token{word("group_concat")}
			repl = append(repl, toks[i+1:close]...)
			repl = append(repl, toks[close+4:end]...)
			repl = append(repl, punct(")"))
			toks = splice(toks, i, end+1, repl...)
		}
	}
	return toks, nil
}

// topLevel finds the unquoted word w outside any parentheses of toks.
func topLevel(toks []Token, w string) int {
	depth := 0
	for i, t := range toks {
		switch {
		case isPunct(t, "("):
			depth++
		case isPunct(t, ")"):
			depth--
		case depth == 0 && t.Is(w):
			return i
		}
	}
	return -1
}

// castHints reads the top-level select list: for each item that is one
// whole CAST(… AS type), the type; "" for other items. A * item ends the
// list (its width is unknown here).
func castHints(toks []Token) []string {
	sel := -1
	depth := 0
	for i, t := range toks {
		if isPunct(t, "(") {
			depth++
		} else if isPunct(t, ")") {
			depth--
		} else if depth == 0 && t.Is("select") {
			sel = i
			break
		}
	}
	if sel < 0 {
		return nil
	}
	i := sel + 1
	for i < len(toks) && (toks[i].Is("distinct") || toks[i].Is("all")) {
		i++
	}
	if i+1 < len(toks) && toks[i].Is("top") {
		i += 2
	}
	var hints []string
	start := i
	depth = 0
	for j := i; j <= len(toks); j++ {
		atEnd := j == len(toks)
		if !atEnd {
			t := toks[j]
			if isPunct(t, "(") {
				depth++
				continue
			}
			if isPunct(t, ")") {
				depth--
				if depth >= 0 {
					continue
				}
				atEnd = true
			}
			if depth > 0 {
				continue
			}
			if !atEnd && !isPunct(t, ",") && !(t.Kind == Word && (t.Text == "from" || t.Text == "into" || t.Text == "where" || t.Text == "union" || t.Text == "group" || t.Text == "order" || t.Text == "limit")) {
				continue
			}
			atEnd = atEnd || !isPunct(t, ",")
		}
		item := toks[start:j]
		if len(item) > 2 && item[len(item)-2].Is("as") {
			item = item[:len(item)-2]
		} else if len(item) > 1 && item[len(item)-1].Name() && isPunct(item[len(item)-2], ")") {
			item = item[:len(item)-1]
		}
		if len(item) > 0 && isPunct(item[len(item)-1], "*") {
			return hints
		}
		h := ""
		if len(item) > 3 && item[0].Is("cast") && isPunct(item[1], "(") && match(item, 1) == len(item)-1 {
			for k := len(item) - 2; k > 1; k-- {
				if item[k].Is("as") {
					h = typeText(item[k+1 : len(item)-1])
					break
				}
			}
		}
		hints = append(hints, h)
		if atEnd {
			return hints
		}
		start = j + 1
	}
	return hints
}
