package sqlengine

import (
	"database/sql/driver"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// The Redshift functions the engine lacks, registered once for every
// connection the driver opens. They compute over their arguments only:
// none reads a file, the network or the engine's state.
func init() {
	scalar := func(name string, n int32, f func([]driver.Value) (driver.Value, error)) {
		sqlite.MustRegisterFunction(name, &sqlite.FunctionImpl{NArgs: n, Deterministic: true,
			Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) { return f(args) }})
	}
	scalar("rs_cast", 2, func(a []driver.Value) (driver.Value, error) {
		t, err := parseType(asText(a[1]))
		if err != nil {
			return nil, err
		}
		return t.convert(a[0])
	})
	sqlite.MustRegisterFunction("rs_getdate", &sqlite.FunctionImpl{NArgs: 0,
		Scalar: func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
			return time.Now().UTC().Format("2006-01-02 15:04:05"), nil
		}})
	scalar("date_trunc", 2, dateTrunc)
	scalar("date_part", 2, datePart)
	scalar("dateadd", 3, dateAdd)
	scalar("datediff", 3, dateDiff)
	scalar("len", 1, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		return int64(utf8.RuneCountInString(strings.TrimRight(asText(a[0]), " "))), nil
	})
	scalar("split_part", 3, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil || a[1] == nil || a[2] == nil {
			return nil, nil
		}
		n, ok := a[2].(int64)
		if !ok || n <= 0 {
			return nil, fail("field position must be greater than zero")
		}
		parts := strings.Split(asText(a[0]), asText(a[1]))
		if int(n) > len(parts) {
			return "", nil
		}
		return parts[n-1], nil
	})
	scalar("initcap", 1, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		prev := false
		return strings.Map(func(r rune) rune {
			up := !prev
			prev = unicode.IsLetter(r) || unicode.IsDigit(r)
			if up {
				return unicode.ToUpper(r)
			}
			return unicode.ToLower(r)
		}, asText(a[0])), nil
	})
	side := func(left bool) func([]driver.Value) (driver.Value, error) {
		return func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			r := []rune(asText(a[0]))
			n, _ := a[1].(int64)
			n = max(0, min(n, int64(len(r))))
			if left {
				return string(r[:n]), nil
			}
			return string(r[int64(len(r))-n:]), nil
		}
	}
	scalar("left", 2, side(true))
	scalar("right", 2, side(false))
	index := func(needle, hay int) func([]driver.Value) (driver.Value, error) {
		return func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			h, nd := asText(a[hay]), asText(a[needle])
			i := strings.Index(h, nd)
			if i < 0 {
				return int64(0), nil
			}
			return int64(utf8.RuneCountInString(h[:i]) + 1), nil
		}
	}
	scalar("charindex", 2, index(0, 1))
	scalar("strpos", 2, index(1, 0))
	scalar("nvl2", 3, func(a []driver.Value) (driver.Value, error) {
		if a[0] != nil {
			return a[1], nil
		}
		return a[2], nil
	})
	pick := func(greater bool) func([]driver.Value) (driver.Value, error) {
		return func(a []driver.Value) (driver.Value, error) {
			var best driver.Value
			for _, v := range a {
				if v == nil {
					continue
				}
				if best == nil || (compare(v, best) > 0) == greater && compare(v, best) != 0 {
					best = v
				}
			}
			return best, nil
		}
	}
	scalar("greatest", -1, pick(true))
	scalar("least", -1, pick(false))
	scalar("decode", -1, func(a []driver.Value) (driver.Value, error) {
		if len(a) < 3 {
			return nil, fail("function decode requires at least three arguments")
		}
		for i := 1; i+1 < len(a); i += 2 {
			if (a[0] == nil && a[i] == nil) || (a[0] != nil && a[i] != nil && compare(a[0], a[i]) == 0) {
				return a[i+1], nil
			}
		}
		if len(a)%2 == 0 {
			return a[len(a)-1], nil
		}
		return nil, nil
	})
	sqlite.MustRegisterFunction("median", &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &median{}, nil }})
}

// median is MEDIAN(x): the middle value, or the mean of the two middle ones.
type median struct{ vals []float64 }

const maxAggregateValues = 1_000_000

