// Package redshiftdata is the sandbox's Redshift Data API over Redshift
// Serverless workgroups. Statements run in the shared SQL engine
// (sandbox/sqlengine) as the database user the caller maps to: the world's
// administrator is a superuser; an identity-enhanced session is
// <namespace>:<user>, holding the role <namespace>:<group> for each of its
// Identity Center groups; any other IAM caller is IAMR:<role>. Privileges
// and row-level security are enforced as Redshift enforces them.
package redshiftdata

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Workgroup is a Redshift Serverless workgroup and its databases.
type Workgroup struct {
	Name, Namespace, Arn string
	spec                 world.RedshiftWorkgroup
	env                  *env.Env

	once    sync.Once
	initErr error
	dbs     map[string]*Database
}

// Databases returns the workgroup's databases, running the world's SQL
// the first time (the engine starts lazily, keeping sandbox start fast).
func (wg *Workgroup) Databases() (map[string]*Database, error) {
	wg.once.Do(func() { wg.initErr = wg.init() })
	return wg.dbs, wg.initErr
}

func (wg *Workgroup) init() error {
	ctx := context.Background()
	wg.dbs = map[string]*Database{}
	specs := wg.spec.Databases
	if len(specs) == 0 {
		specs = []world.RedshiftDatabase{{Name: "dev"}}
	}
	for _, spec := range specs {
		db, err := newDatabase(ctx, spec.Name, wg.env.Objects)
		if err != nil {
			return err
		}
		wg.dbs[spec.Name] = db
		if spec.SQL == "" {
			continue
		}
		toks, err := sqlengine.Lex(spec.SQL)
		if err != nil {
			return fmt.Errorf("redshift workgroup %s database %s: the world's SQL: %v", wg.Name, spec.Name, err)
		}
		for _, st := range sqlengine.Split(toks) {
			if _, _, err := db.Run(ctx, Superuser, sqlengine.Text(st), st, nil); err != nil {
				return fmt.Errorf("redshift workgroup %s database %s: the world's SQL %q: %v", wg.Name, spec.Name, sqlengine.Text(st), err)
			}
		}
	}
	return nil
}

// Superuser is the administrator's database user.
var Superuser = User{Name: "admin", Super: true}

// Service is the Redshift Data API state: workgroups and statements.
type Service struct {
	env        *env.Env
	namespace  string
	workgroups map[string]*Workgroup
	ordered    []*Workgroup

	mu    sync.Mutex
	stmts map[string]*Statement
	order []*Statement
	slots chan struct{}
}

// maxStatements bounds the statements (and results) the sandbox keeps.
const maxStatements = 2000

// NewService builds the state for the world's workgroups and writes the
// objects their SQL loads into the sandbox's S3 (the engine itself starts
// at first use).
func NewService(e *env.Env) (*Service, error) {
	w := e.World
	s := &Service{env: e, namespace: w.Redshift.IdentityCenterNamespace, workgroups: map[string]*Workgroup{},
		stmts: map[string]*Statement{}, slots: make(chan struct{}, 4)}
	for _, spec := range w.Redshift.Workgroups {
		wg := &Workgroup{Name: spec.Name, Namespace: spec.Namespace, spec: spec, env: e,
			Arn: fmt.Sprintf("arn:aws:redshift-serverless:%s:%s:workgroup/%s", w.Region, w.AccountID, world.StableUUID("redshift-workgroup", spec.Name))}
		s.ordered = append(s.ordered, wg)
		s.workgroups[spec.Name] = wg
		for _, a := range spec.Aliases {
			s.workgroups[a] = wg
		}
		for _, db := range spec.Databases {
			if _, err := sqlengine.Lex(db.SQL); err != nil {
				return nil, fmt.Errorf("redshift workgroup %s database %s: the world's SQL: %v", wg.Name, db.Name, err)
			}
			for _, o := range db.Objects {
				bucket, key, _ := strings.Cut(strings.TrimPrefix(o.S3, "s3://"), "/")
				if e.Objects == nil || !e.Objects.BucketExists(bucket) {
					return nil, fmt.Errorf("redshift workgroup %s: the object %s needs the S3 bucket %s in the world", wg.Name, o.S3, bucket)
				}
				if err := e.Objects.PutObject(bucket, key, salesDataCSV(o.Generator.Seed, o.Generator.Rows), "text/csv"); err != nil {
					return nil, err
				}
			}
		}
	}
	return s, nil
}

