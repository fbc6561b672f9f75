// Package audit reads CloudTrail events through LookupEvents and resolves
// the person behind each call: the Identity Center user of an
// identity-enhanced session (userIdentity.onBehalfOf.userId), looked up
// with identitystore DescribeUser and cached. It reads both the layout
// IAM Identity Center emitted before 13 January 2025 (userIdentity type
// Unknown with userName and principalId) and the one after (type
// IdentityCenterUser, onBehalfOf {userId, identityStoreArn}, credentialId,
// additionalEventData.UserName). It needs cloudtrail:LookupEvents and
// identitystore:DescribeUser, nothing else.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/smithy-go"
)

// Query selects events.
type Query struct {
	// UserEmail or UserID select one person (compared after resolution).
	UserEmail string
	UserID    string
	// Service is a short service name ("s3") or an event source.
	Service string
	// Since is the start time (zero: no bound); Until the end.
	Since, Until time.Time
	// Denied keeps only refused calls.
	Denied bool
	// Limit bounds the entries returned (default 200).
	Limit int
}

// Entry is one call, resolved to the person.
type Entry struct {
	Time     time.Time `json:"time"`
	EventID  string    `json:"event_id"`
	Person   string    `json:"person,omitempty"`
	UserID   string    `json:"user_id,omitempty"`
	Role     string    `json:"role,omitempty"`
	Action   string    `json:"action"`
	Resource string    `json:"resource,omitempty"`
	Allowed  bool      `json:"allowed"`
	Error    string    `json:"error,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Layout is "identity-enhanced", "identity-center-2025" (type
	// IdentityCenterUser), "identity-center-legacy" (type Unknown with
	// userName), or "iam".
	Layout string `json:"layout"`
}

// PermissionError names the IAM action the caller lacks.
type PermissionError struct {
	Action string
	Err    error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("missing permission %s: %v", e.Action, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Reader reads and resolves events.
type Reader struct {
	CloudTrail    *cloudtrail.Client
	IdentityStore *identitystore.Client

	mu    sync.Mutex
	users map[string]person
}

type person struct {
	name, email string
	err         error
}

// New returns a reader over cfg.
func New(cfg aws.Config) *Reader {
	return &Reader{CloudTrail: cloudtrail.NewFromConfig(cfg), IdentityStore: identitystore.NewFromConfig(cfg)}
}

func denied(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	c := api.ErrorCode()
	return strings.Contains(c, "AccessDenied") || c == "UnauthorizedOperation" || c == "UnrecognizedClientException"
}

// record is the part of a CloudTrail record audit reads.
type record struct {
	EventTime    time.Time
	EventSource  string
	EventName    string
	EventID      string
	ErrorCode    string
	ErrorMessage string
	UserIdentity struct {
		Type           string
		PrincipalID    string
		Arn            string
		UserName       string
		SessionContext *struct {
			SessionIssuer *struct{ UserName, Arn string }
		}
		OnBehalfOf *struct {
			UserID           string
			IdentityStoreArn string
		}
	}
	RequestParameters   map[string]any
	AdditionalEventData map[string]any
	Resources           []struct{ ARN string }
}

// Lookup returns the entries matching q, newest first.
func (r *Reader) Lookup(ctx context.Context, q Query) ([]Entry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(50)}
	if !q.Since.IsZero() {
		in.StartTime = aws.Time(q.Since)
	}
	if !q.Until.IsZero() {
		in.EndTime = aws.Time(q.Until)
	}
	if q.Service != "" {
		src := q.Service
		if !strings.Contains(src, ".") {
			src += ".amazonaws.com"
		}
		in.LookupAttributes = []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(src)}}
	}
	var out []Entry
	p := cloudtrail.NewLookupEventsPaginator(r.CloudTrail, in)
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			if denied(err) {
				return nil, &PermissionError{Action: "cloudtrail:LookupEvents", Err: err}
			}
			return nil, err
		}
		for _, ev := range page.Events {
			var rec record
			if json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec) != nil {
				continue
			}
			if b := base(&rec); (q.Denied && b.Allowed) || (q.UserID != "" && b.UserID != q.UserID) {
				continue // no need to resolve who it was
			}
			e, err := r.entry(ctx, &rec)
			if err != nil {
				return nil, err
			}
			if keep(q, e) {
				out = append(out, e)
				if len(out) == limit {
					break
				}
			}
		}
	}
	return out, nil
}

func keep(q Query, e Entry) bool {
	if q.Denied && e.Allowed {
		return false
	}
	if q.UserID != "" && e.UserID != q.UserID {
		return false
	}
	if q.UserEmail != "" && !strings.EqualFold(e.Person, q.UserEmail) {
		return false
	}
	return true
}

// Parse turns one CloudTrailEvent JSON string into an entry without
// resolving the person (Person is the best name the record itself holds).
func Parse(cloudTrailEvent string) (Entry, error) {
	var rec record
	if err := json.Unmarshal([]byte(cloudTrailEvent), &rec); err != nil {
		return Entry{}, err
	}
	return base(&rec), nil
}

func base(rec *record) Entry {
	u := rec.UserIdentity
	e := Entry{Time: rec.EventTime, EventID: rec.EventID, Action: service(rec.EventSource) + ":" + rec.EventName,
		Allowed: rec.ErrorCode == "", Error: rec.ErrorCode, Resource: resource(rec), Layout: "iam"}
	if rec.ErrorCode != "" {
		e.Reason = rec.ErrorMessage
	}
	// The tipctl sandbox records what decided a refusal (a call refused
	// with an error, or a job refused after the call that started it, such
	// as a Redshift statement, reported on a call that succeeded) and the
	// data-level limits of allowed calls (row-level security, document ACLs).
	if d, ok := rec.AdditionalEventData["tipctlDecision"].(map[string]any); ok {
		e.Allowed = false
		if s, _ := d["reason"].(string); s != "" {
			e.Reason = s
		}
		if k, _ := d["kind"].(string); e.Error == "" {
			e.Error = k
		}
		if r, _ := d["resource"].(string); e.Resource == "" {
			e.Resource = r
		}
	} else if ls, ok := rec.AdditionalEventData["tipctlLimits"].([]any); ok && e.Allowed {
		var parts []string
		for _, l := range ls {
			if m, ok := l.(map[string]any); ok {
				if s, _ := m["reason"].(string); s != "" {
					parts = append(parts, s)
				}
			}
		}
		e.Reason = strings.Join(parts, "; ")
	}
	if sc := u.SessionContext; sc != nil && sc.SessionIssuer != nil {
		e.Role = sc.SessionIssuer.UserName
	}
	switch {
	case u.OnBehalfOf != nil && u.Type == "IdentityCenterUser":
		e.Layout, e.UserID = "identity-center-2025", u.OnBehalfOf.UserID
	case u.OnBehalfOf != nil:
		e.Layout, e.UserID = "identity-enhanced", u.OnBehalfOf.UserID
		if u.Type == "Unknown" {
			e.Layout = "identity-center-legacy"
		}
	case u.Type == "Unknown" && u.UserName != "":
		e.Layout = "identity-center-legacy"
	}
	switch {
	case u.Type == "Unknown" && u.UserName != "":
		e.Person = u.UserName
	case rec.AdditionalEventData["UserName"] != nil:
		e.Person, _ = rec.AdditionalEventData["UserName"].(string)
	case u.Type == "IAMUser":
		e.Person = u.UserName
	}
	return e
}

func (r *Reader) entry(ctx context.Context, rec *record) (Entry, error) {
	e := base(rec)
	if e.UserID == "" {
		return e, nil
	}
	storeID := rec.UserIdentity.OnBehalfOf.IdentityStoreArn
	if i := strings.LastIndex(storeID, "/"); i >= 0 {
		storeID = storeID[i+1:]
	}
	p := r.resolve(ctx, storeID, e.UserID)
	if p.err != nil {
		return e, p.err
	}
	switch {
	case p.email != "":
		e.Person = p.email
	case p.name != "":
		e.Person = p.name
	}
	return e, nil
}

// resolve calls DescribeUser once per user (cached, also failures other
// than a missing permission, so a deleted user is asked for once).
func (r *Reader) resolve(ctx context.Context, storeID, userID string) person {
	key := storeID + "/" + userID
	r.mu.Lock()
	if r.users == nil {
		r.users = map[string]person{}
	}
	p, ok := r.users[key]
	r.mu.Unlock()
	if ok {
		return p
	}
	out, err := r.IdentityStore.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(userID)})
	switch {
	case err != nil && denied(err):
		return person{err: &PermissionError{Action: "identitystore:DescribeUser", Err: err}}
	case err != nil:
		p = person{}
	default:
		p.name = aws.ToString(out.UserName)
		for _, m := range out.Emails {
			if m.Primary || p.email == "" {
				p.email = aws.ToString(m.Value)
			}
		}
	}
	r.mu.Lock()
	r.users[key] = p
	r.mu.Unlock()
	return p
}

// service is the IAM prefix of an event source (s3.amazonaws.com → s3).
func service(src string) string {
	s, _, _ := strings.Cut(src, ".")
	return s
}

func resource(rec *record) string {
	rp := rec.RequestParameters
	str := func(k string) string { s, _ := rp[k].(string); return s }
	switch {
	case str("bucketName") != "" && str("key") != "":
		return "s3://" + str("bucketName") + "/" + str("key")
	case str("bucketName") != "":
		return "s3://" + str("bucketName")
	case str("target") != "":
		return str("target")
	case str("roleArn") != "":
		return str("roleArn")
	case str("clientId") != "":
		return str("clientId")
	}
	if len(rec.Resources) > 0 {
		return rec.Resources[0].ARN
	}
	return ""
}
