package quicksight

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// JobInput is a StartDashboardSnapshotJob request as the AWS CLI reads it
// with --cli-input-json (the format of `aws quicksight
// start-dashboard-snapshot-job --generate-cli-skeleton`).
type JobInput struct {
	AwsAccountId          string             `json:"AwsAccountId,omitempty"`
	DashboardId           string             `json:"DashboardId,omitempty"`
	SnapshotJobId         string             `json:"SnapshotJobId,omitempty"`
	UserConfiguration     *UserConfiguration `json:"UserConfiguration,omitempty"`
	SnapshotConfiguration *Config            `json:"SnapshotConfiguration,omitempty"`
}

// UserConfiguration is the anonymous user of a job started with ordinary
// IAM credentials. Jobs started with identity-enhanced credentials (all of
// tipctl's) run as the user the credentials carry and leave it out.
type UserConfiguration struct {
	AnonymousUsers []AnonymousUser `json:"AnonymousUsers"`
}

// AnonymousUser is an anonymous user with row-level security tags.
type AnonymousUser struct {
	RowLevelPermissionTags []Tag `json:"RowLevelPermissionTags,omitempty"`
}

// Tag is a row-level security tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// MaxCLIInputJSON is the largest --cli-input-json document accepted.
const MaxCLIInputJSON = 1 << 20

// ParseCLIInputJSON reads a StartDashboardSnapshotJob --cli-input-json
// document. It takes what the AWS CLI takes (a UTF-8 BOM, null members,
// timestamps as Unix seconds or ISO 8601 strings) and refuses the rest with
// the JSON path of the first problem: unknown members (with the member
// meant), wrong types, template placeholders such as "<<dashboard id>>"
// left in, numbers out of range. It never panics.
func ParseCLIInputJSON(data []byte) (*JobInput, error) {
	if len(data) > MaxCLIInputJSON {
		return nil, inputErr("", "the document is %d bytes; at most %d are accepted", len(data), MaxCLIInputJSON)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, inputErr("", "the document is empty; it must be a JSON object such as `aws quicksight start-dashboard-snapshot-job --generate-cli-skeleton` prints")
	}
	if !utf8.Valid(data) {
		return nil, inputErr("", "the document is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, inputErr("", "not valid JSON: %s", jsonErr(data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, inputErr("", "not valid JSON: more data after the top-level object at %s", position(data, dec.InputOffset()))
	}
	w := &walker{}
	in := w.input(root)
	if w.err != nil {
		return nil, w.err
	}
	return in, nil
}

// JSON writes the input back in --cli-input-json form.
func (in *JobInput) JSON() ([]byte, error) { return json.MarshalIndent(in, "", "  ") }

func inputErr(path, format string, a ...any) *Error {
	msg := fmt.Sprintf(format, a...)
	if path != "" {
		msg = path + ": " + msg
	}
	return &Error{Kind: KindInput, Msg: "--cli-input-json: " + msg}
}

func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at " + position(data, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the document ends too early"
	}
	return err.Error()
}

// position is "line L, column C" of a byte offset.
func position(data []byte, off int64) string {
	off = max(0, min(off, int64(len(data))))
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

// walker converts the decoded JSON, remembering the first error.
type walker struct{ err error }

func (w *walker) fail(path, format string, a ...any) {
	if w.err == nil {
		w.err = inputErr(path, format, a...)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a value"
}

// object checks that v is an object (or null) with only the known members.
func (w *walker) object(path string, v any, known ...string) map[string]any {
	if w.err != nil || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.fail(path, "want an object, not %s", typeName(v))
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(known, k) {
			where := path
			if where == "" {
				where = "the top level"
			}
			hint := ""
			if sug := Suggest(k, known); len(sug) > 0 {
				hint = "; did you mean " + quoteList(sug, "or") + "?"
			}
			w.fail(join(path, k), "unknown member of %s%s (members: %s)", where, hint, strings.Join(known, ", "))
			return nil
		}
	}
	return m
}

func (w *walker) list(path string, v any) []any {
	if w.err != nil || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		w.fail(path, "want a list, not %s", typeName(v))
		return nil
	}
	return l
}

func (w *walker) str(path string, v any) string {
	if w.err != nil || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.fail(path, "want a string, not %s", typeName(v))
	}
	return s
}

var placeholderRe = lazyre.New(`<<[^<>]*>>|^<[^<>]+>$`)

