package quicksight

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/world"
)

// call is one authenticated API request.
type call struct {
	r    *http.Request
	body []byte
	p    *auth.Principal
	rid  string
	// seg are the path segments after /accounts/{AwsAccountId}.
	seg []string
}

type reply struct {
	status int
	body   map[string]any
}

type handler func(s *Service, c *call) (*reply, *awsproto.Error)

type route struct {
	method  string
	pattern []string // "*" matches one segment
	op      string
	h       handler
}

var routes = []route{
	{"POST", []string{"identity-context"}, "GetIdentityContext", (*Service).getIdentityContext},
	{"GET", []string{"dashboards"}, "ListDashboards", (*Service).listDashboards},
	{"GET", []string{"dashboards", "*"}, "DescribeDashboard", (*Service).describeDashboard},
	{"GET", []string{"dashboards", "*", "definition"}, "DescribeDashboardDefinition", (*Service).describeDashboardDefinition},
	{"POST", []string{"dashboards", "*", "snapshot-jobs"}, "StartDashboardSnapshotJob", (*Service).startSnapshotJob},
	{"GET", []string{"dashboards", "*", "snapshot-jobs", "*"}, "DescribeDashboardSnapshotJob", (*Service).describeSnapshotJob},
	{"GET", []string{"dashboards", "*", "snapshot-jobs", "*", "result"}, "DescribeDashboardSnapshotJobResult", (*Service).describeSnapshotJobResult},
	{"GET", []string{"namespaces", "*", "users"}, "ListUsers", (*Service).listUsers},
	{"GET", []string{"namespaces", "*", "users", "*"}, "DescribeUser", (*Service).describeUser},
}

// identityAware are the operations identity-enhanced credentials may call.
var identityAware = map[string]bool{"StartDashboardSnapshotJob": true, "DescribeDashboardSnapshotJob": true,
	"DescribeDashboardSnapshotJobResult": true}

func (rt *route) match(method string, seg []string) bool {
	if rt.method != method || len(rt.pattern) != len(seg) {
		return false
	}
	for i, p := range rt.pattern {
		if p != "*" && p != seg[i] {
			return false
		}
	}
	return true
}

// splitPath splits the escaped path, so that a user name holding "/" (sent
// as %2F) stays one segment.
func splitPath(r *http.Request) ([]string, bool) {
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func errorf(status int, code, format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(status, code, format, a...)
}

func accessDenied(format string, a ...any) *awsproto.Error {
	return errorf(http.StatusUnauthorized, "AccessDeniedException", format, a...)
}

func notFound(resourceType, format string, a ...any) *awsproto.Error {
	e := errorf(http.StatusNotFound, "ResourceNotFoundException", format, a...)
	if resourceType != "" {
		e.Fields = map[string]any{"ResourceType": resourceType}
	}
	return e
}

var accountRe = lazyre.New(`^[0-9]{12}$`)

// ServeHTTP serves the QuickSight API under /accounts/{AwsAccountId}/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	fail := func(e *awsproto.Error) { awsproto.WriteError(w, awsproto.RestJSON, e, rid) }
	seg, ok := splitPath(r)
	if !ok || len(seg) < 3 || seg[0] != "accounts" {
		fail(errorf(http.StatusNotFound, "UnknownOperationException", "QuickSight has no operation at %s %s", r.Method, r.URL.Path))
		return
	}
	account, rest := seg[1], seg[2:]
	if r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "snapshot-downloads" {
		s.Env.Stats.Inc("quicksight:GetSnapshotFile")
		callctx.SetOperation(r.Context(), "GetSnapshotFile")
		s.download(w, rest[1], rid)
		return
	}
	var rt *route
	for i := range routes {
		if routes[i].match(r.Method, rest) {
			rt = &routes[i]
			break
		}
	}
	if rt == nil {
		fail(errorf(http.StatusNotFound, "UnknownOperationException", "QuickSight has no operation at %s %s", r.Method, r.URL.Path))
		return
	}
	s.Env.Stats.Inc("quicksight:" + rt.op)
	callctx.SetOperation(r.Context(), rt.op)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		fail(e)
		return
	}
	p, e := s.Env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		e = awsproto.JSONAuthError(e, awsproto.RestJSON)
		fail(e)
		return
	}
	if !accountRe.MatchString(account) {
		fail(invalid("AwsAccountId %q must be 12 digits", awsproto.Truncate(account, 20)))
		return
	}
	if account != s.State.AccountID || account != p.AccountID {
		fail(deny(r.Context(), KindAccount, "account/"+account, p.AccountID, "the caller belongs to account "+p.AccountID+" and the QuickSight account is "+s.State.AccountID,
			accessDenied("%s is not authorized to use QuickSight in account %s", p.Arn, account)))
		return
	}
	if p.Context != nil && !identityAware[rt.op] {
		fail(deny(r.Context(), KindIdentityAware, r.URL.Path, "", "QuickSight accepts identity-enhanced credentials only for the snapshot job operations, not for "+rt.op,
			accessDenied("identity-enhanced credentials can call only StartDashboardSnapshotJob, DescribeDashboardSnapshotJob and DescribeDashboardSnapshotJobResult; call %s with ordinary IAM credentials", rt.op)))
		return
	}
	if !writeOps[rt.op] {
		s.Env.RLock()
		defer s.Env.RUnlock()
	}
	res, e := rt.h(s, &call{r: r, body: body, p: p, rid: rid, seg: rest})
	if e != nil {
		fail(e)
		return
	}
	res.body["RequestId"] = rid
	res.body["Status"] = res.status
	awsproto.WriteJSON(w, awsproto.RestJSON, res.status, res.body, rid)
}

