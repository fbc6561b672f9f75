package quicksight

import (
	"github.com/tipctl/tipctl/sandbox/env"
)

// Service is the QuickSight service of a sandbox: its state and the
// restJson1 handler (ServeHTTP, in handlers.go).
type Service struct {
	Env   *env.Env
	State *State
}

// New builds the service for the sandbox runtime e. Snapshot files go to
// e.Objects, read when each job runs, so S3 may be wired before or after.
func New(e *env.Env) (*Service, error) {
	st, err := NewState(e.World)
	if err != nil {
		return nil, err
	}
	st.Clock = e.Now
	st.Objects = func() env.ObjectStore { return e.Objects }
	return &Service{Env: e, State: st}, nil
}

// Info adds the "quicksight" key of /_sandbox/info: the namespace, the
// dashboards with their sheets and visuals, the users, and the ARN of the
// role meant for identity-enhanced snapshot sessions.
func (s *Service) Info(info map[string]any) {
	st := s.State
	dashboards := []map[string]any{}
	for _, d := range st.Dashboards {
		sheets := []map[string]any{}
		for _, sh := range d.Sheets {
			visuals := []map[string]any{}
			for _, v := range sh.Visuals {
				visuals = append(visuals, map[string]any{"id": v.ID, "type": v.Type, "title": v.Title})
			}
			sheets = append(sheets, map[string]any{"id": sh.ID, "name": sh.Name, "visuals": visuals})
		}
		params := []string{}
		for _, p := range d.Parameters {
			params = append(params, p.Name)
		}
		dashboards = append(dashboards, map[string]any{"id": d.ID, "name": d.Name, "arn": d.Arn,
			"sheets": sheets, "parameters": params})
	}
	users := []map[string]any{}
	for _, u := range st.Namespaces[st.DefaultNamespace].Users {
		users = append(users, map[string]any{"user_name": u.UserName, "email": u.Email,
			"identity_type": u.IdentityType, "role": u.Role, "arn": u.Arn})
	}
	role := ""
	if name := s.Env.World.QuickSight.SnapshotRole; name != "" {
		if r, ok := s.Env.IAM.RoleByName(name); ok {
			role = r.Arn
		}
	}
	info["quicksight"] = map[string]any{"namespace": st.DefaultNamespace, "dashboards": dashboards,
		"users": users, "snapshot_role": role}
}
