// Package athena is the sandbox's Amazon Athena (SQL): workgroups, query
// executions over the Glue Data Catalog's CSV tables, and results written
// as CSV plus .metadata to the workgroup's output location in the
// sandbox's S3. A query runs in the shared SQL engine (sandbox/sqlengine)
// over only the cells Lake Formation gives the caller: on an IAM Identity
// Center enabled workgroup, the person and their groups. The wire
// handlers (awsJson1_1, AmazonAthena.<Op>) are in handlers.go.
package athena

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
	"github.com/tipctl/tipctl/sandbox/s3control"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Workgroup is an Athena workgroup.
type Workgroup struct {
	world.AthenaWorkgroup
	Arn     string
	Created time.Time
}

// Query execution states.
const (
	Queued    = "QUEUED"
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	Cancelled = "CANCELLED"
)

// Execution is one query execution.
type Execution struct {
	ID, Query, Workgroup, Database, Owner string
	// Output is the s3:// URI of the result CSV.
	Output    string
	Submitted time.Time
	wg        *Workgroup
	plan      *plan
	caller    *auth.Principal

	mu        sync.Mutex
	state     string
	reason    string
	category  int
	completed time.Time
	started   time.Time
	header    []Column
	rows      [][]*string
	scanned   int64
	cancel    context.CancelFunc
}

// Snapshot is a consistent copy of an execution's state.
type Snapshot struct {
	State, Reason      string
	Category           int
	Completed, Started time.Time
	Header             []Column
	Rows               [][]*string
	Scanned            int64
}

// Snapshot copies the execution's state.
func (x *Execution) Snapshot() Snapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	return Snapshot{State: x.state, Reason: x.reason, Category: x.category, Completed: x.completed, Started: x.started,
		Header: x.header, Rows: x.rows, Scanned: x.scanned}
}

// Service is Athena's state: workgroups and query executions.
type Service struct {
	env      *env.Env
	Catalog  *glue.Catalog
	LF       *lakeformation.State
	Grants   *s3control.State
	ordered  []*Workgroup
	byName   map[string]*Workgroup
	instance string

	mu    sync.Mutex
	execs map[string]*Execution
	order []*Execution
	slots chan struct{}
}

// maxExecutions bounds the executions (and results) the sandbox keeps.
const maxExecutions = 2000

// NewService builds the world's workgroups over the catalog and Lake
// Formation; grants decides where results may be written as the person.
func NewService(e *env.Env, catalog *glue.Catalog, lf *lakeformation.State, grants *s3control.State) (*Service, error) {
	w := e.World
	s := &Service{env: e, Catalog: catalog, LF: lf, Grants: grants, byName: map[string]*Workgroup{}, instance: w.IdentityCenter.InstanceArn,
		execs: map[string]*Execution{}, slots: make(chan struct{}, 4)}
	for _, spec := range w.Athena.Workgroups {
		bucket := bucketOf(spec.OutputLocation)
		if e.Objects == nil || !e.Objects.BucketExists(bucket) {
			return nil, fmt.Errorf("athena workgroup %s: the output location %s needs the S3 bucket %s in the world", spec.Name, spec.OutputLocation, bucket)
		}
		wg := &Workgroup{AthenaWorkgroup: spec, Created: time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC),
			Arn: fmt.Sprintf("arn:aws:athena:%s:%s:workgroup/%s", w.Region, w.AccountID, spec.Name)}
		s.ordered = append(s.ordered, wg)
		s.byName[spec.Name] = wg
	}
	return s, nil
}

// Workgroup finds a workgroup.
func (s *Service) Workgroup(name string) (*Workgroup, bool) {
	wg, ok := s.byName[name]
	return wg, ok
}

// Workgroups lists the workgroups in world order.
func (s *Service) Workgroups() []*Workgroup { return s.ordered }

// ownerOf keys the executions a person may see: their own across sessions.
func ownerOf(p *auth.Principal) string {
	if p.Context != nil && p.Context.UserID != "" {
		return "idc:" + p.Context.IdentityStoreID + ":" + p.Context.UserID
	}
	if p.IsSession() {
		return p.RoleArn
	}
	return p.Arn
}

// Submit registers an execution and runs it in the background: QUEUED
// until a slot is free, RUNNING, then SUCCEEDED, FAILED or CANCELLED.
func (s *Service) Submit(x *Execution) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	x.cancel, x.state = cancel, Queued
	s.mu.Lock()
	s.execs[x.ID] = x
	s.order = append(s.order, x)
	if len(s.order) > maxExecutions {
		delete(s.execs, s.order[0].ID)
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	go s.run(ctx, x)
}

// Get finds an execution.
func (s *Service) Get(id string) (*Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.execs[id]
	return x, ok
}

// List returns the executions of a workgroup keep accepts, newest first.
func (s *Service) List(workgroup string, keep func(*Execution) bool) []*Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Execution
	for i := len(s.order) - 1; i >= 0; i-- {
		if x := s.order[i]; x.Workgroup == workgroup && keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Stop cancels an execution that has not ended; stopping an ended one is
// not an error, as in Athena.
func (x *Execution) Stop(now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state == Queued || x.state == Running {
		x.state, x.completed, x.reason = Cancelled, now, "Query cancelled by user"
		x.cancel()
	}
}

func (x *Execution) finish(state, reason string, category int, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.state == Cancelled {
		return
	}
	x.state, x.reason, x.category, x.completed = state, reason, category, now
}

func (s *Service) run(ctx context.Context, x *Execution) {
	defer x.cancel()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		x.finish(Failed, "Query exhausted resources at this scale factor: it waited for the engine until its timeout", 1, s.env.Now())
		return
	}
	defer func() { <-s.slots }()
	x.mu.Lock()
	if x.state != Queued {
		x.mu.Unlock()
		return
	}
	x.state, x.started = Running, s.env.Now()
	x.mu.Unlock()
	err := s.execute(ctx, x)
	now := s.env.Now()
	if err != nil {
		cat := 2
		if _, ok := err.(*systemError); ok {
			cat = 1
		}
		x.finish(Failed, err.Error(), cat, now)
		return
	}
	x.finish(Succeeded, "", 0, now)
}

// systemError is a fault of the sandbox, not of the query (category 1).
type systemError struct{ msg string }

func (e *systemError) Error() string { return e.msg }

// Info adds the workgroups to /_sandbox/info.
func (s *Service) Info(info map[string]any) {
	var wgs []map[string]any
	for _, wg := range s.ordered {
		wgs = append(wgs, map[string]any{"name": wg.Name, "output_location": wg.OutputLocation, "identity_center": wg.IdentityCenter})
	}
	var dbs []string
	for _, d := range s.Catalog.Databases {
		dbs = append(dbs, d.Name)
	}
	info["athena"] = map[string]any{"workgroups": wgs, "databases": dbs}
}
