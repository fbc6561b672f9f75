package redshiftdata

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// Handler serves the Redshift Data API (awsJson1_1, RedshiftData.<Op>).
type Handler struct {
	*json11.API
	State *Service
}

// New builds the service and its wire handler.
func New(e *env.Env) (*Handler, error) {
	s, err := NewService(e)
	if err != nil {
		return nil, err
	}
	h := &Handler{State: s}
	h.API = &json11.API{Name: "redshift-data", TargetPrefix: "RedshiftData.", Service: "redshift-data",
		Runtime: e, Stats: e.Stats, Operations: map[string]json11.Operation{
			"ExecuteStatement":      h.execute(false),
			"BatchExecuteStatement": h.execute(true),
			"DescribeStatement":     h.describe,
			"GetStatementResult":    h.result(false),
			"GetStatementResultV2":  h.result(true),
			"ListStatements":        h.list,
			"CancelStatement":       h.cancel,
			"ListDatabases":         h.listDatabases,
			"ListSchemas":           h.listSchemas,
			"ListTables":            h.listTables,
			"DescribeTable":         h.describeTable,
		}}
	return h, nil
}

type target struct {
	ClusterIdentifier *string `json:"ClusterIdentifier"`
	WorkgroupName     *string `json:"WorkgroupName"`
	Database          *string `json:"Database"`
	DbUser            *string `json:"DbUser"`
	SecretArn         *string `json:"SecretArn"`
	SessionID         *string `json:"SessionId"`
}

// database resolves the workgroup and database a call names and checks
// the caller's IAM permission on the workgroup.
func (h *Handler) database(c *json11.Call, t target) (*Workgroup, *Database, *awsproto.Error) {
	if t.ClusterIdentifier != nil {
		return nil, nil, json11.Validation("Cluster %s not found. The sandbox serves Redshift Serverless workgroups only; use WorkgroupName.", awsproto.Truncate(*t.ClusterIdentifier, 63))
	}
	if t.WorkgroupName == nil || *t.WorkgroupName == "" {
		return nil, nil, json11.Validation("Either ClusterIdentifier or WorkgroupName is required.")
	}
	wg, ok := h.State.Workgroup(*t.WorkgroupName)
	if !ok {
		return nil, nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException",
			Message: "Workgroup " + awsproto.Truncate(*t.WorkgroupName, 64) + " not found.", Fields: map[string]any{"ResourceId": awsproto.Truncate(*t.WorkgroupName, 64)}}
	}
	if e := c.Authorize(wg.Arn); e != nil {
		return nil, nil, e
	}
	if t.Database == nil || *t.Database == "" {
		return nil, nil, json11.Validation("Database is required.")
	}
	dbs, err := wg.Databases()
	if err != nil {
		return nil, nil, &awsproto.Error{Status: 500, Code: "InternalServerException", Message: err.Error(), Receiver: true}
	}
	db, ok := dbs[*t.Database]
	if !ok {
		return nil, nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "DatabaseConnectionException",
			Message: `FATAL: database "` + awsproto.Truncate(*t.Database, 64) + `" does not exist`, Receiver: true}
	}
	return wg, db, nil
}

var paramName = regexp.MustCompile(`^[0-9a-zA-Z_]+$`)