func (m *median) Step(_ *sqlite.FunctionContext, a []driver.Value) error {
	if a[0] == nil {
		return nil
	}
	f, ok := asFloat(a[0])
	if !ok {
		return fail("function median(character varying) does not exist")
	}
	if len(m.vals) >= maxAggregateValues {
		return fail("too many values for MEDIAN in the sandbox")
	}
	m.vals = append(m.vals, f)
	return nil
}

func (m *median) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return fail("MEDIAN is not a window function in the sandbox")
}
func (m *median) Final(*sqlite.FunctionContext) {}
func (m *median) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	if len(m.vals) == 0 {
		return nil, nil
	}
	v := append([]float64(nil), m.vals...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], nil
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, nil
}

func asText(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return FormatTime(x)
	}
	return ""
}

func asFloat(v driver.Value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func compare(a, b driver.Value) int {
	fa, oka := asFloat(a)
	fb, okb := asFloat(b)
	_, sa := a.(string)
	_, sb := b.(string)
	if oka && okb && !sa && !sb {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(asText(a), asText(b))
}

// sqlType is a Redshift type a value is cast to.
type sqlType struct {
	base      string // int, numeric, float, text, date, timestamp, bool
	name      string // as Redshift names it in messages
	size, arg int    // varchar length; numeric precision and scale
}

var typeNames = map[string]sqlType{
	"smallint": {base: "int", name: "smallint", size: 16}, "int2": {base: "int", name: "smallint", size: 16},
	"integer": {base: "int", name: "integer", size: 32}, "int": {base: "int", name: "integer", size: 32}, "int4": {base: "int", name: "integer", size: 32},
	"bigint": {base: "int", name: "bigint", size: 64}, "int8": {base: "int", name: "bigint", size: 64},
	"decimal": {base: "numeric", name: "numeric", size: 18}, "numeric": {base: "numeric", name: "numeric", size: 18},
	"real": {base: "float", name: "real"}, "float4": {base: "float", name: "real"}, "float": {base: "float", name: "double precision"},
	"float8": {base: "float", name: "double precision"}, "double precision": {base: "float", name: "double precision"},
	"varchar": {base: "text", name: "character varying"}, "character varying": {base: "text", name: "character varying"},
	"nvarchar": {base: "text", name: "character varying"}, "text": {base: "text", name: "text"},
	"char": {base: "text", name: "character"}, "character": {base: "text", name: "character"}, "nchar": {base: "text", name: "character"},
	"bpchar": {base: "text", name: "character"}, "date": {base: "date", name: "date"},
	"timestamp": {base: "timestamp", name: "timestamp without time zone"}, "timestamp without time zone": {base: "timestamp", name: "timestamp without time zone"},
	"timestamptz": {base: "timestamp", name: "timestamp with time zone"}, "timestamp with time zone": {base: "timestamp", name: "timestamp with time zone"},
	"boolean": {base: "bool", name: "boolean"}, "bool": {base: "bool", name: "boolean"},
}

// parseType reads "decimal(10,2)", "varchar(20)", "double precision", ….
func parseType(s string) (sqlType, error) {
	name, args, hasArgs := strings.Cut(s, "(")
	t, ok := typeNames[strings.TrimSpace(name)]
	if !ok {
		return sqlType{}, fail("type %q does not exist", strings.TrimSpace(name))
	}
	if !hasArgs {
		if t.base == "text" && t.name == "character" {
			t.size = 1
		}
		if t.base == "text" && t.name == "character varying" {
			t.size = 256
		}
		return t, nil
	}
	var nums []int
	for _, a := range strings.Split(strings.TrimSuffix(args, ")"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil || n < 0 || n > 65535 {
			return sqlType{}, fail("invalid type modifier in %s", s)
		}
		nums = append(nums, n)
	}
	switch {
	case t.base == "numeric" && len(nums) <= 2 && nums[0] >= 1 && nums[0] <= 38:
		t.size = nums[0]
		if len(nums) == 2 {
			if nums[1] > nums[0] {
				return sqlType{}, fail("NUMERIC scale %d must be between 0 and precision %d", nums[1], nums[0])
			}
			t.arg = nums[1]
		}
	case t.base == "text" && t.name != "text" && len(nums) == 1 && nums[0] >= 1:
		t.size = nums[0]
	default:
		return sqlType{}, fail("invalid type modifier in %s", s)
	}
	return t, nil
}

func (t sqlType) invalid(v driver.Value) error {
	return fail("invalid input syntax for type %s: %q", t.name, asText(v))
}

// convert casts v as Redshift does.
func (t sqlType) convert(v driver.Value) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch t.base {
	case "text":
		s := asText(v)
		if t.size > 0 && utf8.RuneCountInString(s) > t.size {
			s = string([]rune(s)[:t.size])
		}
		return s, nil
	case "int":
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = math.Round(x)
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, t.invalid(v)
			}
			f = float64(n)
		}
		if lim := math.Ldexp(1, t.size-1); f >= lim || f < -lim {
			return nil, fail("%s out of range", t.name)
		}
		return int64(f), nil
	case "numeric", "float":
		f, ok := asFloat(v)
		if !ok {
			return nil, t.invalid(v)
		}
		if t.base == "float" {
			return f, nil
		}
		p := math.Pow10(t.arg)
		f = math.Round(f*p) / p
		if math.Abs(f) >= math.Pow10(t.size-t.arg) {
			return nil, fail("numeric field overflow")
		}
		return f, nil
	case "date", "timestamp":
		s, ok := v.(string)
		if !ok {
			return nil, fail("cannot cast type %s to %s", valueType(v), t.name)
		}
		ts, err := ParseTime(s)
		if err != nil {
			return nil, t.invalid(v)
		}
		if t.base == "date" {
			return ts.Format("2006-01-02"), nil
		}
		return FormatTime(ts), nil
	case "bool":
		switch x := v.(type) {
		case int64:
			return b2i(x != 0), nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "t", "true", "y", "yes", "on", "1":
				return int64(1), nil
			case "f", "false", "n", "no", "off", "0":
				return int64(0), nil
			}
		}
		return nil, t.invalid(v)
	}
	return nil, t.invalid(v)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func valueType(v driver.Value) string {
	switch v.(type) {
	case int64:
		return "integer"
	case float64:
		return "double precision"
	}
	return "character varying"
}

var timeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano, "2006-01-02", "2006/01/02", "01/02/2006", "2006-01-02 15:04", "20060102"}

// ParseTime reads a date or timestamp in the forms Redshift accepts most.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

func timeArg(v driver.Value) (time.Time, bool, error) {
	if v == nil {
		return time.Time{}, false, nil
	}
	t, err := ParseTime(asText(v))
	if err != nil {
		return time.Time{}, false, fail("invalid input syntax for type timestamp: %q", asText(v))
	}
	return t, true, nil
}

// datePartName normalises Redshift's date part names and abbreviations.
func datePartName(v driver.Value) (string, error) {
	p := strings.ToLower(strings.TrimSpace(asText(v)))
	for name, alts := range map[string][]string{
		"year": {"year", "years", "y", "yr", "yrs"}, "quarter": {"quarter", "quarters", "qtr", "qtrs"},
		"month": {"month", "months", "mon", "mons"}, "week": {"week", "weeks", "w"},
		"day": {"day", "days", "d"}, "hour": {"hour", "hours", "h", "hr", "hrs"},
		"minute": {"minute", "minutes", "m", "min", "mins"}, "second": {"second", "seconds", "s", "sec", "secs"},
		"dow": {"dow", "dayofweek", "dw", "weekday"}, "doy": {"doy", "dayofyear", "dy", "yearday"},
		"epoch": {"epoch"},
	} {
		for _, a := range alts {
			if p == a {
				return name, nil
			}
		}
	}
	return "", fail("unit %q not supported", p)
}

// clockUnits are the date parts below a day.
var clockUnits = map[string]time.Duration{"hour": time.Hour, "minute": time.Minute, "second": time.Second}

// partAndTime reads a date part and a timestamp; ok is false when the
// result is NULL or err is set.
func partAndTime(p, v driver.Value) (part string, t time.Time, ok bool, err error) {
	if part, err = datePartName(p); err != nil {
		return "", t, false, err
	}
	t, ok, err = timeArg(v)
	return part, t, ok, err
}

