package athena

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
	"github.com/tipctl/tipctl/sandbox/s3control"
)

// Handler serves Athena (awsJson1_1, AmazonAthena.<Op>).
type Handler struct {
	*json11.API
	State  *Service
	tables *glue.Handler
}

// New builds the service and its wire handler.
func New(e *env.Env, catalog *glue.Catalog, lf *lakeformation.State, grants *s3control.State) (*Handler, error) {
	s, err := NewService(e, catalog, lf, grants)
	if err != nil {
		return nil, err
	}
	h := &Handler{State: s, tables: glue.New(e, catalog, lf)}
	h.API = &json11.API{Name: "athena", TargetPrefix: "AmazonAthena.", Service: "athena", Runtime: e, Stats: e.Stats,
		Operations: map[string]json11.Operation{
			"StartQueryExecution": h.start,
			"GetQueryExecution":   h.getExecution,
			"GetQueryResults":     h.results,
			"ListQueryExecutions": h.listExecutions,
			"StopQueryExecution":  h.stop,
			"GetWorkGroup":        h.getWorkGroup,
			"ListWorkGroups":      h.listWorkGroups,
			"ListDatabases":       h.listDatabases,
			"ListTableMetadata":   h.listTables,
			"GetTableMetadata":    h.getTable,
		}}
	return h, nil
}

func invalidRequest(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidRequestException", format, a...)
}

func metadataError(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "MetadataException", format, a...)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// enhanced reports whether p carries an Identity Center user.
func enhanced(p *auth.Principal) bool {
	return p.Context != nil && p.Context.Provider == auth.IdentityCenterProvider && p.Context.UserID != ""
}

func (h *Handler) workgroup(c *json11.Call, name *string) (*Workgroup, *awsproto.Error) {
	n := "primary"
	if name != nil && *name != "" {
		n = *name
	}
	wg, ok := h.State.Workgroup(n)
	if !ok {
		return nil, invalidRequest("WorkGroup %s is not found.", awsproto.Truncate(n, 128))
	}
	if e := c.Authorize(wg.Arn); e != nil {
		return nil, e
	}
	return wg, nil
}

// identityCenter refuses a caller without identity-enhanced credentials
// on an IAM Identity Center enabled workgroup.
func (h *Handler) identityCenter(c *json11.Call, wg *Workgroup) *awsproto.Error {
	if !wg.IdentityCenter || enhanced(c.Caller) {
		return nil
	}
	reason := "workgroup " + wg.Name + " is IAM Identity Center enabled; " + c.Caller.Arn + " carries no Identity Center user (trusted identity propagation)"
	callctx.Deny(c.Ctx, callctx.Decision{Kind: "identity-center", Action: "athena:" + c.Op, Resource: wg.Arn, Reason: reason})
	return invalidRequest("You are not authorized to perform this operation on the IAM Identity Center enabled workgroup %s: the request must be made with identity-enhanced credentials of an IAM Identity Center user (trusted identity propagation).", wg.Name)
}

type startIn struct {
	QueryString           *string `json:"QueryString"`
	ClientRequestToken    *string `json:"ClientRequestToken"`
	WorkGroup             *string `json:"WorkGroup"`
	QueryExecutionContext *struct {
		Database *string `json:"Database"`
		Catalog  *string `json:"Catalog"`
	} `json:"QueryExecutionContext"`
	ResultConfiguration *struct {
		OutputLocation          *string `json:"OutputLocation"`
		EncryptionConfiguration any     `json:"EncryptionConfiguration"`
		ExpectedBucketOwner     *string `json:"ExpectedBucketOwner"`
		AclConfiguration        any     `json:"AclConfiguration"`
	} `json:"ResultConfiguration"`
	ExecutionParameters      []string `json:"ExecutionParameters"`
	ResultReuseConfiguration any      `json:"ResultReuseConfiguration"`
	EngineConfiguration      any      `json:"EngineConfiguration"`
}

// MaxQuery is the model's bound on QueryString.
const MaxQuery = 262144