func (h *Handler) execute(batch bool) json11.Operation {
	return func(c *json11.Call) (any, *awsproto.Error) {
		var in struct {
			target
			Sql                     *string  `json:"Sql"`
			Sqls                    []string `json:"Sqls"`
			StatementName           *string  `json:"StatementName"`
			Parameters              []Param  `json:"Parameters"`
			ResultFormat            *string  `json:"ResultFormat"`
			WithEvent               *bool    `json:"WithEvent"`
			ClientToken             *string  `json:"ClientToken"`
			SessionKeepAliveSeconds *int     `json:"SessionKeepAliveSeconds"`
		}
		if e := c.Decode(&in); e != nil {
			return nil, e
		}
		sqls := in.Sqls
		if !batch {
			if in.Sql == nil {
				return nil, json11.Required("sql")
			}
			sqls = []string{*in.Sql}
		} else if len(sqls) == 0 || len(sqls) > 40 {
			return nil, json11.Validation("1 validation error detected: Value at 'sqls' failed to satisfy constraint: Member must have length between 1 and 40")
		}
		for _, q := range sqls {
			if len(q) == 0 || len(q) > sqlengine.MaxSQL {
				return nil, json11.Validation("1 validation error detected: Value at 'sql' failed to satisfy constraint: Member must have length between 1 and %d", sqlengine.MaxSQL)
			}
		}
		format := "JSON"
		if in.ResultFormat != nil {
			if *in.ResultFormat != "JSON" && *in.ResultFormat != "CSV" {
				return nil, json11.BadEnum("resultFormat", *in.ResultFormat, "JSON", "CSV")
			}
			format = *in.ResultFormat
		}
		params := map[string]string{}
		for _, p := range in.Parameters {
			if !paramName.MatchString(p.Name) || len(p.Name) > 128 {
				return nil, json11.Validation("1 validation error detected: Value '%s' at 'parameters.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z_]+$", awsproto.Truncate(p.Name, 64))
			}
			params[p.Name] = p.Value
		}
		wg, db, e := h.database(c, in.target)
		if e != nil {
			return nil, e
		}
		now := h.State.env.Now()
		st := &Statement{ID: uuid.NewString(), Owner: ownerOf(c.Caller), Database: db.Name, Workgroup: wg.Name,
			Format: format, Params: params, ParamList: in.Parameters, Batch: batch, CreatedAt: now}
		if in.StatementName != nil {
			st.Name = *in.StatementName
		}
		for i, q := range sqls {
			sub := &Sub{ID: st.ID, SQL: q, status: "SUBMITTED", created: now, updated: now}
			if batch {
				sub.ID = st.ID + ":" + itoa(i+1)
			}
			toks, err := sqlengine.Lex(q)
			switch {
			case err != nil:
				sub.toks = nil
				sub.errMsg = "ERROR: " + err.Error()
			default:
				parts := sqlengine.Split(toks)
				switch {
				case len(parts) == 0:
					sub.errMsg = "ERROR: the SQL text has no statement"
				case len(parts) > 1:
					sub.errMsg = "ERROR: cannot insert multiple commands into a prepared statement"
				default:
					sub.toks = parts[0]
				}
			}
			st.Subs = append(st.Subs, sub)
		}
		u := h.State.UserOf(c.Caller)
		h.State.Submit(st, db, u)
		out := map[string]any{"Id": st.ID, "CreatedAt": epoch(now), "Database": db.Name, "WorkgroupName": *in.WorkgroupName}
		if in.DbUser != nil {
			out["DbUser"] = *in.DbUser
		}
		return out, nil
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func notFound(id string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: "Query does not exist.",
		Fields: map[string]any{"ResourceId": awsproto.Truncate(id, 64)}}
}

// ownByID decodes a request of only {"Id"}, checks the caller's
// permission and finds the caller's statement (DescribeStatement,
// CancelStatement).
func (h *Handler) ownByID(c *json11.Call) (*Statement, *awsproto.Error) {
	var in struct {
		ID *string `json:"Id"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if e := c.Authorize("*"); e != nil {
		return nil, e
	}
	st, _, e := h.own(c, in.ID)
	return st, e
}

// own finds a statement of the caller.
func (h *Handler) own(c *json11.Call, id *string) (*Statement, *Sub, *awsproto.Error) {
	if id == nil {
		return nil, nil, json11.Required("id")
	}
	st, sub, ok := h.State.Get(*id)
	if !ok || st.Owner != ownerOf(c.Caller) {
		return nil, nil, notFound(*id)
	}
	return st, sub, nil
}

func (h *Handler) describe(c *json11.Call) (any, *awsproto.Error) {
	st, e := h.ownByID(c)
	if e != nil {
		return nil, e
	}
	sn := st.Snapshot()
	for _, sub := range sn.Subs {
		if sub.decision != nil {
			// The statement was refused inside the database: the call
			// that reports it carries what decided.
			callctx.Deny(c.Ctx, *sub.decision)
			break
		}
	}
	out := map[string]any{"Id": st.ID, "Status": sn.Status, "CreatedAt": epoch(st.CreatedAt), "UpdatedAt": epoch(sn.UpdatedAt),
		"Database": st.Database, "WorkgroupName": st.Workgroup, "HasResultSet": sn.HasResult, "ResultRows": sn.ResultRows,
		"ResultFormat": st.Format, "Duration": durationNanos(st, sn), "RedshiftPid": 1073815000 + int64(len(st.ID)), "ResultSize": -1}
	if sn.Status == "FINISHED" {
		out["ResultSize"] = 0
	}
	if sn.Error != "" {
		out["Error"] = sn.Error
	}
	if sn.QueryID > 0 {
		out["RedshiftQueryId"] = sn.QueryID
	}
	if len(st.ParamList) > 0 {
		out["QueryParameters"] = st.ParamList
	}
	if !st.Batch {
		out["QueryString"] = st.Subs[0].SQL
	} else {
		subs := []map[string]any{}
		for _, sub := range sn.Subs {
			m := map[string]any{"Id": sub.ID, "Status": sub.status, "QueryString": sub.SQL, "CreatedAt": epoch(sub.created),
				"UpdatedAt": epoch(sub.updated), "HasResultSet": sub.hasResult, "Duration": sub.updated.Sub(sub.created).Nanoseconds()}
			if sub.errMsg != "" {
				m["Error"] = sub.errMsg
			}
			if sub.queryID > 0 {
				m["RedshiftQueryId"] = sub.queryID
			}
			if sub.result != nil {
				m["ResultRows"] = len(sub.result.Rows)
			} else {
				m["ResultRows"] = sub.changed
			}
			subs = append(subs, m)
		}
		out["SubStatements"] = subs
	}
	return out, nil
}

func durationNanos(st *Statement, sn Snapshot) int64 {
	switch sn.Status {
	case "FINISHED", "FAILED", "ABORTED":
		return sn.UpdatedAt.Sub(st.CreatedAt).Nanoseconds()
	}
	return -1
}

// pageBytes bounds one page of GetStatementResult in the sandbox.
const pageBytes = 1 << 20

func (h *Handler) result(v2 bool) json11.Operation {
	return func(c *json11.Call) (any, *awsproto.Error) {
		var in struct {
			ID        *string `json:"Id"`
			NextToken *string `json:"NextToken"`
		}
		if e := c.Decode(&in); e != nil {
			return nil, e
		}
		if e := c.Authorize("*"); e != nil {
			return nil, e
		}
		st, sub, e := h.own(c, in.ID)
		if e != nil {
			return nil, e
		}
		if sub == nil {
			return nil, json11.Validation("Query does not have result. For a batch statement, ask for the result of a sub-statement (%s:N).", st.ID)
		}
		st.mu.Lock()
		status, res, decision, limits := sub.status, sub.result, sub.decision, sub.limits
		st.mu.Unlock()
		if decision != nil {
			callctx.Deny(c.Ctx, *decision)
		}
		for _, l := range limits {
			callctx.Limit(c.Ctx, l)
		}
		if status != "FINISHED" || res == nil {
			return nil, json11.Validation("Query does not have result. Please check query status with DescribeStatement.")
		}
		if v2 != (st.Format == "CSV") {
			if v2 {
				return nil, json11.Validation("The statement was run with ResultFormat JSON; call GetStatementResult.")
			}
			return nil, json11.Validation("The statement was run with ResultFormat CSV; call GetStatementResultV2.")
		}
		meta := make([]ColumnMetadata, len(res.Columns))
		for i, col := range res.Columns {
			meta[i] = columnMetadata(col, "", "")
		}
		// Pages are cut by size, as the Data API cuts them.
		pageRows := len(res.Rows)
		size := 0
		for i, r := range res.Rows {
			for _, v := range r {
				s, _ := text(v, "", 0)
				size += len(s) + 16
			}
			if size > pageBytes {
				pageRows = max(i, 1)
				break
			}
		}
		rows, next, e := json11.Page("GetStatementResult", sub.ID, res.Rows, in.NextToken, nil, max(pageRows, 1))
		if e != nil {
			return nil, e
		}
		out := map[string]any{"ColumnMetadata": meta, "TotalNumRows": len(res.Rows)}
		if next != nil {
			out["NextToken"] = *next
		}
		if v2 {
			out["ResultFormat"] = "CSV"
			out["Records"] = []map[string]string{{"CSVRecords": csvRows(meta, rows, in.NextToken == nil || *in.NextToken == "")}}
			return out, nil
		}
		recs := make([][]Field, len(rows))
		for i, r := range rows {
			recs[i] = make([]Field, len(r))
			for j, v := range r {
				recs[i][j] = field(v, meta[j])
			}
		}
		out["Records"] = recs
		return out, nil
	}
}

func (h *Handler) list(c *json11.Call) (any, *awsproto.Error) {
	var in struct {
		NextToken     *string `json:"NextToken"`
		MaxResults    *int    `json:"MaxResults"`
		StatementName *string `json:"StatementName"`
		Status        *string `json:"Status"`
		RoleLevel     *bool   `json:"RoleLevel"`
		Database      *string `json:"Database"`
		WorkgroupName *string `json:"WorkgroupName"`
		Cluster       *string `json:"ClusterIdentifier"`
	}
	if e := c.Decode(&in); e != nil {
		return nil, e
	}
	if e := c.Authorize("*"); e != nil {
		return nil, e
	}
	if in.Status != nil {
		switch *in.Status {
		case "SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED", "ALL":
		default:
			return nil, json11.BadEnum("status", *in.Status, "SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED", "ALL")
		}
	}
	var items []map[string]any
	for _, st := range h.State.List(ownerOf(c.Caller)) {
		sn := st.Snapshot()
		if in.Status != nil && *in.Status != "ALL" && *in.Status != sn.Status {
			continue
		}
		if in.StatementName != nil && !strings.HasPrefix(st.Name, *in.StatementName) {
			continue
		}
		if in.Database != nil && *in.Database != st.Database || in.WorkgroupName != nil && *in.WorkgroupName != st.Workgroup {
			continue
		}
		m := map[string]any{"Id": st.ID, "Status": sn.Status, "CreatedAt": epoch(st.CreatedAt), "UpdatedAt": epoch(sn.UpdatedAt),
			"IsBatchStatement": st.Batch, "ResultFormat": st.Format}
		if st.Name != "" {
			m["StatementName"] = st.Name
		}
		if st.Batch {
			qs := []string{}
			for _, sub := range st.Subs {
				qs = append(qs, sub.SQL)
			}
			m["QueryStrings"] = qs
		} else {
			m["QueryString"] = st.Subs[0].SQL
		}
		if len(st.ParamList) > 0 {
			m["QueryParameters"] = st.ParamList
		}
		items = append(items, m)
	}
	page, next, e := json11.Page("ListStatements", ownerOf(c.Caller), items, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"Statements": page}
	if next != nil {
		out["NextToken"] = *next
	}
	return out, nil
}

func (h *Handler) cancel(c *json11.Call) (any, *awsproto.Error) {
	st, e := h.ownByID(c)
	if e != nil {
		return nil, e
	}
	if !st.Cancel(h.State.env.Now()) {
		return nil, json11.Validation("Could not cancel a query that is already in %s state with ID: %s", st.Snapshot().Status, st.ID)
	}
	return map[string]any{"Status": true}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