func ok(body map[string]any) *reply { return &reply{status: http.StatusOK, body: body} }

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Service) authorize(c *call, action, resource string) *awsproto.Error {
	if !c.explainIAM("quicksight:"+action, resource) {
		return accessDenied("User: %s is not authorized to perform: quicksight:%s on resource: %s", c.p.Arn, action, resource)
	}
	return nil
}

func (s *Service) dashboardArn(id string) string { return s.State.arn("dashboard/%s", id) }

// ---- GetIdentityContext ----

var (
	regionRe    = lazyre.New(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	namespaceRe = lazyre.New(`^[a-zA-Z0-9._-]{1,64}$`)
)

// MaxContextLifetime bounds SessionExpiresAt: an identity context lives at
// most as long as the longest role session.
const MaxContextLifetime = 12 * time.Hour

// DefaultContextLifetime is the lifetime of a context without SessionExpiresAt.
const DefaultContextLifetime = time.Hour

func (s *Service) getIdentityContext(c *call) (*reply, *awsproto.Error) {
	var req struct {
		UserIdentifier *struct {
			UserName *string
			Email    *string
			UserArn  *string
		}
		Namespace        *string
		SessionExpiresAt *json.Number
		ContextRegion    *string
	}
	if e := awsproto.DecodeJSON(c.body, &req, "InvalidParameterValueException"); e != nil {
		return nil, e
	}
	id := req.UserIdentifier
	if id == nil {
		return nil, invalid("UserIdentifier is required: give one of UserName, Email or UserArn")
	}
	n := 0
	for _, v := range []*string{id.UserName, id.Email, id.UserArn} {
		if v != nil {
			n++
		}
	}
	if n != 1 {
		return nil, invalid("UserIdentifier must hold exactly one of UserName, Email or UserArn; it holds %d", n)
	}
	ns := ""
	if req.Namespace != nil {
		ns = *req.Namespace
		if !namespaceRe.MatchString(ns) {
			return nil, invalid("Namespace %q is not a valid namespace name", awsproto.Truncate(ns, 70))
		}
	}
	st := s.State
	var u *User
	var target string
	switch {
	case id.UserArn != nil:
		arnNS, name, e := st.parseUserArn(*id.UserArn)
		if e != nil {
			return nil, e
		}
		if ns != "" && ns != arnNS {
			return nil, invalid("Namespace %s does not match the namespace %s of UserArn", ns, arnNS)
		}
		ns, target = arnNS, *id.UserArn
		u = st.UserByName(arnNS, name)
	default:
		if ns == "" {
			return nil, invalid("Namespace is required when UserIdentifier is given by UserName or Email")
		}
		if id.UserName != nil {
			target = world.QuickSightUserArn(st.Region, st.AccountID, ns, *id.UserName)
			u = st.UserByName(ns, *id.UserName)
		} else {
			u = st.UserByEmail(ns, *id.Email)
			if u != nil {
				target = u.Arn
			}
		}
	}
	if st.Namespaces[ns] == nil {
		return nil, notFound("NAMESPACE", "Namespace %s not found in account %s", ns, st.AccountID)
	}
	if target != "" {
		if e := s.authorize(c, "GetIdentityContext", target); e != nil {
			return nil, e
		}
	}
	if u == nil {
		switch {
		case id.Email != nil:
			return nil, notFound("USER", "No user with that email address in namespace %s", ns)
		default:
			return nil, notFound("USER", "User %s not found in namespace %s", target[strings.LastIndex(target, "/")+1:], ns)
		}
	}
	if u.IdentityType == "IAM_IDENTITY_CENTER" {
		return nil, errorf(http.StatusBadRequest, "PreconditionNotMetException",
			"User %s is authenticated by IAM Identity Center. GetIdentityContext supports QuickSight, IAM-federated and Active Directory users; for Identity Center users get identity-enhanced credentials from Identity Center instead (CreateTokenWithIAM, then sts:AssumeRole with ProvidedContexts provider %s)",
			u.UserName, auth.IdentityCenterProvider)
	}
	if u.Inactive {
		return nil, errorf(http.StatusBadRequest, "PreconditionNotMetException", "User %s is inactive", u.UserName)
	}
	now := s.Env.Now()
	expires := now.Add(DefaultContextLifetime)
	if req.SessionExpiresAt != nil {
		f, err := req.SessionExpiresAt.Float64()
		if err != nil {
			return nil, invalid("SessionExpiresAt must be a timestamp")
		}
		expires = time.Unix(0, int64(f*1e9)).UTC().Truncate(time.Second)
		if !expires.After(now) {
			return nil, invalid("SessionExpiresAt %s is not in the future", expires.Format(time.RFC3339))
		}
		if expires.After(now.Add(MaxContextLifetime)) {
			return nil, invalid("SessionExpiresAt %s is more than 12 hours away", expires.Format(time.RFC3339))
		}
	}
	if req.ContextRegion != nil {
		r := *req.ContextRegion
		if !regionRe.MatchString(r) {
			return nil, invalid("ContextRegion %q is not a region", awsproto.Truncate(r, 30))
		}
		if partition(r) != partition(st.Region) {
			return nil, invalid("ContextRegion %s is not in the partition of %s; cross-partition contexts are not supported", r, st.Region)
		}
	}
	groups := make([]auth.Group, 0, len(u.Groups))
	for _, g := range u.Groups {
		groups = append(groups, auth.Group{ID: g.Arn, Name: g.Name})
	}
	ctx, err := s.Env.Sealer.SealContext(&auth.IdentityContext{Provider: auth.QuickSightProvider,
		QuickSightUserArn: u.Arn, Namespace: u.Namespace, UserName: u.UserName, Email: u.Email,
		Groups: groups, ExpiresAt: expires}, now)
	if err != nil {
		return nil, &awsproto.Error{Status: 500, Code: "InternalFailureException", Message: "could not seal the identity context", Receiver: true}
	}
	return ok(map[string]any{"Context": ctx}), nil
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso"):
		return "aws-iso"
	}
	return "aws"
}

