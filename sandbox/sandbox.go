// Package sandbox is tipctl's local emulator of the IdP, IAM Identity
// Center, STS, S3, S3 Access Grants and QuickSight. Every service is served
// on one HTTP listener; requests are routed by SigV4 credential scope, by
// X-Amz-Target, by path, or by the awsQuery Action. Tests start it in-process
// with Start; `tipctl sandbox` runs it as a process.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/cloudtrail"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Service names used for routing, stats and fault injection.
const (
	SvcIdP           = "idp"
	SvcSTS           = "sts"
	SvcSSOOIDC       = "sso-oauth"
	SvcS3            = "s3"
	SvcS3Control     = "s3control"
	SvcQuickSight    = "quicksight"
	SvcSSOAdmin      = "sso"
	SvcIdentityStore = "identitystore"
	SvcIAM           = "iam"
	SvcRedshiftData  = "redshift-data"
	SvcQBusiness     = "qbusiness"
)

// Sandbox is a running (or ready to run) emulator.
type Sandbox struct {
	Env      *env.Env
	Endpoint string
	// Trail records every call as a CloudTrail event (sandbox/cloudtrail).
	Trail  *cloudtrail.Recorder
	trails []*cloudtrail.Trail
	// console is the read-only page at /_sandbox/console (sandbox/console).
	console     http.Handler
	consoleOnce sync.Once

	handlers  map[string]http.Handler
	infos     []func(map[string]any)
	idpPrefix string
	server    *http.Server
	listener  net.Listener
	stopSweep chan struct{}
	stateDir  string
	// bodyTimeout bounds the arrival of a request body (see limitBody).
	bodyTimeout time.Duration
}

// Options configure Start.
type Options struct {
	// Listen is the address to bind (default 127.0.0.1:0, a random port).
	Listen string
	// WorldFile is a world YAML file; the default world when empty.
	WorldFile string
	// WorldYAML is a world given inline; it wins over WorldFile.
	WorldYAML []byte
	// Bare starts from the bare world (world.Bare) when no world is given.
	Bare bool
	// StateDir keeps the live world across restarts: it is loaded from
	// there when present, and every change is written there atomically.
	StateDir string
	// Events bounds the CloudTrail events kept in memory (default 5000, about 2.5 KB each).
	Events int
	// TrailBucket, when set, receives the events as CloudTrail log files.
	TrailBucket string
	// TrustIssuer and Audience make the world trust an external OpenID
	// issuer for tokens with that audience (see TrustIssuer). With Bare
	// (and no world of its own) there is no trust configuration to extend:
	// the directory is provisioned from the issuer instead (see
	// ProvisionFrom) and the trust is left to the setup being rehearsed.
	TrustIssuer, Audience string
	// IssuerDiscovery, with TrustIssuer, is where its discovery document
	// is read when the issuer's name is not reachable from here (see
	// jwtverify.Verifier.RegisterDiscovery).
	IssuerDiscovery string
	// AllowRemote permits a Listen address that is not loopback. The
	// sandbox hands out administrator keys and passwords; Start refuses to
	// serve them to the network (ErrRemoteListen) unless this is set.
	AllowRemote bool
	// HeaderTimeout, BodyTimeout and IdleTimeout bound slow clients
	// (defaults DefaultHeaderTimeout, DefaultBodyTimeout, DefaultIdleTimeout).
	HeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// MaxObjectSize bounds one S3 object and upload body (default s3.MaxObjectSize).
	MaxObjectSize int64
}