func (h *Handler) start(c *json11.Call) (any, *awsproto.Error) {
	var in startIn
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.QueryString == nil {
		return nil, json11.Required("queryString")
	}
	if len(*in.QueryString) == 0 || len(*in.QueryString) > MaxQuery {
		return nil, invalidRequest("1 validation error detected: Value at 'queryString' failed to satisfy constraint: Member must have length between 1 and %d", MaxQuery)
	}
	if len(in.ExecutionParameters) > 0 {
		return nil, invalidRequest("The sandbox's Athena does not take ExecutionParameters; put the values in the query.")
	}
	wg, e := h.workgroup(c, in.WorkGroup)
	if e != nil {
		return nil, e
	}
	if e := h.identityCenter(c, wg); e != nil {
		return nil, e
	}
	db := "default"
	if x := in.QueryExecutionContext; x != nil {
		if x.Catalog != nil && *x.Catalog != "" && !strings.EqualFold(*x.Catalog, "AwsDataCatalog") {
			return nil, invalidRequest("Catalog %s is not found.", awsproto.Truncate(*x.Catalog, 128))
		}
		if x.Database != nil && *x.Database != "" {
			db = strings.ToLower(*x.Database)
		}
	}
	output := wg.OutputLocation
	if r := in.ResultConfiguration; r != nil && r.OutputLocation != nil && !wg.IdentityCenter {
		if !strings.HasPrefix(*r.OutputLocation, "s3://") {
			return nil, invalidRequest("outputLocation must be an s3:// URI")
		}
		if !h.State.env.Objects.BucketExists(bucketOf(*r.OutputLocation)) {
			return nil, invalidRequest("Unable to verify/create output bucket %s", awsproto.Truncate(bucketOf(*r.OutputLocation), 63))
		}
		output = *r.OutputLocation
	}
	if !strings.HasSuffix(output, "/") {
		output += "/"
	}
	p := c.Caller
	if wg.UserLevelPrefix && enhanced(p) {
		output += p.Context.UserID + "/"
	}
	id := uuid.NewString()
	x := &Execution{ID: id, Query: *in.QueryString, Workgroup: wg.Name, Database: db, Owner: ownerOf(p), Output: output + id + ".csv",
		Submitted: h.State.env.Now(), wg: wg, caller: p}
	x.plan = h.State.newPlan(p, x.Query, db)
	h.audit(c, x)
	h.State.Submit(x)
	return map[string]any{"QueryExecutionId": id}, nil
}

// audit records what decided the query for CloudTrail: the Lake Formation
// refusal, the guard's, or the cells each table gave.
func (h *Handler) audit(c *json11.Call, x *Execution) {
	pl := x.plan
	p := c.Caller
	if len(pl.tables) > 0 && !p.Admin {
		if ex := p.Explain("lakeformation:GetDataAccess", "*", nil); ex.Decision != iampolicy.Allow {
			callctx.Deny(c.Ctx, callctx.IdentityPolicy(p, "lakeformation:GetDataAccess", "*", ex))
			pl.fail = "AccessDeniedException: User: " + p.Arn + " is not authorized to perform: lakeformation:GetDataAccess because no identity-based policy allows the lakeformation:GetDataAccess action"
			pl.tables = nil
			return
		}
	}
	switch {
	case pl.denied != nil:
		callctx.Deny(c.Ctx, callctx.Decision{Kind: "lake-formation", Action: "SELECT", Resource: h.State.Catalog.Arn(pl.denied),
			Reason: "no Lake Formation grant gives SELECT on " + pl.denied.Database + "." + pl.denied.Name + " to " + strings.Join(h.State.LF.Principals(p), ", ")})
	case pl.guard:
		callctx.AddEventData(c.Ctx, "tipctlRefusal", pl.fail)
	case len(pl.tables) > 0:
		var used []map[string]any
		for _, t := range pl.tables {
			used = append(used, map[string]any{"table": t.t.Database + "." + t.t.Name, "columns": t.a.Columns, "rowFilter": t.a.Rows, "grants": t.a.Grants})
		}
		callctx.AddEventData(c.Ctx, "lakeFormation", used)
	}
}