// parseUserArn splits a QuickSight user ARN of this account.
func (st *State) parseUserArn(arn string) (ns, name string, e *awsproto.Error) {
	prefix := fmt.Sprintf("arn:aws:quicksight:%s:%s:user/", st.Region, st.AccountID)
	rest, found := strings.CutPrefix(arn, prefix)
	ns, name, cut := strings.Cut(rest, "/")
	if !found || !cut || ns == "" || name == "" {
		return "", "", invalid("UserArn %q is not a QuickSight user ARN of account %s in %s (%sNAMESPACE/USER_NAME)",
			awsproto.Truncate(arn, 200), st.AccountID, st.Region, prefix)
	}
	return ns, name, nil
}

// ---- users ----

func userJSON(u *User) map[string]any {
	return map[string]any{"Arn": u.Arn, "UserName": u.UserName, "Email": u.Email, "Role": u.Role,
		"IdentityType": u.IdentityType, "Active": !u.Inactive, "PrincipalId": u.PrincipalID}
}

func (s *Service) namespaceOf(ns string) (*Namespace, *awsproto.Error) {
	n := s.State.Namespaces[ns]
	if n == nil {
		return nil, notFound("NAMESPACE", "Namespace %s not found in account %s", ns, s.State.AccountID)
	}
	return n, nil
}