// Workgroups lists the workgroups in world order.
func (s *Service) Workgroups() []*Workgroup { return s.ordered }

// Workgroup finds a workgroup by name or alias.
func (s *Service) Workgroup(name string) (*Workgroup, bool) {
	wg, ok := s.workgroups[name]
	return wg, ok
}

// UserOf maps a caller to the database user that runs its statements.
func (s *Service) UserOf(p *auth.Principal) User {
	if p.Admin {
		return Superuser
	}
	if c := p.Context; c != nil && c.Provider == auth.IdentityCenterProvider && s.namespace != "" {
		u := User{Name: s.namespace + ":" + c.UserName}
		for _, g := range c.GroupNames() {
			u.Groups = append(u.Groups, s.namespace+":"+g)
		}
		sort.Strings(u.Groups)
		return u
	}
	if p.IsSession() {
		return User{Name: "IAMR:" + p.RoleName}
	}
	name := p.Arn[strings.LastIndex(p.Arn, "/")+1:]
	return User{Name: "IAM:" + name}
}

// ownerOf keys the statements a caller may see: a person's own, across
// their sessions; otherwise the role's or the user's.
func ownerOf(p *auth.Principal) string {
	if p.Context != nil && p.Context.UserID != "" {
		return "idc:" + p.Context.IdentityStoreID + ":" + p.Context.UserID
	}
	if p.IsSession() {
		return p.RoleArn
	}
	return p.Arn
}

// Statement is one ExecuteStatement or BatchExecuteStatement.
type Statement struct {
	ID, Owner, Database, Workgroup, Name, Format string
	Params                                       map[string]string
	ParamList                                    []Param
	Batch                                        bool
	CreatedAt                                    time.Time
	Subs                                         []*Sub

	mu        sync.Mutex
	status    string
	updatedAt time.Time
	errMsg    string
	cancel    context.CancelFunc
	user      User
	db        *Database
}

// Param is a named SQL parameter.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Sub is one SQL statement of a Statement.
type Sub struct {
	ID, SQL   string
	toks      []sqlengine.Token
	status    string
	errMsg    string
	created   time.Time
	updated   time.Time
	result    *sqlengine.Result
	changed   int64
	queryID   int64
	hasResult bool
	// decision is what refused the statement; limits are the row-level
	// security that shaped its result.
	decision *callctx.Decision
	limits   []callctx.Decision
}

// Snapshot is a consistent copy of a statement's state.
type Snapshot struct {
	Status, Error       string
	UpdatedAt           time.Time
	Subs                []Sub
	ResultRows, QueryID int64
	HasResult           bool
}

// Snapshot copies the statement's state under its lock.
func (st *Statement) Snapshot() Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	sn := Snapshot{Status: st.status, Error: st.errMsg, UpdatedAt: st.updatedAt}
	for _, sub := range st.Subs {
		sn.Subs = append(sn.Subs, *sub)
	}
	if len(st.Subs) > 0 {
		last := st.Subs[len(st.Subs)-1]
		sn.QueryID, sn.HasResult = last.queryID, last.hasResult
		sn.ResultRows = -1
		if last.status == "FINISHED" {
			if last.result != nil {
				sn.ResultRows = int64(len(last.result.Rows))
			} else {
				sn.ResultRows = last.changed
			}
		}
	}
	return sn
}

// Submit registers a statement and runs it in the background: SUBMITTED
// until a slot is free, then PICKED, STARTED, and FINISHED, FAILED or
// ABORTED.
func (s *Service) Submit(st *Statement, db *Database, u User) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	st.cancel, st.user, st.db = cancel, u, db
	st.status, st.updatedAt = "SUBMITTED", st.CreatedAt
	s.mu.Lock()
	s.stmts[st.ID] = st
	s.order = append(s.order, st)
	if len(s.order) > maxStatements {
		old := s.order[0]
		s.order = s.order[1:]
		delete(s.stmts, old.ID)
	}
	s.mu.Unlock()
	go s.run(ctx, st)
}