// id reads a string that names something, refusing template placeholders.
func (w *walker) id(path string, v any) string {
	s := w.str(path, v)
	if w.err == nil && placeholderRe.MatchString(s) {
		w.fail(path, "%q is still a template placeholder; put the real value there", s)
	}
	return s
}

var memberRe = lazyre.New(`^[A-Za-z0-9_]{1,64}$`)

// join appends a member to a JSON path; odd member names are quoted.
func join(path, k string) string {
	if !memberRe.MatchString(k) {
		return fmt.Sprintf("%s[%q]", path, k)
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func idx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func (w *walker) input(root any) *JobInput {
	if _, ok := root.(map[string]any); !ok && w.err == nil {
		w.fail("", "want a JSON object, not %s", typeName(root))
		return nil
	}
	m := w.object("", root, "AwsAccountId", "DashboardId", "SnapshotJobId", "UserConfiguration", "SnapshotConfiguration")
	if m == nil {
		return nil
	}
	in := &JobInput{}
	if acct := w.str("AwsAccountId", m["AwsAccountId"]); acct != "" && !placeholderRe.MatchString(acct) {
		if !regexp.MustCompile(`^\d{12}$`).MatchString(acct) {
			w.fail("AwsAccountId", "%q is not a 12-digit account id", acct)
		}
		in.AwsAccountId = acct
	}
	in.DashboardId = w.id("DashboardId", m["DashboardId"])
	in.SnapshotJobId = w.id("SnapshotJobId", m["SnapshotJobId"])
	if in.SnapshotJobId != "" && !dashboardIDRe.MatchString(in.SnapshotJobId) && w.err == nil {
		w.fail("SnapshotJobId", "%q may hold only letters, digits, _ and - (1 to 512)", in.SnapshotJobId)
	}
	if uc := w.object("UserConfiguration", m["UserConfiguration"], "AnonymousUsers"); uc != nil {
		in.UserConfiguration = &UserConfiguration{}
		for i, a := range w.list("UserConfiguration.AnonymousUsers", uc["AnonymousUsers"]) {
			p := idx("UserConfiguration.AnonymousUsers", i)
			am := w.object(p, a, "RowLevelPermissionTags")
			var au AnonymousUser
			for j, t := range w.list(p+".RowLevelPermissionTags", am["RowLevelPermissionTags"]) {
				tp := idx(p+".RowLevelPermissionTags", j)
				tm := w.object(tp, t, "Key", "Value")
				au.RowLevelPermissionTags = append(au.RowLevelPermissionTags, Tag{Key: w.str(tp+".Key", tm["Key"]), Value: w.str(tp+".Value", tm["Value"])})
			}
			in.UserConfiguration.AnonymousUsers = append(in.UserConfiguration.AnonymousUsers, au)
		}
	}
	if sc := w.object("SnapshotConfiguration", m["SnapshotConfiguration"], "FileGroups", "DestinationConfiguration", "Parameters"); sc != nil {
		in.SnapshotConfiguration = w.config(sc)
	}
	if w.err != nil {
		return nil
	}
	return in
}

func (w *walker) config(sc map[string]any) *Config {
	const base = "SnapshotConfiguration"
	c := &Config{}
	for i, g := range w.list(base+".FileGroups", sc["FileGroups"]) {
		gp := idx(base+".FileGroups", i)
		gm := w.object(gp, g, "Files")
		var fg FileGroup
		for j, f := range w.list(gp+".Files", gm["Files"]) {
			fp := idx(gp+".Files", j)
			fm := w.object(fp, f, "FormatType", "SheetSelections")
			file := File{FormatType: w.str(fp+".FormatType", fm["FormatType"])}
			for k, s := range w.list(fp+".SheetSelections", fm["SheetSelections"]) {
				sp := idx(fp+".SheetSelections", k)
				sm := w.object(sp, s, "SheetId", "SelectionScope", "VisualIds")
				sel := SheetSelection{SheetId: w.id(sp+".SheetId", sm["SheetId"]), SelectionScope: w.str(sp+".SelectionScope", sm["SelectionScope"])}
				for l, v := range w.list(sp+".VisualIds", sm["VisualIds"]) {
					sel.VisualIds = append(sel.VisualIds, w.id(idx(sp+".VisualIds", l), v))
				}
				file.SheetSelections = append(file.SheetSelections, sel)
			}
			fg.Files = append(fg.Files, file)
		}
		c.FileGroups = append(c.FileGroups, fg)
	}
	if dm := w.object(base+".DestinationConfiguration", sc["DestinationConfiguration"], "S3Destinations"); dm != nil {
		c.DestinationConfiguration = &Destination{}
		for i, d := range w.list(base+".DestinationConfiguration.S3Destinations", dm["S3Destinations"]) {
			dp := idx(base+".DestinationConfiguration.S3Destinations", i)
			ddm := w.object(dp, d, "BucketConfiguration")
			var s3d S3Destination
			if bm := w.object(dp+".BucketConfiguration", ddm["BucketConfiguration"], "BucketName", "BucketPrefix", "BucketRegion"); bm != nil {
				bp := dp + ".BucketConfiguration"
				s3d.BucketConfiguration = &BucketConfiguration{BucketName: w.id(bp+".BucketName", bm["BucketName"]),
					BucketPrefix: w.str(bp+".BucketPrefix", bm["BucketPrefix"]), BucketRegion: w.id(bp+".BucketRegion", bm["BucketRegion"])}
			}
			c.DestinationConfiguration.S3Destinations = append(c.DestinationConfiguration.S3Destinations, s3d)
		}
	}
	if pm := w.object(base+".Parameters", sc["Parameters"], "StringParameters", "IntegerParameters", "DecimalParameters", "DateTimeParameters"); pm != nil {
		c.Parameters = w.parameters(base+".Parameters", pm)
	}
	return c
}

func (w *walker) parameters(base string, pm map[string]any) *Parameters {
	p := &Parameters{}
	each := func(kind string, f func(path, name string, values []any)) {
		for i, x := range w.list(base+"."+kind, pm[kind]) {
			xp := idx(base+"."+kind, i)
			xm := w.object(xp, x, "Name", "Values")
			name := w.str(xp+".Name", xm["Name"])
			if w.err == nil && strings.TrimSpace(name) == "" {
				w.fail(xp+".Name", "a parameter needs a name")
			}
			f(xp+".Values", name, w.list(xp+".Values", xm["Values"]))
		}
	}
	each("StringParameters", func(path, name string, values []any) {
		sp := StringParameter{Name: name}
		for i, v := range values {
			sp.Values = append(sp.Values, w.str(idx(path, i), v))
		}
		p.StringParameters = append(p.StringParameters, sp)
	})
	each("IntegerParameters", func(path, name string, values []any) {
		ip := IntegerParameter{Name: name}
		for i, v := range values {
			ip.Values = append(ip.Values, w.integer(idx(path, i), v))
		}
		p.IntegerParameters = append(p.IntegerParameters, ip)
	})
	each("DecimalParameters", func(path, name string, values []any) {
		dp := DecimalParameter{Name: name}
		for i, v := range values {
			dp.Values = append(dp.Values, w.decimal(idx(path, i), v))
		}
		p.DecimalParameters = append(p.DecimalParameters, dp)
	})
	each("DateTimeParameters", func(path, name string, values []any) {
		tp := DateTimeParameter{Name: name}
		for i, v := range values {
			tp.Values = append(tp.Values, w.date(idx(path, i), v))
		}
		p.DateTimeParameters = append(p.DateTimeParameters, tp)
	})
	if p.Empty() {
		return nil
	}
	return p
}

func (w *walker) number(path string, v any) (json.Number, bool) {
	if w.err != nil {
		return "", false
	}
	n, ok := v.(json.Number)
	if !ok {
		w.fail(path, "want a number, not %s", typeName(v))
	}
	return n, ok
}

func (w *walker) integer(path string, v any) int64 {
	n, ok := w.number(path, v)
	if !ok {
		return 0
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		w.fail(path, "%s is not a whole number in range", n.String())
		return 0
	}
	return int64(f)
}

func (w *walker) decimal(path string, v any) float64 {
	n, ok := w.number(path, v)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) {
		w.fail(path, "%s is out of range", n.String())
		return 0
	}
	return f
}

func (w *walker) date(path string, v any) time.Time {
	if w.err != nil {
		return time.Time{}
	}
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err == nil {
			if t, err := epochTime(f); err == nil {
				return t
			}
		}
		w.fail(path, "%s is not a time in Unix seconds between the years 1 and 9999", x.String())
	case string:
		t, err := parseDate(x)
		if err == nil {
			return t
		}
		w.fail(path, "%q is not a date (2006-01-02, an ISO 8601 time, or Unix seconds)", x)
	default:
		w.fail(path, "want a timestamp, not %s", typeName(v))
	}
	return time.Time{}
}