// Start binds the listener, loads the world with the real endpoint, and
// serves in the background until Close.
func Start(opts Options) (*Sandbox, error) {
	addr := opts.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if !opts.AllowRemote && !IsLoopbackListen(addr) {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, ErrRemoteListen)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	endpoint := endpointFor(addr, ln.Addr())
	if opts.TrustIssuer != "" && !bareTrust(opts) {
		if opts, err = trustOptions(opts); err != nil {
			ln.Close()
			return nil, err
		}
	}
	w, err := chooseWorld(opts, endpoint)
	if err == nil && bareTrust(opts) {
		err = ProvisionFrom(w, opts.TrustIssuer, opts.Audience)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	s, err := New(w)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if opts.TrustIssuer != "" && opts.IssuerDiscovery != "" {
		s.Env.JWT.RegisterDiscovery(opts.TrustIssuer, opts.IssuerDiscovery)
	}
	if opts.MaxObjectSize > 0 {
		if st, ok := s.Env.Objects.(interface{ SetMaxObjectSize(int64) }); ok {
			st.SetMaxObjectSize(opts.MaxObjectSize)
		}
	}
	if opts.StateDir != "" {
		if err := s.keepState(opts.StateDir); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if opts.Events > 0 {
		s.wireCloudTrail(opts.Events)
	}
	if opts.TrailBucket != "" {
		if _, err := s.StartTrail(opts.TrailBucket, cloudtrail.TrailOptions{}); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s.listener = ln
	s.bodyTimeout = or(opts.BodyTimeout, DefaultBodyTimeout)
	// No ReadTimeout: it would also cancel the context of a handler that
	// runs longer (the server's background read hits the deadline); bodies
	// get their own deadline in ServeHTTP instead.
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: or(opts.HeaderTimeout, DefaultHeaderTimeout),
		IdleTimeout: or(opts.IdleTimeout, DefaultIdleTimeout), MaxHeaderBytes: MaxHeaderBytes}
	go func() { _ = s.server.Serve(ln) }()
	s.stopSweep = make(chan struct{})
	go s.sweep(s.stopSweep)
	return s, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// New builds a sandbox for an already loaded world (w.Endpoint must be set).
func New(w *world.World) (*Sandbox, error) {
	e, err := env.New(w)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Env: e, Endpoint: w.Endpoint, handlers: map[string]http.Handler{}}
	if u, err := url.Parse(w.IdP.Issuer); err == nil && strings.TrimPrefix(w.Endpoint, "http://") == u.Host {
		s.idpPrefix = strings.TrimSuffix(u.Path, "/")
	}
	if err := s.wire(); err != nil {
		return nil, err
	}
	s.wireCloudTrail(0)
	return s, nil
}

// Register installs the handler of a service.
func (s *Sandbox) Register(service string, h http.Handler) { s.handlers[service] = h }

// AddInfo adds keys to /_sandbox/info.
func (s *Sandbox) AddInfo(f func(map[string]any)) { s.infos = append(s.infos, f) }

// URL is the sandbox endpoint.
func (s *Sandbox) URL() string { return s.Endpoint }

// Close stops the server, waiting up to 5 s for requests in flight.
func (s *Sandbox) Close() error {
	if s.stopSweep != nil {
		close(s.stopSweep)
		s.stopSweep = nil
	}
	for _, t := range s.trails {
		t.Close()
	}
	s.trails = nil
	s.stopConsole()
	if s.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.server.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.server.Close()
	}
	return err
}

func (s *Sandbox) sweep(stop <-chan struct{}) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Env.Registry.Sweep(s.Env.Now().Add(-time.Hour))
		case <-stop:
			return
		}
	}
}

// ServeHTTP routes a request to its service.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			awsproto.WriteError(w, awsproto.RestJSON, &awsproto.Error{Status: 500, Code: "InternalFailure",
				Message: fmt.Sprintf("the sandbox failed on this request: %v", v), Receiver: true}, awsproto.NewRequestID())
		}
	}()
	// The sandbox clock may be advanced for tests; SDKs correct their
	// signing clock from the Date header, as they do against AWS.
	w.Header().Set("Date", s.Env.Now().Format(http.TimeFormat))
	limitBody(w, r, s.bodyTimeout)
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		if guardControl(w, r) {
			s.control(w, r)
		}
		return
	}
	svc, proto := s.route(r)
	h := s.handlers[svc]
	if h == nil {
		awsproto.WriteError(w, proto, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"the sandbox has no service for %s %s", r.Method, r.URL.Path), awsproto.NewRequestID())
		return
	}
	if d := s.Env.Faults.Delay(svc); d > 0 {
		release := s.Env.Faults.Hold(svc)
		select {
		case <-time.After(d):
			release()
		case <-r.Context().Done():
			release()
			return
		}
	}
	restartBodyDeadline(r) // an injected delay does not count against the client
	s.serve(svc, h, w, r)
}

