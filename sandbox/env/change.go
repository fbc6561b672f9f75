package env

import (
	"errors"
	"net/http"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// The live world is the single source of truth of the sandbox's control
// plane. A write API changes a copy of it (Change); the copy is checked,
// persisted when the sandbox keeps state, and every service rebuilds its
// derived state from it before any other request sees it. Requests that
// read that state hold the read lock (Read / RLock).

// Reloader prepares a service's state for a changed world; it returns the
// commit that installs it. Reloaders must not fail after commit starts.
type Reloader func(w *world.World) (commit func(), err error)

// OnChange registers a service's reloader.
func (e *Env) OnChange(r Reloader) { e.reloaders = append(e.reloaders, r) }

// Persist sets the function that stores every changed world (--state DIR);
// a change it cannot store is refused.
func (e *Env) Persist(f func(w *world.World) error) { e.persist = f }

// RLock takes the read lock of the live state.
func (e *Env) RLock() { e.mu.RLock() }

// RUnlock releases it.
func (e *Env) RUnlock() { e.mu.RUnlock() }

// Read runs f under the read lock.
func (e *Env) Read(f func()) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f()
}

// Change applies f to a copy of the live world under the write lock. When
// f succeeds and the changed world is valid, it is stored (when the sandbox
// persists state), installed, and every service reloads from it; otherwise
// nothing changes. f may read the live services' state (the write lock is
// held).
func (e *Env) Change(f func(w *world.World) *awsproto.Error) *awsproto.Error {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, err := e.World.Clone()
	if err != nil {
		return internal(err)
	}
	if ae := f(w); ae != nil {
		return ae
	}
	if err := w.Check(); err != nil {
		var we *world.Error
		if errors.As(err, &we) && len(we.Problems) > 0 {
			p := we.Problems[0]
			return awsproto.Errorf(http.StatusBadRequest, "ValidationException", "the change leaves the account inconsistent: %s: %s", p.Path, p.Msg)
		}
		return internal(err)
	}
	commits := make([]func(), 0, len(e.reloaders))
	for _, r := range e.reloaders {
		c, err := r(w)
		if err != nil {
			return awsproto.Errorf(http.StatusBadRequest, "ValidationException", "the change leaves the account inconsistent: %v", err)
		}
		commits = append(commits, c)
	}
	if e.persist != nil {
		if err := e.persist(w); err != nil {
			return internal(err)
		}
	}
	// Only the sections the write APIs change are replaced, so that the
	// IdP, the account and the endpoint can be read without the lock.
	e.World.IdentityCenter, e.World.IAM, e.World.S3.AccessGrants = w.IdentityCenter, w.IAM, w.S3.AccessGrants
	e.World.QuickSight.Users, e.World.QuickSight.Groups = w.QuickSight.Users, w.QuickSight.Groups
	e.World.QuickSight.Datasets, e.World.QuickSight.Dashboards = w.QuickSight.Datasets, w.QuickSight.Dashboards
	e.World.LakeFormation = w.LakeFormation
	for _, c := range commits {
		c()
	}
	return nil
}

// Snapshot returns a copy of the live world, read under the lock (tests
// and tools that look at the world while the sandbox serves writes).
func (e *Env) Snapshot() *world.World {
	e.mu.RLock()
	defer e.mu.RUnlock()
	w, err := e.World.Clone()
	if err != nil {
		panic("sandbox: the live world cannot be copied: " + err.Error())
	}
	return w
}

// Export returns the live world as a world file.
func (e *Env) Export() ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.World.Export()
}

func internal(err error) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: "the sandbox could not apply the change: " + err.Error(), Receiver: true}
}