func (s *Service) listUsers(c *call) (*reply, *awsproto.Error) {
	ns := c.seg[1]
	if e := s.authorize(c, "ListUsers", s.State.arn("user/%s/*", ns)); e != nil {
		return nil, e
	}
	n, e := s.namespaceOf(ns)
	if e != nil {
		return nil, e
	}
	start, end, next, e := page(c.r, "users", len(n.Users))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, u := range n.Users[start:end] {
		list = append(list, userJSON(u))
	}
	body := map[string]any{"UserList": list}
	if next != "" {
		body["NextToken"] = next
	}
	return ok(body), nil
}

func (s *Service) describeUser(c *call) (*reply, *awsproto.Error) {
	ns, name := c.seg[1], c.seg[3]
	if e := s.authorize(c, "DescribeUser", world.QuickSightUserArn(s.State.Region, s.State.AccountID, ns, name)); e != nil {
		return nil, e
	}
	if _, e := s.namespaceOf(ns); e != nil {
		return nil, e
	}
	u := s.State.UserByName(ns, name)
	if u == nil {
		return nil, notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(name, 100), ns)
	}
	return ok(map[string]any{"User": userJSON(u)}), nil
}

// page reads MaxResults and NextToken and returns the slice bounds.
func page(r *http.Request, kind string, total int) (start, end int, next string, e *awsproto.Error) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("max-results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, "", invalid("MaxResults must be between 1 and 100")
		}
		limit = n
	}
	return pageBounds(kind, total, limit, q.Get("next-token"))
}

// pageBounds slices total items from the NextToken t, limit at a time.
func pageBounds(kind string, total, limit int, t string) (start, end int, next string, e *awsproto.Error) {
	if t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		off, cut := strings.CutPrefix(string(b), kind+":")
		n, err2 := strconv.Atoi(off)
		if err != nil || !cut || err2 != nil || n < 0 || n > total {
			return 0, 0, "", errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid")
		}
		start = n
	}
	end = min(start+limit, total)
	if end < total {
		next = base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// ---- dashboards ----

func (s *Service) dashboard(c *call, action string) (*Dashboard, *awsproto.Error) {
	id := c.seg[1]
	if !ValidJobID(id) {
		return nil, invalid("DashboardId %q may hold only letters, digits, _ and -", awsproto.Truncate(id, 100))
	}
	if e := s.authorize(c, action, s.dashboardArn(id)); e != nil {
		return nil, e
	}
	d := s.State.Dashboard(id)
	if d == nil {
		return nil, notFound("", "Dashboard %s not found in account %s", id, s.State.AccountID)
	}
	return d, nil
}

// version reads version-number / alias-name.
func version(c *call, d *Dashboard) (int, *awsproto.Error) {
	q := c.r.URL.Query()
	if v := q.Get("version-number"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, invalid("VersionNumber must be a positive integer")
		}
		if n > d.Version {
			return 0, notFound("", "Dashboard %s has no version %d", d.ID, n)
		}
		return n, nil
	}
	if a := q.Get("alias-name"); a != "" && a != "$LATEST" && a != "$PUBLISHED" {
		return 0, notFound("", "Dashboard %s has no alias %s", d.ID, awsproto.Truncate(a, 100))
	}
	return d.Version, nil
}

