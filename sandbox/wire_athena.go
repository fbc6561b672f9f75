package sandbox

import (
	"github.com/tipctl/tipctl/sandbox/athena"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
	"github.com/tipctl/tipctl/sandbox/s3control"
)

// Routing names of Athena, Glue and Lake Formation.
const (
	SvcAthena        = "athena"
	SvcGlue          = "glue"
	SvcLakeFormation = "lakeformation"
)

// wireAthena builds the Glue Data Catalog, Lake Formation's permissions
// over it, and Athena, which writes results through grants.
func (s *Sandbox) wireAthena(grants *s3control.State) error {
	catalog := glue.NewCatalog(s.Env)
	lf, err := lakeformation.NewState(s.Env.World, catalog, s.Env.Now())
	if err != nil {
		return err
	}
	s.Register(SvcGlue, glue.New(s.Env, catalog, lf))
	s.Register(SvcLakeFormation, &lakeformation.Handler{Env: s.Env, State: lf})
	s.Env.OnChange(lf.Reload)
	ath, err := athena.New(s.Env, catalog, lf, grants)
	if err != nil {
		return err
	}
	s.Register(SvcAthena, ath)
	s.AddInfo(ath.State.Info)
	return nil
}