func dateTrunc(a []driver.Value) (driver.Value, error) {
	part, t, ok, err := partAndTime(a[0], a[1])
	if !ok {
		return nil, err
	}
	y, mo, d := t.Date()
	switch part {
	case "year":
		t = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		t = time.Date(y, ((mo-1)/3)*3+1, 1, 0, 0, 0, 0, time.UTC)
	case "month":
		t = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case "week":
		t = time.Date(y, mo, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	case "day":
		t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case "hour", "minute", "second":
		t = t.Truncate(clockUnits[part])
	default:
		return nil, fail("unit %q not supported by date_trunc", part)
	}
	return FormatTime(t), nil
}

func datePart(a []driver.Value) (driver.Value, error) {
	part, t, ok, err := partAndTime(a[0], a[1])
	if !ok {
		return nil, err
	}
	switch part {
	case "year":
		return int64(t.Year()), nil
	case "quarter":
		return int64((t.Month()-1)/3 + 1), nil
	case "month":
		return int64(t.Month()), nil
	case "week":
		_, w := t.ISOWeek()
		return int64(w), nil
	case "day":
		return int64(t.Day()), nil
	case "hour":
		return int64(t.Hour()), nil
	case "minute":
		return int64(t.Minute()), nil
	case "second":
		return int64(t.Second()), nil
	case "dow":
		return int64(t.Weekday()), nil
	case "doy":
		return int64(t.YearDay()), nil
	}
	return t.Unix(), nil
}

func dateAdd(a []driver.Value) (driver.Value, error) {
	part, err := datePartName(a[0])
	if err != nil {
		return nil, err
	}
	n, ok := a[1].(int64)
	if !ok {
		if a[1] == nil {
			return nil, nil
		}
		return nil, fail("the interval of DATEADD must be an integer")
	}
	t, ok, err := timeArg(a[2])
	if !ok {
		return nil, err
	}
	k := int(n)
	// Months: the day is kept, or the month's last day when it has fewer.
	addMonths := func(m int) time.Time {
		first := time.Date(t.Year(), t.Month()+time.Month(m), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		last := first.AddDate(0, 1, -1).Day()
		return first.AddDate(0, 0, min(t.Day(), last)-1)
	}
	switch part {
	case "year":
		t = addMonths(12 * k)
	case "quarter":
		t = addMonths(3 * k)
	case "month":
		t = addMonths(k)
	case "week":
		t = t.AddDate(0, 0, 7*k)
	case "day":
		t = t.AddDate(0, 0, k)
	case "hour", "minute", "second":
		t = t.Add(time.Duration(n) * clockUnits[part])
	default:
		return nil, fail("unit %q not supported by dateadd", part)
	}
	return FormatTime(t), nil
}

func dateDiff(a []driver.Value) (driver.Value, error) {
	part, err := datePartName(a[0])
	if err != nil {
		return nil, err
	}
	t1, ok1, err1 := timeArg(a[1])
	t2, ok2, err2 := timeArg(a[2])
	if !ok1 || !ok2 {
		if err1 != nil {
			return nil, err1
		}
		return nil, err2
	}
	months := func(t time.Time) int64 { return int64(t.Year())*12 + int64(t.Month()) - 1 }
	day := func(t time.Time) int64 {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	}
	switch part {
	case "year":
		return int64(t2.Year() - t1.Year()), nil
	case "quarter":
		return months(t2)/3 - months(t1)/3, nil
	case "month":
		return months(t2) - months(t1), nil
	case "week":
		return (day(t2)+3)/7 - (day(t1)+3)/7, nil // weeks start on Monday (1970-01-01 was a Thursday)
	case "day":
		return day(t2) - day(t1), nil
	case "hour":
		return t2.Truncate(time.Hour).Unix()/3600 - t1.Truncate(time.Hour).Unix()/3600, nil
	case "minute":
		return t2.Truncate(time.Minute).Unix()/60 - t1.Truncate(time.Minute).Unix()/60, nil
	case "second":
		return t2.Unix() - t1.Unix(), nil
	}
	return nil, fail("unit %q not supported by datediff", part)
}

// fail is a function's error; the engine's error path adds "ERROR: ".
func fail(format string, a ...any) error { return fmt.Errorf(format, a...) }