func (st *Statement) set(status string, now time.Time) {
	st.mu.Lock()
	if st.status != "ABORTED" {
		st.status = status
	}
	st.updatedAt = now
	st.mu.Unlock()
}

func (s *Service) run(ctx context.Context, st *Statement) {
	defer st.cancel()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		st.set("ABORTED", s.env.Now())
		return
	}
	defer func() { <-s.slots }()
	st.set("PICKED", s.env.Now())
	st.set("STARTED", s.env.Now())
	for _, sub := range st.Subs {
		st.mu.Lock()
		aborted := st.status == "ABORTED"
		if !aborted {
			sub.status = "STARTED"
		}
		st.mu.Unlock()
		if aborted {
			break
		}
		var out *Outcome
		var qid int64
		var err error
		if sub.errMsg != "" {
			err = errf("%s", sub.errMsg)
		} else {
			out, qid, err = s.runSafely(ctx, st, sub)
		}
		now := s.env.Now()
		st.mu.Lock()
		sub.updated, sub.queryID = now, qid
		switch {
		case ctx.Err() != nil:
			sub.status, st.status, st.updatedAt = "ABORTED", "ABORTED", now
		case err != nil:
			sub.status, sub.errMsg, sub.decision = "FAILED", err.Error(), decisionOf(err)
			st.status, st.errMsg, st.updatedAt = "FAILED", err.Error(), now
		default:
			sub.status, sub.result, sub.changed, sub.hasResult, sub.limits = "FINISHED", out.Result, out.Changed, out.Result != nil, out.Limits
		}
		done := sub.status != "FINISHED"
		st.mu.Unlock()
		if done {
			break
		}
	}
	st.mu.Lock()
	for _, sub := range st.Subs {
		if sub.status == "SUBMITTED" {
			sub.status = "ABORTED"
		}
	}
	if st.status == "STARTED" {
		st.status, st.updatedAt = "FINISHED", s.env.Now()
	}
	st.mu.Unlock()
}

// runSafely runs one sub-statement; a fault in the sandbox fails the
// statement instead of the process.
func (s *Service) runSafely(ctx context.Context, st *Statement, sub *Sub) (out *Outcome, qid int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, errf("ERROR: the sandbox failed on this statement: %v", v)
		}
	}()
	return st.db.Run(ctx, st.user, sub.SQL, sub.toks, st.Params)
}

// Cancel aborts a statement that has not ended.
func (st *Statement) Cancel(now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch st.status {
	case "FINISHED", "FAILED", "ABORTED":
		return false
	}
	st.status, st.updatedAt = "ABORTED", now
	st.cancel()
	return true
}

// Get finds a statement (or, for "id:N", the statement of a sub-statement).
func (s *Service) Get(id string) (*Statement, *Sub, bool) {
	base, n, isSub := strings.Cut(id, ":")
	s.mu.Lock()
	st, ok := s.stmts[base]
	s.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	if !isSub {
		if st.Batch {
			return st, nil, true
		}
		return st, st.Subs[0], true
	}
	for _, sub := range st.Subs {
		if sub.ID == base+":"+n {
			return st, sub, true
		}
	}
	return nil, nil, false
}

// List returns the owner's statements, newest first.
func (s *Service) List(owner string) []*Statement {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Statement
	for i := len(s.order) - 1; i >= 0; i-- {
		if s.order[i].Owner == owner {
			out = append(out, s.order[i])
		}
	}
	return out
}

// Info adds the workgroups to /_sandbox/info.
func (s *Service) Info(info map[string]any) {
	var wgs []map[string]any
	for _, wg := range s.ordered {
		names := []string{}
		for _, d := range wg.spec.Databases {
			names = append(names, d.Name)
		}
		wgs = append(wgs, map[string]any{"name": wg.Name, "aliases": wg.spec.Aliases, "namespace": wg.Namespace,
			"arn": wg.Arn, "databases": names})
	}
	info["redshift"] = map[string]any{"identity_center_namespace": s.namespace, "workgroups": wgs}
}
