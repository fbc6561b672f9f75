package sqlengine

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestRedshiftRewrite: each Redshift form becomes the engine form that
// means the same, operands taken with Redshift's precedence.
func TestRedshiftRewrite(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT amount::decimal(10,2) FROM t`:                                          `select rs_cast(amount, 'decimal(10,2)') from t`,
		`SELECT '2024-01-01'::date`:                                                    `select rs_cast('2024-01-01', 'date')`,
		`SELECT t.a::int + 1 FROM t`:                                                   `select rs_cast(t.a, 'int') + 1 from t`,
		`SELECT -x::int FROM t`:                                                        `select - rs_cast(x, 'int') from t`,
		`SELECT sum(a * b)::decimal(12,2) FROM t`:                                      `select rs_cast(sum(a * b), 'decimal(12,2)') from t`,
		`SELECT (a + b)::float FROM t`:                                                 `select rs_cast((a + b), 'float') from t`,
		`SELECT x::text::int FROM t`:                                                   `select rs_cast(rs_cast(x, 'text'), 'int') from t`,
		`SELECT x::double precision, y::character varying(3)`:                          `select rs_cast(x, 'double precision'), rs_cast(y, 'character varying(3)')`,
		`SELECT CAST(x AS timestamp without time zone) FROM t`:                         `select rs_cast(x, 'timestamp without time zone') from t`,
		`SELECT 1 WHERE a ILIKE 'e%'`:                                                  `select 1 where lower(a) like lower('e%')`,
		`SELECT 1 WHERE a NOT ILIKE 'e%' AND b = 1`:                                    `select 1 where lower(a) not like lower('e%') and b = 1`,
		`SELECT 1 WHERE a || b ILIKE :p || '%' ESCAPE '!'`:                             `select 1 where lower(a || b) like lower(:p || '%') escape '!'`,
		`SELECT 1 WHERE upper(t.a) ILIKE x.y OR c`:                                     `select 1 where lower(upper(t.a)) like lower(x.y) or c`,
		`SELECT TOP 3 a FROM t ORDER BY a`:                                             `select a from t order by a limit 3`,
		`SELECT * FROM (SELECT DISTINCT TOP 2 a FROM t) s`:                             `select * from (select distinct a from t limit 2) s`,
		`SELECT TOP 2 a FROM t UNION ALL SELECT TOP 1 b FROM u ORDER BY 1`:             `select * from (select a from t limit 2) union all select * from (select b from u limit 1) order by 1`,
		`SELECT a FROM t UNION SELECT TOP 1 b FROM u ORDER BY 1 LIMIT 5`:               `select a from t union select * from (select b from u limit 1) order by 1 limit 5`,
		`SELECT 1 WHERE tz ~ '^Europe/' AND a !~* 'x' OR b ~* c || 'd'`:                `select 1 where rs_regexp_match(tz, '^Europe/') and rs_regexp_inomatch(a, 'x') or rs_regexp_imatch(b, c || 'd')`,
		`SELECT ~5, 1 WHERE NOT (a !~ 'b')`:                                            `select ~5, 1 where not (rs_regexp_nomatch(a, 'b'))`,
		`SELECT ts + INTERVAL '7 days', getdate() - interval '1 month 2 hours' FROM t`: `select dateadd('days', 7, ts), dateadd('hours', - 2, dateadd('month', - 1, rs_getdate())) from t`,
		`SELECT extract(year FROM ts) FROM t`:                                          `select date_part('year', ts) from t`,
		`SELECT dateadd(day, 1, ts), datediff(month, a, b)`:                            `select dateadd('day', 1, ts), datediff('month', a, b)`,
		`SELECT nvl(a, 0), getdate(), sysdate`:                                         `select coalesce(a, 0), rs_getdate(), rs_getdate()`,
		`SELECT position('/' IN tz), substring(tz FROM 1 FOR 3)`:                       `select instr(tz, '/'), substr(tz, 1, 3)`,
		`SELECT listagg(a, ',') WITHIN GROUP (ORDER BY a) FROM t`:                      `select group_concat(a, ',' order by a) from t`,
	} {
		toks, err := Lex(in)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := Redshift(toks)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		wt, err := Lex(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := Text(out); got != Text(wt) {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`SELECT x::nosuchtype`:          `type "nosuchtype" does not exist`,
		`SELECT x::`:                    `syntax error at end of input`,
		`SELECT ::int`:                  `syntax error at or near "::"`,
		`SELECT x::decimal(2,5)`:        `scale 5 must be between 0 and precision 2`,
		`SELECT TOP 2 a FROM t LIMIT 1`: `syntax error at or near "LIMIT"`,
		"SELECT " + strings.Repeat("1::int, ", 1000) + "1::int": `rewrites at most 1000`,
		`SELECT ts + interval 'soon' FROM t`:                    `invalid input syntax for type interval: "soon"`,
		`SELECT ts + interval '3 fortnights' FROM t`:            `invalid input syntax for type interval: "3 fortnights"`,
	} {
		toks, err := Lex(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Redshift(toks); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

// TestRedshiftValues: casts convert and fail as Redshift does, and the
// result names a whole cast's column by the type it was cast to.
func TestRedshiftValues(t *testing.T) {
	ctx := context.Background()
	s, err := NewStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	query := func(sql string) (*Result, error) {
		toks, err := Lex(sql)
		if err != nil {
			return nil, err
		}
		q, hints, err := Redshift(toks)
		if err != nil {
			return nil, err
		}
		return s.Run(ctx, q, nil, nil, nil, nil, Limits{ColumnTypes: hints})
	}
	res, err := query(`SELECT 357::decimal(10,2) AS p, '12.345'::numeric(5,2) AS n, '2024-02-29 13:14:15'::date AS d,
		'2024-02-29'::timestamp AS ts, 'abcdef'::varchar(3) AS v, 2.5::int AS i, 'Europe/Berlin' ILIKE 'EUROPE/%' AS il,
		'Europe/Berlin' NOT ILIKE 'asia%' AS nil, upper('été') AS up, 'ÉTÉ' ILIKE 'été' AS uni,
		regexp_substr('SKU-12345-X', '[0-9]+') AS rs, regexp_replace('a-b-c', '-([a-z])', '_\1') AS rr, regexp_count('a1b22c333', '[0-9]+') AS rc,
		regexp_instr('Europe/Berlin', '/') AS ri, 'Europe/Berlin' ~ '^Europe/' AS m, 'Europe/Berlin' ~* '^EUROPE/' AS im, 'x' !~ 'y' AS nm, 'Europe' LIKE 'europe' AS cs, date_trunc('month', '2024-02-29 13:14:15') AS m,
		dateadd(month, 1, '2024-01-31'::date) AS nm, '2024-03-31'::date - interval '1 month' AS im1, datediff(day, '2024-01-01', '2024-03-01') AS dd, extract(dow FROM '2024-02-29'::date) AS dow`)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{357.0, 12.35, "2024-02-29", "2024-02-29 00:00:00", "abc", int64(3), int64(1), int64(1), "ÉTÉ", int64(1),
		"12345", "a_b_c", int64(3), int64(7), int64(1), int64(1), int64(1), int64(0),
		"2024-02-01 00:00:00", "2024-02-29 00:00:00", "2024-02-29 00:00:00", int64(60), int64(4)}
	if !reflect.DeepEqual(res.Rows[0], want) {
		t.Fatalf("got  %#v\nwant %#v", res.Rows[0], want)
	}
	types := []string{"decimal(10,2)", "numeric(5,2)", "date", "timestamp", "varchar(3)", "int"}
	for i, typ := range types {
		if res.Columns[i].Type != typ {
			t.Errorf("column %s: type %q, want %q", res.Columns[i].Name, res.Columns[i].Type, typ)
		}
	}
	for sql, msg := range map[string]string{
		`SELECT 'abc'::int`:                            `ERROR: invalid input syntax for type integer: "abc"`,
		`SELECT 'x'::date`:                             `ERROR: invalid input syntax for type date: "x"`,
		`SELECT 1000::decimal(4,2)`:                    `ERROR: numeric field overflow`,
		`SELECT 40000::smallint`:                       `ERROR: smallint out of range`,
		`SELECT 5::date`:                               `ERROR: cannot cast type integer to date`,
		`SELECT date_trunc('fortnight', '2024-01-01')`: `ERROR: unit "fortnight" not supported`,
		`SELECT 'aa' ~ '(a)\1'`:                        `ERROR: invalid regular expression: invalid escape sequence: ` + "`\\1`",
	} {
		if _, err := query(sql); err == nil || err.Error() != msg {
			t.Errorf("%s: %v, want %s", sql, err, msg)
		}
	}
}