func (s *Service) listDashboards(c *call) (*reply, *awsproto.Error) {
	if e := s.authorize(c, "ListDashboards", s.dashboardArn("*")); e != nil {
		return nil, e
	}
	all := s.State.Dashboards
	start, end, next, e := page(c.r, "dashboards", len(all))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, d := range all[start:end] {
		list = append(list, dashboardSummary(d))
	}
	body := map[string]any{"DashboardSummaryList": list}
	if next != "" {
		body["NextToken"] = next
	}
	return ok(body), nil
}

func dashboardSummary(d *Dashboard) map[string]any {
	return map[string]any{"Arn": d.Arn, "DashboardId": d.ID, "Name": d.Name,
		"CreatedTime": epoch(d.Created), "LastUpdatedTime": epoch(d.Published),
		"PublishedVersionNumber": d.Version, "LastPublishedTime": epoch(d.Published)}
}

func (s *Service) datasetArns(d *Dashboard) []string {
	arns := []string{}
	for _, ds := range d.DatasetList {
		arns = append(arns, ds.Arn)
	}
	return arns
}

func (s *Service) describeDashboard(c *call) (*reply, *awsproto.Error) {
	d, e := s.dashboard(c, "DescribeDashboard")
	if e != nil {
		return nil, e
	}
	n, e := version(c, d)
	if e != nil {
		return nil, e
	}
	sheets := []map[string]any{}
	for _, sh := range d.Sheets {
		sheets = append(sheets, map[string]any{"SheetId": sh.ID, "Name": sh.Name})
	}
	created := d.Created.Add(time.Duration(n) * 24 * time.Hour)
	return ok(map[string]any{"Dashboard": map[string]any{
		"DashboardId": d.ID, "Arn": d.Arn, "Name": d.Name,
		"Version": map[string]any{"CreatedTime": epoch(created), "VersionNumber": n, "Status": "CREATION_SUCCESSFUL",
			"Arn": d.VersionArn(n), "SourceEntityArn": s.State.arn("analysis/%s", d.ID), "DataSetArns": s.datasetArns(d),
			"Description": fmt.Sprintf("Version %d", n), "Sheets": sheets},
		"CreatedTime": epoch(d.Created), "LastPublishedTime": epoch(d.Published), "LastUpdatedTime": epoch(d.Published),
	}}), nil
}

func (s *Service) describeDashboardDefinition(c *call) (*reply, *awsproto.Error) {
	d, e := s.dashboard(c, "DescribeDashboardDefinition")
	if e != nil {
		return nil, e
	}
	if _, e := version(c, d); e != nil {
		return nil, e
	}
	decls := []map[string]any{}
	for _, ds := range d.DatasetList {
		decls = append(decls, map[string]any{"Identifier": ds.ID, "DataSetArn": ds.Arn})
	}
	sheets := []map[string]any{}
	for _, sh := range d.Sheets {
		visuals := []map[string]any{}
		for i := range sh.Visuals {
			visuals = append(visuals, s.visualDefinition(&sh.Visuals[i]))
		}
		sheets = append(sheets, map[string]any{"SheetId": sh.ID, "Name": sh.Name, "Title": sh.Name,
			"ContentType": "INTERACTIVE", "Visuals": visuals})
	}
	params := []map[string]any{}
	for _, p := range d.Parameters {
		kind := map[string]string{world.ColumnString: "StringParameterDeclaration", world.ColumnInteger: "IntegerParameterDeclaration",
			world.ColumnDecimal: "DecimalParameterDeclaration", world.ColumnDateTime: "DateTimeParameterDeclaration"}[d.ColumnType(p.Column)]
		decl := map[string]any{"Name": p.Name}
		if kind != "DateTimeParameterDeclaration" {
			decl["ParameterValueType"] = "MULTI_VALUED"
		}
		params = append(params, map[string]any{kind: decl})
	}
	return ok(map[string]any{"DashboardId": d.ID, "Name": d.Name, "ResourceStatus": "CREATION_SUCCESSFUL",
		"Definition": map[string]any{"DataSetIdentifierDeclarations": decls, "Sheets": sheets, "ParameterDeclarations": params}}), nil
}

