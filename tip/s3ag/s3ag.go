// Package s3ag gets S3 Access Grants credentials for a person: it calls
// s3:GetDataAccess with the identity-enhanced session of a tip/session
// profile and caches what it gets in the profile's secret store.
//
// # The cache
//
// Credentials are cached per (account, scope, permission, privilege,
// target type) under profile/<name>/s3ag/ in the store, so `tipctl auth
// logout` wipes them with the rest of the profile, and they are bound to
// the login that minted them: after a new `auth login` (maybe as someone
// else) they are never reused. The scope is what the credentials reach:
// with privilege Default the matched grant target (S3 Access Grants scopes
// Default credentials to the grant), with Minimal the requested target
// itself (one object for target type Object).
//
// A request reuses a cached entry, with no AWS call, when all of these hold:
//
//   - same login, account, privilege and target type (a Minimal request never
//     gets broader Default credentials, nor the reverse);
//   - the requested target lies under the entry's scope: after READ on
//     s3://analytics-data/emea/2024/ matched the grant s3://analytics-data/emea/*,
//     READ on s3://analytics-data/emea/ or .../emea/2025/q1.csv is served
//     from the cache;
//   - the entry's permission covers the requested one. The actions of vended
//     credentials follow the permission asked for (READ: get and list, WRITE:
//     put and delete, READWRITE: both) within the scope, so a READWRITE entry
//     can do everything READ or WRITE credentials for that scope could and
//     serves READ and WRITE requests; READ and WRITE serve only themselves.
//     (AWS might have matched a narrower grant for the weaker permission; the
//     cached credentials still reach the target, which is what the caller
//     needs, and report the grant they were minted for.)
//   - more than 15 minutes are left (session.Advisory, the window botocore
//     and tip/session use), so the AWS CLI never receives credentials it
//     would consider due for refresh.
//
// The requested duration applies when credentials are minted; a fresh
// cached entry is returned whatever its remaining lifetime.
//
// Minting takes the profile's s3ag lock in the store (cross-process, like
// GetOrRefresh) and looks again under it, so any number of processes asking
// for targets under the same grant cause one GetDataAccess. The cached path
// takes no lock and makes no network call.
package s3ag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/session"
)

// Permissions.
const (
	Read      = "READ"
	Write     = "WRITE"
	ReadWrite = "READWRITE"
)

// Privileges and the target type.
const (
	PrivilegeDefault = "Default"
	PrivilegeMinimal = "Minimal"
	TargetTypeObject = "Object"
)

// Duration bounds of GetDataAccess, in seconds.
const (
	MinDurationSeconds = 900
	MaxDurationSeconds = 43200
)

// Request asks for credentials to an S3 target.
type Request struct {
	// Target is an S3 URI: s3://bucket/prefix/, s3://bucket/prefix*, or
	// with TargetType Object s3://bucket/key.
	Target string
	// Permission is READ (default), WRITE or READWRITE (any case).
	Permission string
	// Privilege is Default (default) or Minimal (any case).
	Privilege string
	// TargetType is "" or Object.
	TargetType string
	// DurationSeconds of new credentials, 900-43200; 0 leaves it to S3
	// Access Grants (1 hour).
	DurationSeconds int32
	// AccountID owns the Access Grants instance; "" means the account of
	// the identity-enhanced session.
	AccountID string
	// ForceNew skips the cache (the new credentials replace a cached entry
	// for the same scope).
	ForceNew bool
}

// Grantee is who a grant was given to.
type Grantee struct {
	Type       string `json:"type"`       // DIRECTORY_USER, DIRECTORY_GROUP or IAM
	Identifier string `json:"identifier"` // identity-store id or IAM ARN
}