// own finds an execution the caller may see: on an Identity Center
// workgroup only the person's own.
func (h *Handler) own(c *json11.Call, id *string) (*Execution, *awsproto.Error) {
	if id == nil || *id == "" {
		return nil, json11.Required("queryExecutionId")
	}
	x, ok := h.State.Get(*id)
	if !ok {
		return nil, invalidRequest("QueryExecution %s was not found", awsproto.Truncate(*id, 128))
	}
	if e := c.Authorize(x.wg.Arn); e != nil {
		return nil, e
	}
	if e := h.identityCenter(c, x.wg); e != nil {
		return nil, e
	}
	if x.wg.IdentityCenter && x.Owner != ownerOf(c.Caller) {
		return nil, invalidRequest("QueryExecution %s was not found", awsproto.Truncate(*id, 128))
	}
	return x, nil
}

func (h *Handler) executionOut(x *Execution) map[string]any {
	sn := x.Snapshot()
	status := map[string]any{"State": sn.State, "SubmissionDateTime": epoch(x.Submitted)}
	stats := map[string]any{"DataScannedInBytes": sn.Scanned, "QueryQueueTimeInMillis": 0, "EngineExecutionTimeInMillis": 0, "TotalExecutionTimeInMillis": 0}
	if !sn.Started.IsZero() {
		stats["QueryQueueTimeInMillis"] = sn.Started.Sub(x.Submitted).Milliseconds()
	}
	if !sn.Completed.IsZero() {
		status["CompletionDateTime"] = epoch(sn.Completed)
		stats["TotalExecutionTimeInMillis"] = sn.Completed.Sub(x.Submitted).Milliseconds()
		if !sn.Started.IsZero() {
			stats["EngineExecutionTimeInMillis"] = sn.Completed.Sub(sn.Started).Milliseconds()
		}
	}
	if sn.Reason != "" {
		status["StateChangeReason"] = sn.Reason
	}
	if sn.State == Failed {
		status["AthenaError"] = map[string]any{"ErrorCategory": sn.Category, "Retryable": false, "ErrorMessage": sn.Reason}
	}
	out := map[string]any{"QueryExecutionId": x.ID, "Query": x.Query, "StatementType": "DML", "SubstatementType": "SELECT",
		"ResultConfiguration":   map[string]any{"OutputLocation": x.Output},
		"QueryExecutionContext": map[string]any{"Database": x.Database, "Catalog": "awsdatacatalog"},
		"Status":                status, "Statistics": stats, "WorkGroup": x.Workgroup,
		"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}}
	if x.wg.S3AccessGrants {
		out["QueryResultsS3AccessGrantsConfiguration"] = h.grantsConfig(x.wg)
	}
	return out
}

func (h *Handler) grantsConfig(wg *Workgroup) map[string]any {
	return map[string]any{"EnableS3AccessGrants": true, "CreateUserLevelPrefix": wg.UserLevelPrefix, "AuthenticationType": "DIRECTORY_IDENTITY"}
}

type idIn struct {
	QueryExecutionID *string `json:"QueryExecutionId"`
}

func (h *Handler) getExecution(c *json11.Call) (any, *awsproto.Error) {
	var in idIn
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	x, e := h.own(c, in.QueryExecutionID)
	if e != nil {
		return nil, e
	}
	return map[string]any{"QueryExecution": h.executionOut(x)}, nil
}

func (h *Handler) stop(c *json11.Call) (any, *awsproto.Error) {
	var in idIn
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	x, e := h.own(c, in.QueryExecutionID)
	if e != nil {
		return nil, e
	}
	x.Stop(h.State.env.Now())
	return map[string]any{}, nil
}

func (h *Handler) results(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		QueryExecutionID *string `json:"QueryExecutionId"`
		NextToken        *string `json:"NextToken"`
		MaxResults       *int    `json:"MaxResults"`
		QueryResultType  *string `json:"QueryResultType"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	x, e := h.own(c, in.QueryExecutionID)
	if e != nil {
		return nil, e
	}
	sn := x.Snapshot()
	switch sn.State {
	case Queued, Running:
		return nil, invalidRequest("Query has not yet finished. Current state: %s", sn.State)
	case Failed, Cancelled:
		return nil, invalidRequest("Query did not finish successfully. Final query state: %s\n%s", sn.State, sn.Reason)
	}
	// The first row is the header, as Athena returns it on the first page.
	all := make([]map[string]any, 0, len(sn.Rows)+1)
	datum := func(v *string) map[string]any {
		if v == nil {
			return map[string]any{}
		}
		return map[string]any{"VarCharValue": *v}
	}
	head := make([]map[string]any, len(sn.Header))
	for i, c := range sn.Header {
		n := c.Name
		head[i] = datum(&n)
	}
	all = append(all, map[string]any{"Data": head})
	for _, r := range sn.Rows {
		d := make([]map[string]any, len(r))
		for i, v := range r {
			d[i] = datum(v)
		}
		all = append(all, map[string]any{"Data": d})
	}
	page, next, e := json11.Page("GetQueryResults", x.ID, all, in.NextToken, in.MaxResults, 1000)
	if e != nil {
		return nil, e
	}
	info := make([]map[string]any, len(sn.Header))
	for i, c := range sn.Header {
		info[i] = map[string]any{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name, "Label": c.Name, "Type": c.Type,
			"Precision": c.Precision, "Scale": c.Scale, "Nullable": "UNKNOWN", "CaseSensitive": c.CaseSensitive}
	}
	out := map[string]any{"UpdateCount": 0, "ResultSet": map[string]any{"Rows": page, "ResultSetMetadata": map[string]any{"ColumnInfo": info}}}
	if next != nil {
		out["NextToken"] = *next
	}
	return out, nil
}

func (h *Handler) listExecutions(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		NextToken  *string `json:"NextToken"`
		MaxResults *int    `json:"MaxResults"`
		WorkGroup  *string `json:"WorkGroup"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	wg, e := h.workgroup(c, in.WorkGroup)
	if e != nil {
		return nil, e
	}
	if e := h.identityCenter(c, wg); e != nil {
		return nil, e
	}
	owner := ownerOf(c.Caller)
	var ids []string
	for _, x := range h.State.List(wg.Name, func(x *Execution) bool { return !wg.IdentityCenter || x.Owner == owner }) {
		ids = append(ids, x.ID)
	}
	if in.MaxResults != nil && *in.MaxResults == 0 {
		in.MaxResults = nil
	}
	page, next, e := json11.Page("ListQueryExecutions", wg.Name+owner, ids, in.NextToken, in.MaxResults, 50)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "QueryExecutionIds", Items: page, Next: next}, nil
}