// visualDefinition writes a visual in the QuickSight definition shape.
func (s *Service) visualDefinition(v *world.QuickSightVisual) map[string]any {
	ds := s.State.Datasets[v.Dataset]
	column := func(name string) map[string]any {
		return map[string]any{"DataSetIdentifier": v.Dataset, "ColumnName": name}
	}
	dim := func(name string) map[string]any {
		field := map[string]any{"FieldId": v.ID + "." + name, "Column": column(name)}
		switch ds.Columns[ds.Col(name)].Type {
		case world.ColumnInteger, world.ColumnDecimal:
			return map[string]any{"NumericalDimensionField": field}
		case world.ColumnDateTime:
			return map[string]any{"DateDimensionField": field}
		}
		return map[string]any{"CategoricalDimensionField": field}
	}
	dims := func(names []string) []map[string]any {
		out := []map[string]any{}
		for _, n := range names {
			out = append(out, dim(n))
		}
		return out
	}
	measures := func() []map[string]any {
		out := []map[string]any{}
		for _, m := range v.Measures {
			field := map[string]any{"FieldId": v.ID + "." + m.Column + "." + strings.ToLower(m.Aggregation), "Column": column(m.Column)}
			typ := ds.Columns[ds.Col(m.Column)].Type
			if typ == world.ColumnInteger || typ == world.ColumnDecimal {
				field["AggregationFunction"] = map[string]any{"SimpleNumericalAggregation": m.Aggregation}
				out = append(out, map[string]any{"NumericalMeasureField": field})
			} else {
				field["AggregationFunction"] = m.Aggregation
				out = append(out, map[string]any{"CategoricalMeasureField": field})
			}
		}
		return out
	}
	vis := map[string]any{"VisualId": v.ID,
		"Title": map[string]any{"Visibility": "VISIBLE", "FormatText": map[string]any{"PlainText": v.Title}}}
	var wells map[string]any
	key := ""
	switch v.Type {
	case world.VisualKPI:
		key, wells = "KPIVisual", map[string]any{"Values": measures()}
	case world.VisualBarChart:
		key = "BarChartVisual"
		wells = map[string]any{"BarChartAggregatedFieldWells": map[string]any{"Category": dims(v.Dimensions), "Values": measures()}}
	case world.VisualTable:
		key = "TableVisual"
		if len(v.Fields) > 0 {
			fields := []map[string]any{}
			for _, f := range v.Fields {
				fields = append(fields, map[string]any{"FieldId": v.ID + "." + f, "Column": column(f)})
			}
			wells = map[string]any{"TableUnaggregatedFieldWells": map[string]any{"Values": fields}}
		} else {
			wells = map[string]any{"TableAggregatedFieldWells": map[string]any{"GroupBy": dims(v.Dimensions), "Values": measures()}}
		}
	case world.VisualPivotTable:
		key = "PivotTableVisual"
		wells = map[string]any{"PivotTableAggregatedFieldWells": map[string]any{"Rows": dims(v.Dimensions),
			"Columns": dims(v.PivotColumns), "Values": measures()}}
	}
	cfg := map[string]any{"FieldWells": wells}
	if v.Type == world.VisualBarChart {
		cfg["Orientation"] = "HORIZONTAL"
	}
	vis["ChartConfiguration"] = cfg
	return map[string]any{key: vis}
}

// ---- snapshot jobs ----

