package quicksight

import "github.com/tipctl/tipctl/sandbox/world"

// writeOps are the operations that change the directory; they take the
// sandbox's write lock themselves (env.Change).
var writeOps = map[string]bool{}

// Reload prepares the users, groups, datasets and dashboards of a changed
// world; the commit installs them and keeps the snapshot jobs. It runs
// under the sandbox's write lock.
func (s *State) Reload(w *world.World) (func(), error) {
	n, err := NewState(w)
	if err != nil {
		return nil, err
	}
	return func() {
		s.Namespaces, s.Datasets, s.Dashboards = n.Namespaces, n.Datasets, n.Dashboards
		s.dashboards, s.users = n.dashboards, n.users
	}, nil
}