func (h *Handler) workgroupOut(wg *Workgroup) map[string]any {
	conf := map[string]any{"ResultConfiguration": map[string]any{"OutputLocation": wg.OutputLocation},
		"EnforceWorkGroupConfiguration": wg.IdentityCenter, "PublishCloudWatchMetricsEnabled": false, "RequesterPaysEnabled": false,
		"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}}
	out := map[string]any{"Name": wg.Name, "State": "ENABLED", "Description": wg.Description, "CreationTime": epoch(wg.Created), "Configuration": conf}
	if wg.IdentityCenter {
		conf["IdentityCenterConfiguration"] = map[string]any{"EnableIdentityCenter": true, "IdentityCenterInstanceArn": h.State.instance}
	}
	if wg.S3AccessGrants {
		conf["QueryResultsS3AccessGrantsConfiguration"] = h.grantsConfig(wg)
	}
	return out
}

func (h *Handler) getWorkGroup(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		WorkGroup *string `json:"WorkGroup"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.WorkGroup == nil || *in.WorkGroup == "" {
		return nil, json11.Required("workGroup")
	}
	wg, e := h.workgroup(c, in.WorkGroup)
	if e != nil {
		return nil, e
	}
	return map[string]any{"WorkGroup": h.workgroupOut(wg)}, nil
}

func (h *Handler) listWorkGroups(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		NextToken  *string `json:"NextToken"`
		MaxResults *int    `json:"MaxResults"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if e := c.Authorize("*"); e != nil {
		return nil, e
	}
	var items []map[string]any
	for _, wg := range h.State.Workgroups() {
		items = append(items, map[string]any{"Name": wg.Name, "State": "ENABLED", "Description": wg.Description, "CreationTime": epoch(wg.Created),
			"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}})
	}
	page, next, e := json11.Page("ListWorkGroups", "", items, in.NextToken, in.MaxResults, 50)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "WorkGroups", Items: page, Next: next}, nil
}

type catalogIn struct {
	CatalogName  *string `json:"CatalogName"`
	DatabaseName *string `json:"DatabaseName"`
	TableName    *string `json:"TableName"`
	Expression   *string `json:"Expression"`
	NextToken    *string `json:"NextToken"`
	MaxResults   *int    `json:"MaxResults"`
	WorkGroup    *string `json:"WorkGroup"`
}

func (h *Handler) catalogCall(c *json11.Call) (*catalogIn, *awsproto.Error) {
	var in catalogIn
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if in.CatalogName == nil || *in.CatalogName == "" {
		return nil, json11.Required("catalogName")
	}
	if !strings.EqualFold(*in.CatalogName, "AwsDataCatalog") {
		return nil, metadataError("Catalog %s was not found.", awsproto.Truncate(*in.CatalogName, 128))
	}
	w := h.State.env.World
	if e := c.Authorize("arn:aws:athena:" + w.Region + ":" + w.AccountID + ":datacatalog/AwsDataCatalog"); e != nil {
		return nil, e
	}
	if in.WorkGroup != nil && *in.WorkGroup != "" {
		wg, e := h.workgroup(c, in.WorkGroup)
		if e != nil {
			return nil, e
		}
		if e := h.identityCenter(c, wg); e != nil {
			return nil, e
		}
	}
	return &in, nil
}

func (h *Handler) listDatabases(c *json11.Call) (any, *awsproto.Error) {
	in, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	var items []map[string]any
	for _, d := range h.State.Catalog.Databases {
		if h.State.LF.Describable(c.Caller, d.Name, nil) {
			items = append(items, map[string]any{"Name": d.Name, "Description": d.Description, "Parameters": map[string]string{}})
		}
	}
	page, next, e := json11.Page("ListDatabases", "", items, in.NextToken, in.MaxResults, 50)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "DatabaseList", Items: page, Next: next}, nil
}

func (h *Handler) tableOut(t *glue.Table, cols []string) map[string]any {
	g := h.tables.TableOut(t, cols)
	columns := g["StorageDescriptor"].(map[string]any)["Columns"]
	params := g["Parameters"].(map[string]string)
	out := map[string]any{"Name": t.Name, "CreateTime": epoch(t.Created), "TableType": "EXTERNAL_TABLE", "Columns": columns,
		"PartitionKeys": []any{}, "Parameters": map[string]string{}}
	for k, v := range params {
		out["Parameters"].(map[string]string)[k] = v
	}
	out["Parameters"].(map[string]string)["location"] = t.Location
	return out
}

func (h *Handler) listTables(c *json11.Call) (any, *awsproto.Error) {
	in, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	if in.DatabaseName == nil || *in.DatabaseName == "" {
		return nil, json11.Required("databaseName")
	}
	d, ok := h.State.Catalog.Database(*in.DatabaseName)
	if !ok || !h.State.LF.Describable(c.Caller, d.Name, nil) {
		return nil, metadataError("Database %s was not found.", awsproto.Truncate(*in.DatabaseName, 128))
	}
	re, e := glue.Expression(in.Expression)
	if e != nil {
		return nil, e
	}
	var items []map[string]any
	for _, t := range d.Tables {
		if !re.MatchString(t.Name) {
			continue
		}
		if cols := h.State.LF.VisibleColumns(c.Caller, t); cols != nil {
			items = append(items, h.tableOut(t, cols))
		}
	}
	page, next, e := json11.Page("ListTableMetadata", d.Name, items, in.NextToken, in.MaxResults, 50)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "TableMetadataList", Items: page, Next: next}, nil
}

func (h *Handler) getTable(c *json11.Call) (any, *awsproto.Error) {
	in, e := h.catalogCall(c)
	if e != nil {
		return nil, e
	}
	if in.DatabaseName == nil || in.TableName == nil {
		return nil, json11.Required("tableName")
	}
	t, ok := h.State.Catalog.Table(*in.DatabaseName, *in.TableName)
	var cols []string
	if ok {
		cols = h.State.LF.VisibleColumns(c.Caller, t)
	}
	if cols == nil {
		return nil, metadataError("Table %s.%s was not found.", awsproto.Truncate(*in.DatabaseName, 128), awsproto.Truncate(*in.TableName, 128))
	}
	return map[string]any{"TableMetadata": h.tableOut(t, cols)}, nil
}