// viewer resolves the QuickSight user that identity-enhanced credentials
// carry; nil for ordinary IAM credentials.
func (s *Service) viewer(c *call) (*User, *awsproto.Error) {
	ctx := c.p.Context
	if ctx == nil {
		return nil, nil
	}
	if !ctx.ExpiresAt.IsZero() && !s.Env.Now().Before(ctx.ExpiresAt) {
		return nil, deny(c.r.Context(), KindIdentity, ctx.QuickSightUserArn, "", "the identity context expired at "+ctx.ExpiresAt.UTC().Format(time.RFC3339),
			accessDenied("the identity context of these credentials has expired"))
	}
	var u *User
	switch ctx.Provider {
	case auth.QuickSightProvider:
		if u = s.State.UserByArn(ctx.QuickSightUserArn); u == nil {
			return nil, deny(c.r.Context(), KindIdentity, ctx.QuickSightUserArn, "", "the identity context names a QuickSight user that does not exist",
				accessDenied("the QuickSight user %s these credentials carry does not exist", ctx.QuickSightUserArn))
		}
	case auth.IdentityCenterProvider:
		if u = s.State.UserForEmail(ctx.Email); u == nil {
			return nil, deny(c.r.Context(), KindIdentity, ctx.UserName, "", "no QuickSight user of account "+s.State.AccountID+" has the email "+ctx.Email+" of Identity Center user "+ctx.UserName,
				accessDenied("the Identity Center user %s is not registered in QuickSight account %s", ctx.UserName, s.State.AccountID))
		}
	default:
		return nil, deny(c.r.Context(), KindIdentity, "", ctx.Provider, "QuickSight does not accept identity contexts from "+ctx.Provider,
			accessDenied("QuickSight does not accept identity contexts from %s", ctx.Provider))
	}
	if u.Inactive {
		return nil, deny(c.r.Context(), KindIdentity, u.Arn, "", "QuickSight user "+u.UserName+" is inactive",
			accessDenied("QuickSight user %s is inactive", u.UserName))
	}
	return u, nil
}

func (s *Service) startSnapshotJob(c *call) (*reply, *awsproto.Error) {
	d, e := s.dashboard(c, "StartDashboardSnapshotJob")
	if e != nil {
		return nil, e
	}
	user, e := s.viewer(c)
	if e != nil {
		return nil, e
	}
	var req struct {
		SnapshotJobId     *string
		UserConfiguration *struct {
			AnonymousUsers []AnonymousUser
		}
		SnapshotConfiguration *SnapshotConfiguration
	}
	if e := awsproto.DecodeJSON(c.body, &req, "InvalidParameterValueException"); e != nil {
		return nil, e
	}
	if req.SnapshotJobId == nil || !ValidJobID(*req.SnapshotJobId) {
		return nil, invalid("SnapshotJobId is required and may hold only letters, digits, _ and - (1 to 512)")
	}
	if req.SnapshotConfiguration == nil {
		return nil, invalid("SnapshotConfiguration is required")
	}
	sr := StartRequest{Dashboard: d, JobID: *req.SnapshotJobId, User: user, CallerArn: c.p.Arn, Config: *req.SnapshotConfiguration}
	if user != nil {
		if req.UserConfiguration != nil {
			return nil, invalid("UserConfiguration must be left out when you call with identity-enhanced credentials: the job runs as the QuickSight user %s they carry", user.UserName)
		}
		if !d.CanView(user) {
			return nil, deny(c.r.Context(), KindDashboardPermissions, d.Arn, d.Arn, viewersReason(d, user),
				accessDenied("QuickSight user %s has no access to dashboard %s", user.UserName, d.ID))
		}
	} else {
		if req.UserConfiguration == nil {
			return nil, invalid("UserConfiguration is required unless you call with identity-enhanced credentials")
		}
		if n := len(req.UserConfiguration.AnonymousUsers); n != 1 {
			return nil, invalid("UserConfiguration.AnonymousUsers must hold exactly 1 anonymous user; it holds %d", n)
		}
		sr.Anonymous = &req.UserConfiguration.AnonymousUsers[0]
	}
	job, e := s.State.Start(sr)
	if e != nil {
		return nil, e
	}
	return &reply{status: http.StatusAccepted, body: map[string]any{"Arn": job.Arn, "SnapshotJobId": job.ID}}, nil
}

