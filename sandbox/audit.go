package sandbox

import (
	"fmt"
	"net/http"

	"github.com/tipctl/tipctl/sandbox/awsproto"
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

// trailStore is the part of the S3 store the trail writes with.
type trailStore interface {
	CreateBucket(name string) *awsproto.Error
	PutObject(bucket, key string, body []byte, contentType string) error
	Delete(bucket, key string) *awsproto.Error
	BucketExists(name string) bool
}

// StartTrail delivers the recorded events as CloudTrail log files into
// bucket (created when missing) until the sandbox closes.
func (s *Sandbox) StartTrail(bucket string, opts cloudtrail.TrailOptions) (*cloudtrail.Trail, error) {
	st, ok := s.Env.Objects.(trailStore)
	if !ok {
		return nil, fmt.Errorf("the sandbox's S3 store cannot hold a trail")
	}
	if !st.BucketExists(bucket) {
		if e := st.CreateBucket(bucket); e != nil {
			return nil, fmt.Errorf("cannot create the trail bucket %s: %s", bucket, e.Message)
		}
	}
	opts.Bucket = bucket
	opts.Put = func(b, k string, body []byte) error { return st.PutObject(b, k, body, "application/x-gzip") }
	opts.Delete = func(b, k string) error {
		if e := st.Delete(b, k); e != nil {
			return e
		}
		return nil
	}
	t := s.Trail.StartTrail(opts)
	s.trails = append(s.trails, t)
	return t, nil
}