// Credentials are S3 Access Grants credentials and what they reach.
type Credentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`

	// MatchedGrantTarget is the grant S3 Access Grants matched.
	MatchedGrantTarget string  `json:"matched_grant_target"`
	Grantee            Grantee `json:"grantee"`
	Permission         string  `json:"permission"`
	Privilege          string  `json:"privilege"`
	TargetType         string  `json:"target_type,omitempty"`
	AccountID          string  `json:"account_id"`
	// Target is the target requested when they were minted.
	Target string `json:"target"`
	// Scope is what they reach: the matched grant (Default) or the
	// requested target (Minimal).
	Scope    string    `json:"scope"`
	IssuedAt time.Time `json:"issued_at"`

	// The login they belong to.
	Subject    string    `json:"sub,omitempty"`
	LoggedInAt time.Time `json:"logged_in_at"`

	// Cached is true when they came from the cache (not stored).
	Cached bool `json:"-"`
}

// AWS returns the credentials in aws-sdk-go-v2 form.
func (c *Credentials) AWS() aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		CanExpire: true, Expires: c.Expiration, Source: "tipctl-s3ag"}
}

// Process returns the credential_process document, the same shape as
// `tipctl auth get-iam-credentials` prints.
func (c *Credentials) Process() session.ProcessJSON {
	return session.ProcessJSON{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339)}
}

// ErrInvalidRequest is matched by every *RequestError.
var ErrInvalidRequest = errors.New("invalid S3 Access Grants request")

// RequestError is a request option with a bad value.
type RequestError struct {
	Field string // permission, privilege, target-type, duration-seconds, account-id
	Msg   string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Msg }

// Is matches ErrInvalidRequest.
func (e *RequestError) Is(target error) bool { return target == ErrInvalidRequest }

var accountRE = lazyre.New(`^[0-9]{12}$`)

// normalize validates r and returns it in canonical form with its target.
func (r Request) normalize() (Request, S3URI, error) {
	u, err := ParseS3URI(r.Target)
	if err != nil {
		return r, u, err
	}
	switch p := strings.ToUpper(r.Permission); p {
	case "":
		r.Permission = Read
	case Read, Write, ReadWrite:
		r.Permission = p
	default:
		return r, u, &RequestError{"permission", fmt.Sprintf("%q is not READ, WRITE or READWRITE", truncate(r.Permission, 40))}
	}
	switch strings.ToLower(r.Privilege) {
	case "", "default":
		r.Privilege = PrivilegeDefault
	case "minimal":
		r.Privilege = PrivilegeMinimal
	default:
		return r, u, &RequestError{"privilege", fmt.Sprintf("%q is not Default or Minimal", truncate(r.Privilege, 40))}
	}
	switch strings.ToLower(r.TargetType) {
	case "":
		r.TargetType = ""
	case "object":
		r.TargetType = TargetTypeObject
		if !u.IsObject() {
			return r, u, &RequestError{"target-type", fmt.Sprintf("an Object target names one object (s3://bucket/key, no trailing / or *), not %s", truncate(r.Target, 120))}
		}
	default:
		return r, u, &RequestError{"target-type", fmt.Sprintf("%q is not Object (leave it out for a bucket or prefix)", truncate(r.TargetType, 40))}
	}
	if d := r.DurationSeconds; d != 0 && (d < MinDurationSeconds || d > MaxDurationSeconds) {
		return r, u, &RequestError{"duration-seconds", fmt.Sprintf("%d is outside %d-%d", d, MinDurationSeconds, MaxDurationSeconds)}
	}
	if r.AccountID != "" && !accountRE.MatchString(r.AccountID) {
		return r, u, &RequestError{"account-id", fmt.Sprintf("%q is not a 12-digit AWS account id", truncate(r.AccountID, 40))}
	}
	return r, u, nil
}

// Covers reports whether credentials minted for permission have can do
// everything credentials for permission want can.
func Covers(have, want string) bool { return have == want || have == ReadWrite }

// GetDataAccess returns credentials for req: cached ones when a fresh cache
// entry covers the request (see the package documentation), else new ones
// from s3:GetDataAccess, called with the identity-enhanced session of mgr.
// When AWS says that session's token expired or is unknown (revoked), a new
// session is minted and the call retried once; throttling is retried with
// backoff by the SDK. Errors: *URIError and *RequestError for bad input,
// *AccessDeniedError when no grant gives the permission, *APIError for
// other refusals, and the session's errors (e.g. login required).
func GetDataAccess(ctx context.Context, mgr *session.Manager, req Request) (*Credentials, error) {
	req, target, err := req.normalize()
	if err != nil {
		return nil, err
	}
	tokens, err := mgr.Tokens()
	if err != nil {
		return nil, err
	}
	account, err := accountOf(ctx, mgr, req.AccountID)
	if err != nil {
		return nil, err
	}
	c := &cache{mgr: mgr, now: nowOf(mgr)}
	if !req.ForceNew {
		if hit, err := c.lookup(tokens, account, req, target); hit != nil || err != nil {
			return hit, err
		}
	}
	unlock, err := mgr.Vault.Lock(ctx, lockName(mgr.Profile.Name), 0)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !req.ForceNew {
		// Another process may have minted a covering entry meanwhile.
		if hit, err := c.lookup(tokens, account, req, target); hit != nil || err != nil {
			return hit, err
		}
	}
	out, err := mint(ctx, mgr, tokens, account, req, target)
	if err != nil {
		return nil, err
	}
	if err := c.save(out); err != nil {
		return nil, err
	}
	return out, nil
}

func nowOf(mgr *session.Manager) func() time.Time {
	if mgr.Now != nil {
		return mgr.Now
	}
	return time.Now
}

// accountOf is the account given, else the identity-enhanced session's,
// read from its cached assumed-role ARN (no network call), else from a
// fresh session, else from sts:GetCallerIdentity.
func accountOf(ctx context.Context, mgr *session.Manager, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if c, err := mgr.CachedCredentials(); err == nil && c != nil {
		if a := arnAccount(c.AssumedRoleArn); a != "" {
			return a, nil
		}
	}
	base, err := mgr.Credentials(ctx, false)
	if err != nil {
		return "", err
	}
	if a := arnAccount(base.AssumedRoleArn); a != "" {
		return a, nil
	}
	cfg, err := awsConfig(mgr, base)
	if err != nil {
		return "", err
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", apiError("sts:GetCallerIdentity", "", err)
	}
	if a := aws.ToString(who.Account); accountRE.MatchString(a) {
		return a, nil
	}
	return "", errors.New("cannot tell the AWS account of the identity-enhanced session; pass the account id")
}

// arnAccount returns the account of arn:aws:sts::ACCOUNT:assumed-role/...
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && accountRE.MatchString(parts[4]) {
		return parts[4]
	}
	return ""
}

func awsConfig(mgr *session.Manager, base *session.Credentials) (aws.Config, error) {
	p := mgr.Profile
	creds := base.AWS()
	return awsconf.New(awsconf.Options{Region: p.Region, Endpoint: p.EndpointURL, HTTPClient: mgr.HTTP, Getenv: mgr.Getenv,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })})
}

func controlClient(mgr *session.Manager, base *session.Credentials) (*s3control.Client, error) {
	cfg, err := awsConfig(mgr, base)
	if err != nil {
		return nil, err
	}
	endpoint := awsconf.ServiceEndpoint(mgr.Profile.EndpointURL, "S3_CONTROL", mgr.Getenv)
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return s3control.NewFromConfig(cfg, awsconf.S3ControlOptions(endpoint)), nil
}

// staleSessionCodes are the answers to a session token AWS no longer
// takes: expired, or unknown (revoked, or forgotten by the sandbox).
var staleSessionCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "TokenRefreshRequired": true,
	"InvalidClientTokenId": true, "InvalidAccessKeyId": true, "InvalidToken": true,
}

// mint calls GetDataAccess; the caller holds the profile's s3ag lock.
func mint(ctx context.Context, mgr *session.Manager, tokens *session.Tokens, account string, req Request, target S3URI) (*Credentials, error) {
	now := nowOf(mgr)
	base, err := mgr.Credentials(ctx, false)
	if err != nil {
		return nil, err
	}
	// Vended credentials do not outlive the session asking for them: renew
	// a session in its last half hour first when that gains time.
	if left := base.Expiration.Sub(now()); left < 2*session.Advisory && now().Sub(base.IssuedAt) > session.Advisory {
		if nb, err := mgr.Credentials(ctx, true); err == nil {
			base = nb
		}
	}
	out, err := call(ctx, mgr, base, account, req)
	if code := errorCode(err); staleSessionCodes[code] {
		base, err = mgr.Credentials(ctx, true)
		if err != nil {
			return nil, err
		}
		out, err = call(ctx, mgr, base, account, req)
	}
	if err != nil {
		if errorCode(err) == "AccessDenied" {
			return nil, accessDenied(ctx, mgr, base, tokens, account, req, target, err)
		}
		return nil, apiError("s3:GetDataAccess", req.Target, err)
	}
	c := &Credentials{
		AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(out.Credentials.SessionToken), Expiration: aws.ToTime(out.Credentials.Expiration).UTC(),
		MatchedGrantTarget: aws.ToString(out.MatchedGrantTarget), Permission: req.Permission, Privilege: req.Privilege,
		TargetType: req.TargetType, AccountID: account, Target: target.String(), IssuedAt: now().UTC(),
		Subject: tokens.Subject, LoggedInAt: tokens.LoggedInAt,
	}
	if out.Grantee != nil {
		c.Grantee = Grantee{Type: string(out.Grantee.GranteeType), Identifier: aws.ToString(out.Grantee.GranteeIdentifier)}
	}
	c.Scope = c.Target
	if req.Privilege == PrivilegeDefault {
		if s, ok := parseScope(c.MatchedGrantTarget); ok && s.coversURI(target) {
			c.Scope = c.MatchedGrantTarget
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Expiration.IsZero() {
		return nil, &APIError{Op: "s3:GetDataAccess", Target: req.Target, Message: "the reply holds no credentials"}
	}
	return c, nil
}

func call(ctx context.Context, mgr *session.Manager, base *session.Credentials, account string, req Request) (*s3control.GetDataAccessOutput, error) {
	client, err := controlClient(mgr, base)
	if err != nil {
		return nil, err
	}
	in := &s3control.GetDataAccessInput{AccountId: aws.String(account), Target: aws.String(req.Target),
		Permission: s3types.Permission(req.Permission), Privilege: s3types.Privilege(req.Privilege)}
	if req.TargetType != "" {
		in.TargetType = s3types.S3PrefixType(req.TargetType)
	}
	if req.DurationSeconds != 0 {
		in.DurationSeconds = aws.Int32(req.DurationSeconds)
	}
	out, err := client.GetDataAccess(ctx, in)
	if err == nil && (out == nil || out.Credentials == nil) {
		return nil, &APIError{Op: "s3:GetDataAccess", Target: req.Target, Message: "the reply holds no credentials"}
	}
	return out, err
}

// Provider is an aws.CredentialsProvider of S3 Access Grants credentials,
// for SDK clients (wrap it in aws.NewCredentialsCache).
type Provider struct {
	Manager *session.Manager
	Request Request
}

// NewProvider returns a provider of credentials for req.
func NewProvider(mgr *session.Manager, req Request) *Provider {
	return &Provider{Manager: mgr, Request: req}
}

// Retrieve implements aws.CredentialsProvider.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := GetDataAccess(ctx, p.Manager, p.Request)
	if err != nil {
		return aws.Credentials{}, err
	}
	return c.AWS(), nil
}

// Cached returns fresh cached credentials covering req without any network
// call or lock, or nil when GetDataAccess would have to ask AWS (a miss, a
// forced request, or an account it cannot tell offline). It is the fast
// path of credential_process.
func Cached(mgr *session.Manager, req Request) (*Credentials, error) {
	if req.ForceNew {
		return nil, nil
	}
	req, target, err := req.normalize()
	if err != nil {
		return nil, err
	}
	tokens, err := mgr.Tokens()
	if err != nil {
		return nil, err
	}
	account := req.AccountID
	if account == "" {
		c, err := mgr.CachedCredentials()
		if err != nil || c == nil {
			return nil, err
		}
		if account = arnAccount(c.AssumedRoleArn); account == "" {
			return nil, nil
		}
	}
	c := &cache{mgr: mgr, now: nowOf(mgr)}
	return c.lookup(tokens, account, req, target)
}