// job finds a job the caller may see.
func (s *Service) job(c *call, action string) (JobView, *awsproto.Error) {
	d, e := s.dashboard(c, action)
	if e != nil {
		return JobView{}, e
	}
	user, e := s.viewer(c)
	if e != nil {
		return JobView{}, e
	}
	id := c.seg[3]
	v, found := s.State.Job(d.ID, id)
	if !found {
		return JobView{}, notFound("", "Snapshot job %s not found on dashboard %s", awsproto.Truncate(id, 100), d.ID)
	}
	switch {
	case v.User == nil && user != nil:
		return JobView{}, deny(c.r.Context(), KindJobOwner, v.Arn, "", "the job was started for an anonymous user; only ordinary IAM credentials may read it",
			accessDenied("snapshot job %s was started for an anonymous user, not for QuickSight user %s", id, user.UserName))
	case v.User != nil && user == nil:
		return JobView{}, deny(c.r.Context(), KindJobOwner, v.Arn, "", "the job belongs to QuickSight user "+v.User.UserName+"; only that user's identity-enhanced credentials may read it",
			accessDenied("snapshot job %s was started by QuickSight user %s; describe it with that user's identity-enhanced credentials", id, v.User.UserName))
	case v.User != nil && v.User.Arn != user.Arn:
		return JobView{}, deny(c.r.Context(), KindJobOwner, v.Arn, "", "the job belongs to QuickSight user "+v.User.UserName+", not to "+user.UserName,
			accessDenied("snapshot job %s was started by another user", id))
	}
	return v, nil
}

func (s *Service) describeSnapshotJob(c *call) (*reply, *awsproto.Error) {
	v, e := s.job(c, "DescribeDashboardSnapshotJob")
	if e != nil {
		return nil, e
	}
	body := map[string]any{"AwsAccountId": s.State.AccountID, "DashboardId": v.Dashboard.ID, "SnapshotJobId": v.ID,
		"SnapshotConfiguration": v.Config, "Arn": v.Arn, "JobStatus": v.Status,
		"CreatedTime": epoch(v.Created), "LastUpdatedTime": epoch(v.Updated)}
	if v.User == nil {
		anon := map[string]any{}
		if len(v.AnonymousTagKeys) > 0 {
			anon["RowLevelPermissionTagKeys"] = v.AnonymousTagKeys
		}
		body["UserConfiguration"] = map[string]any{"AnonymousUsers": []any{anon}}
	}
	return ok(body), nil
}

func (s *Service) describeSnapshotJobResult(c *call) (*reply, *awsproto.Error) {
	v, e := s.job(c, "DescribeDashboardSnapshotJobResult")
	if e != nil {
		return nil, e
	}
	if !v.Terminal() {
		return nil, errorf(http.StatusBadRequest, "PreconditionNotMetException",
			"Dashboard Snapshot Job with id %s has not reached a terminal state.", v.ID)
	}
	s.State.ResolveDownloads(&v, s.Env.World.Endpoint)
	groups := map[string]any{"FileGroups": v.FileGroups}
	result := map[string]any{}
	if v.User != nil {
		result["RegisteredUsers"] = []any{groups}
	} else {
		result["AnonymousUsers"] = []any{groups}
	}
	body := map[string]any{"Arn": v.Arn, "JobStatus": v.Status, "CreatedTime": epoch(v.Created),
		"LastUpdatedTime": epoch(v.Updated), "Result": result}
	if v.ErrorInfo != nil {
		body["ErrorInfo"] = v.ErrorInfo
	}
	return ok(body), nil
}

// download serves a result file of a job without S3 destination.
func (s *Service) download(w http.ResponseWriter, token, rid string) {
	data, ct, found := s.State.Download(token)
	if !found {
		awsproto.WriteError(w, awsproto.RestJSON, accessDenied("the download URL is unknown or has expired"), rid)
		return
	}
	awsproto.SetRequestIDHeaders(w, awsproto.RestJSON, rid)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
