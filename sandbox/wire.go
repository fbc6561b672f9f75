package sandbox

import (
	"strings"

	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/identitystore"
	"github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/sandbox/qbusiness"
	"github.com/tipctl/tipctl/sandbox/quicksight"
	"github.com/tipctl/tipctl/sandbox/redshiftdata"
	"github.com/tipctl/tipctl/sandbox/s3"
	"github.com/tipctl/tipctl/sandbox/s3control"
	"github.com/tipctl/tipctl/sandbox/ssoadmin"
	"github.com/tipctl/tipctl/sandbox/sts"
)

// wire builds every service of the sandbox and registers its handler and
// its /_sandbox/info keys. Each service package keeps its state apart from
// its wire handlers; this is the only place that knows them all.
func (s *Sandbox) wire() error {
	w := s.Env.World
	idc, err := identitycenter.New(w)
	if err != nil {
		return err
	}
	s.Env.OnChange(idc.Reload)
	s.Register(SvcSTS, sts.New(s.Env))
	ssoOIDC := identitycenter.NewOIDC(s.Env, idc)
	s.Register(SvcSSOOIDC, ssoOIDC)
	s.Register(SvcSSOAdmin, ssoadmin.New(s.Env, idc))
	s.Register(SvcIdentityStore, identitystore.New(s.Env, idc))
	s.Register(SvcIAM, iam.NewService(s.Env.IAM, s.Env, s.Env.Stats))

	provider, err := idp.New(s.Env)
	if err != nil {
		return err
	}
	s.Register(SvcIdP, provider)
	// Identity Center's sign-in page (authorization_code grant) federates to the IdP.
	ssoOIDC.SetSignIn(provider.CheckPassword)
	if s.idpPrefix != "" { // the issuer is served here: verify its tokens in-process
		s.Env.JWT.RegisterLocal(w.IdP.Issuer, provider.PublicKeys)
	}

	objects, err := s3.New(s.Env)
	if err != nil {
		return err
	}
	s.Register(SvcS3, objects)
	s.Env.Objects = objects.Store
	grants, err := s3control.New(s.Env)
	if err != nil {
		return err
	}
	s.Register(SvcS3Control, grants)
	s.Env.OnChange(grants.State.Reload)
	s.AddInfo(func(info map[string]any) {
		info["s3"] = map[string]any{"buckets": objects.Store.BucketNames(), "grants": grants.State.Info()}
	})

	qs, err := quicksight.New(s.Env)
	if err != nil {
		return err
	}
	s.Register(SvcQuickSight, qs)
	s.Env.OnChange(qs.State.Reload)
	s.AddInfo(qs.Info)

	rsd, err := redshiftdata.New(s.Env)
	if err != nil {
		return err
	}
	s.Register(SvcRedshiftData, rsd)
	s.AddInfo(rsd.State.Info)

	s.Register(SvcQBusiness, qbusiness.New(s.Env))
	if err := s.wireAthena(grants.State); err != nil {
		return err
	}

	s.AddInfo(func(info map[string]any) {
		users := []map[string]any{}
		inIdC := map[string]bool{}
		for _, u := range w.IdentityCenter.Users {
			inIdC[strings.ToLower(u.Email)] = true
		}
		for _, u := range w.IdP.Users {
			groups := u.Groups
			if groups == nil {
				groups = []string{}
			}
			users = append(users, map[string]any{"email": u.Email, "password": u.Password, "groups": groups,
				"in_identity_center": inIdC[strings.ToLower(u.Email)]})
		}
		clientID := ""
		if len(w.IdP.Clients) > 0 {
			clientID = w.IdP.Clients[0].ClientID
		}
		info["idp"] = map[string]any{"issuer": w.IdP.Issuer, "client_id": clientID, "users": users}
		appArn := ""
		if len(w.IdentityCenter.Applications) > 0 {
			appArn = w.IdentityCenter.Applications[0].Arn
		}
		info["identity_center"] = map[string]any{"instance_arn": w.IdentityCenter.InstanceArn,
			"identity_store_id": w.IdentityCenter.IdentityStoreID, "application_arn": appArn}
		roles := map[string]any{}
		for name, key := range map[string]string{"tip-bridge": "bridge", "tip-enhanced": "enhanced", "tip-no-setcontext": "no_set_context"} {
			if r, ok := s.Env.IAM.RoleByName(name); ok {
				roles[key] = r.Arn
			}
		}
		info["roles"] = roles
	})
	return nil
}
