package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/awsconf"
)

// Clients are the AWS APIs setup uses, built from one aws.Config exactly
// as in production; only the endpoint may change.
type Clients struct {
	IAM *iam.Client
	SSO *ssoadmin.Client
	IDS *identitystore.Client
	S3C *s3control.Client
	STS *sts.Client
}

// NewClients builds the clients; endpoint (the sandbox) pins S3 Control,
// whose SDK rules would otherwise put the account id in the host.
func NewClients(cfg aws.Config, endpoint string) *Clients {
	return &Clients{IAM: iam.NewFromConfig(cfg), SSO: ssoadmin.NewFromConfig(cfg), IDS: identitystore.NewFromConfig(cfg),
		S3C: s3control.NewFromConfig(cfg, awsconf.S3ControlOptions(endpoint)), STS: sts.NewFromConfig(cfg)}
}

// Action is what a change does.
type Action string

// Actions.
const (
	Create Action = "create"
	Update Action = "change"
	Delete Action = "delete"
)

// Change is one resource change of a plan.
type Change struct {
	Action   Action `json:"action"`
	Resource string `json:"resource"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	// Permission is the IAM action the change needs (for the fix of a failure).
	Permission string `json:"permission"`
	run        func(ctx context.Context) (string, error)
	// record, when set, is what the state records after the change ran.
	record func(arn string) *Resource
	forget *Resource
}

// Step names the change as apply prints it.
func (c Change) Step() string { return c.Resource + " " + c.Name }

// Plan is the changes that bring the live state to the file.
type Plan struct {
	Account     string   `json:"account"`
	InstanceArn string   `json:"instance_arn"`
	Changes     []Change `json:"changes"`
	e           *engine
}

// Empty reports whether nothing would change.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Write prints the plan, one change per line with its reason.
func (p *Plan) Write(w io.Writer) {
	sign := map[Action]string{Create: "+", Update: "~", Delete: "-"}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  %s %-6s %-28s %s\n", sign[c.Action], c.Action, c.Step(), c.Reason)
	}
	n := map[Action]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	if p.Empty() {
		fmt.Fprintln(w, "No changes: the account matches the file.")
		return
	}
	fmt.Fprintf(w, "Plan: %d to create, %d to change, %d to delete.\n", n[Create], n[Update], n[Delete])
}

// engine holds what planning learns and applying fills in (ARNs of
// resources created earlier in the same run).
type engine struct {
	c        *Clients
	s        *Spec
	st       *State
	account  string
	instance string
	storeID  string
	groups   map[string]string
	appArn   string
	ttiArn   string
	locIDs   map[string]string
	changes  []Change
}

// SetupTag marks every resource setup creates (with the spec's
// application name as the value), next to the state file's record.
const SetupTag = "tipctl:setup"

// MakePlan reads the live state and returns the changes.
func MakePlan(ctx context.Context, c *Clients, s *Spec, st *State) (*Plan, error) {
	e := &engine{c: c, s: s, st: st, groups: map[string]string{}, locIDs: map[string]string{}}
	if err := e.discover(ctx); err != nil {
		return nil, err
	}
	steps := []func(context.Context) error{e.planProvider, e.planIssuer, e.planApplication, e.planRoles, e.planAppConfig, e.planAccessGrants}
	for _, f := range steps {
		if err := f(ctx); err != nil {
			return nil, err
		}
	}
	return &Plan{Account: e.account, InstanceArn: e.instance, Changes: e.changes, e: e}, nil
}

// ReadError is a failure to read the live state.
type ReadError struct {
	What, Permission string
	Err              error
}

func (e *ReadError) Error() string { return fmt.Sprintf("reading %s: %v", e.What, e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

func readErr(what, perm string, err error) error {
	return &ReadError{What: what, Permission: perm, Err: err}
}

// notFound reports whether err is a modeled "does not exist" error.
func notFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NoSuchEntity", "ResourceNotFoundException", "AccessGrantsInstanceNotExistsError", "NoSuchAccessGrantsInstance",
		"AccessGrantsInstanceNotFound", "NotFound", "NoSuchAccessGrantError", "NoSuchAccessGrantsLocationError":
		return true
	}
	return false
}

func (e *engine) add(c Change) { e.changes = append(e.changes, c) }

func (e *engine) discover(ctx context.Context) error {
	id, err := e.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return readErr("the caller identity", "sts:GetCallerIdentity", err)
	}
	e.account = aws.ToString(id.Account)
	out, err := e.c.SSO.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil {
		return readErr("Identity Center instances", "sso:ListInstances", err)
	}
	for _, in := range out.Instances {
		if e.s.IdentityCenter.InstanceArn == "" || aws.ToString(in.InstanceArn) == e.s.IdentityCenter.InstanceArn {
			e.instance, e.storeID = aws.ToString(in.InstanceArn), aws.ToString(in.IdentityStoreId)
			break
		}
	}
	if e.instance == "" {
		return &ReadError{What: "the Identity Center instance", Err: errors.New("no IAM Identity Center instance in this account and region; enable Identity Center first")}
	}
	var names []string
	for _, g := range e.s.IdentityCenter.Application.AssignedGroups {
		names = append(names, g)
	}
	if ag := e.s.AccessGrants; ag != nil {
		for _, g := range ag.Grants {
			names = append(names, g.Group)
		}
	}
	for _, n := range names {
		if _, ok := e.groups[n]; ok {
			continue
		}
		out, err := e.c.IDS.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: aws.String(e.storeID),
			AlternateIdentifier: &idstypes.AlternateIdentifierMemberUniqueAttribute{Value: idstypes.UniqueAttribute{
				AttributePath: aws.String("displayName"), AttributeValue: stringDocument(n)}}})
		if err != nil {
			if notFound(err) {
				return &ReadError{What: "group " + n, Err: fmt.Errorf("no group %q in the Identity Center directory; provision it from the IdP (SCIM) or fix the name in the file", n)}
			}
			return readErr("group "+n, "identitystore:GetGroupId", err)
		}
		e.groups[n] = aws.ToString(out.GroupId)
	}
	return nil
}

func (e *engine) roleArn(name string) string { return "arn:aws:iam::" + e.account + ":role/" + name }

func (e *engine) providerArn() string {
	return "arn:aws:iam::" + e.account + ":oidc-provider/" + IssuerHostPath(e.s.IdP.Issuer)
}

// docJSON renders a policy built by this package.
func docJSON(m M) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // M of strings, lists and Ms always marshals
	}
	return string(b)
}

// sameDoc compares two policy documents semantically: a single value and
// a list of one are the same, and so are lists in another order.
func sameDoc(live, want string) bool {
	if u, err := url.QueryUnescape(live); err == nil && json.Valid([]byte(u)) {
		live = u
	}
	var a, b any
	if json.Unmarshal([]byte(live), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case []any:
		if len(t) == 1 {
			return normalize(t[0])
		}
		var items []string
		for _, x := range t {
			b, _ := json.Marshal(normalize(x))
			items = append(items, string(b))
		}
		sort.Strings(items)
		return items
	}
	return v
}

func tagValue(s *Spec) string { return s.IdentityCenter.Application.Name }