// route picks the service and the protocol used for routing errors.
func (s *Sandbox) route(r *http.Request) (string, awsproto.Protocol) {
	path := r.URL.Path
	if s.idpPrefix != "" && (path == s.idpPrefix || strings.HasPrefix(path, s.idpPrefix+"/")) {
		return SvcIdP, awsproto.RestJSON
	}
	if scope, ok := awsproto.ScopeOf(r); ok {
		switch scope.Service {
		case "sts":
			return SvcSTS, awsproto.Query
		case "sso-oauth":
			return SvcSSOOIDC, awsproto.RestJSON
		case "s3":
			if strings.HasPrefix(path, "/v20180820/") {
				return SvcS3Control, awsproto.RestXMLWrapped
			}
			return SvcS3, awsproto.RestXML
		case "quicksight":
			return SvcQuickSight, awsproto.RestJSON
		case "sso":
			return SvcSSOAdmin, awsproto.JSON11
		case "identitystore":
			return SvcIdentityStore, awsproto.JSON11
		case "iam":
			return SvcIAM, awsproto.Query
		case "redshift-data":
			return SvcRedshiftData, awsproto.JSON11
		case "qbusiness":
			return SvcQBusiness, awsproto.RestJSON
		case "cloudtrail":
			return SvcCloudTrail, awsproto.JSON11
		case "athena":
			return SvcAthena, awsproto.JSON11
		case "glue":
			return SvcGlue, awsproto.JSON11
		case "lakeformation":
			return SvcLakeFormation, awsproto.RestJSON
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		switch {
		case strings.HasPrefix(t, "SWBExternalService."):
			return SvcSSOAdmin, awsproto.JSON11
		case strings.HasPrefix(t, "AWSIdentityStore."):
			return SvcIdentityStore, awsproto.JSON11
		case strings.HasPrefix(t, "RedshiftData."):
			return SvcRedshiftData, awsproto.JSON11
		case strings.HasPrefix(t, "AmazonAthena."):
			return SvcAthena, awsproto.JSON11
		case strings.HasPrefix(t, "AWSGlue."):
			return SvcGlue, awsproto.JSON11
		case strings.HasPrefix(t, cloudtrail.TargetPrefix), strings.HasPrefix(t, cloudtrail.ShortTargetPrefix):
			return SvcCloudTrail, awsproto.JSON11
		}
	}
	switch {
	case path == "/token" || path == "/client/register" || path == "/device_authorization" || path == identitycenter.PathAuthorize:
		return SvcSSOOIDC, awsproto.RestJSON
	case strings.HasPrefix(path, "/accounts/"):
		return SvcQuickSight, awsproto.RestJSON
	case strings.HasPrefix(path, "/v20180820/"):
		return SvcS3Control, awsproto.RestXMLWrapped
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && (path == "/" || path == "") {
		body, err := io.ReadAll(io.LimitReader(r.Body, awsproto.MaxAPIBody+1))
		r.Body = replay(body, err)
		form, _ := url.ParseQuery(string(body))
		if strings.Contains(r.Header.Get("Authorization"), "/iam/") || iamActions[form.Get("Action")] {
			return SvcIAM, awsproto.Query
		}
		return SvcSTS, awsproto.Query
	}
	if r.URL.Query().Get("Action") != "" {
		return SvcSTS, awsproto.Query
	}
	return SvcS3, awsproto.RestXML
}

var iamActions = map[string]bool{"GetRole": true, "GetOpenIDConnectProvider": true, "ListOpenIDConnectProviders": true, "ListRoles": true}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Sandbox) control(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_sandbox/health":
		writeJSON(w, 200, map[string]any{"status": "ok", "endpoint": s.Endpoint, "time": s.Env.Now().Format(time.RFC3339)})
	case "/_sandbox/stats":
		if r.Method == http.MethodDelete {
			s.Env.Stats.Reset()
		}
		writeJSON(w, 200, map[string]any{"operations": s.Env.Stats.Snapshot()})
	case "/_sandbox/info":
		writeJSON(w, 200, s.Info())
	case "/_sandbox/world":
		s.serveWorld(w, r)
	case "/_sandbox/clock":
		if r.Method == http.MethodPost {
			var req struct {
				Advance string `json:"advance"`
			}
			b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
			var d time.Duration
			err := json.Unmarshal(b, &req)
			if err == nil {
				d, err = time.ParseDuration(req.Advance)
			}
			if err != nil || d < 0 {
				writeJSON(w, 400, map[string]any{"error": `body must be {"advance": "DURATION"}, e.g. "2h"`})
				return
			}
			s.Env.Advance(d)
		}
		writeJSON(w, 200, map[string]any{"now": s.Env.Now().Format(time.RFC3339)})
	case "/_sandbox/faults":
		if r.Method == http.MethodPost {
			var req struct {
				Service string `json:"service"`
				Delay   string `json:"delay"`
			}
			b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
			if json.Unmarshal(b, &req) != nil || req.Service == "" {
				writeJSON(w, 400, map[string]any{"error": `body must be {"service": "idp", "delay": "2s"}`})
				return
			}
			d, err := time.ParseDuration(req.Delay)
			if req.Delay == "" {
				d, err = 0, nil
			}
			if err != nil {
				writeJSON(w, 400, map[string]any{"error": "delay must be a duration such as 2s"})
				return
			}
			s.Env.Faults.SetDelay(req.Service, d)
		}
		writeJSON(w, 200, map[string]any{"delays": s.Env.Faults.Snapshot(), "held": s.Env.Faults.Held()})
	default:
		if s.serveConsole(w, r) {
			return
		}
		writeJSON(w, 404, map[string]any{"error": "unknown control endpoint; try /_sandbox/health, /_sandbox/info, /_sandbox/stats"})
	}
}

// Info is the /_sandbox/info document: everything a client needs to use the sandbox.
func (s *Sandbox) Info() map[string]any {
	s.Env.RLock()
	defer s.Env.RUnlock()
	w := s.Env.World
	info := map[string]any{
		"endpoint":   s.Endpoint,
		"account_id": w.AccountID,
		"region":     w.Region,
	}
	for _, u := range s.Env.IAM.UserList {
		if u.Name == "admin" && len(u.AccessKeys) > 0 {
			info["admin"] = map[string]any{"access_key_id": u.AccessKeys[0].ID, "secret_access_key": u.AccessKeys[0].Secret}
		}
	}
	for _, f := range s.infos {
		f(info)
	}
	return info
}
