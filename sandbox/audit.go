package sandbox

import (
	"net/http"

	"github.com/tipctl/tipctl/sandbox/cloudtrail"
)

// SvcCloudTrail is CloudTrail's routing name.
const SvcCloudTrail = "cloudtrail"

// wireCloudTrail makes the recorder every call goes through and serves
// CloudTrail LookupEvents over it.
func (s *Sandbox) wireCloudTrail(size int) {
	w := s.Env.World
	s.Trail = cloudtrail.New(cloudtrail.Options{Size: size, Account: w.AccountID, Region: w.Region, Now: s.Env.Now})
	s.Register(SvcCloudTrail, cloudtrail.NewService(s.Trail, s.Env, s.Env.Stats))
}

// serve runs a service's handler; every AWS call is recorded as a
// CloudTrail event (the IdP is not AWS and is not recorded).
func (s *Sandbox) serve(svc string, h http.Handler, w http.ResponseWriter, r *http.Request) {
	if s.Trail == nil || svc == SvcIdP {
		h.ServeHTTP(w, r)
		return
	}
	s.Trail.Serve(svc, h, w, r)
}
