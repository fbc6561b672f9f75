package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/config"
)

// Resource is one resource setup created, as the state file records it.
type Resource struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Arn  string `json:"arn,omitempty"`
	Name string `json:"name,omitempty"`
}

// State is what setup created in one account: destroy removes exactly
// these, in reverse order. It is kept next to the file (FILE.state.json).
type State struct {
	Version   int        `json:"version"`
	Account   string     `json:"account,omitempty"`
	Resources []Resource `json:"resources"`
	path      string
}

// StatePath is the state file of a spec file.
func StatePath(specPath string) string { return specPath + ".state.json" }

// LoadState reads the state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	st := &State{Version: 1, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	st.path = path
	return st, nil
}

// Save writes the state atomically.
func (s *State) Save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return config.WriteFileAtomic(s.path, append(b, '\n'), 0o600)
}

func (s *State) find(typ, id string) *Resource {
	for i := range s.Resources {
		if s.Resources[i].Type == typ && s.Resources[i].ID == id {
			return &s.Resources[i]
		}
	}
	return nil
}

func (s *State) remove(typ, id string) {
	out := s.Resources[:0]
	for _, r := range s.Resources {
		if r.Type != typ || r.ID != id {
			out = append(out, r)
		}
	}
	s.Resources = out
}

// StepError is a failed change: the step, the cause and the fix.
type StepError struct {
	Step string
	Err  error
	Fix  string
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s failed: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

func stepError(c Change, err error) error {
	fix := "fix the cause, then run `tipctl setup apply` again: it continues from the live state"
	var ae smithy.APIError
	if errors.As(err, &ae) && (strings.Contains(ae.ErrorCode(), "AccessDenied") || ae.ErrorCode() == "UnauthorizedOperation") {
		fix = fmt.Sprintf("allow %s to the credentials' identity, then run `tipctl setup apply` again: it continues from the live state", c.Permission)
	}
	return &StepError{Step: c.Step(), Err: err, Fix: fix}
}

// Applied is one change apply made.
type Applied struct {
	Change Change
	Arn    string
}

// Result is what apply did and the ARNs a tipctl profile needs.
type Result struct {
	Applied         []Applied
	ApplicationArn  string
	BridgeRoleArn   string
	EnhancedRoleArn string
	SnapshotRoleArn string
}

// Apply makes the plan's changes in order, calling each after it is made,
// and records every created resource in the state as soon as it exists.
func Apply(ctx context.Context, p *Plan, each func(Applied)) (*Result, error) {
	e := p.e
	e.st.Account = e.account
	res := &Result{}
	for _, c := range p.Changes {
		arn, err := c.run(ctx)
		if err != nil {
			return res, stepError(c, err)
		}
		if c.record != nil {
			e.st.Resources = append(e.st.Resources, *c.record(arn))
		}
		if c.forget != nil {
			e.st.remove(c.forget.Type, c.forget.ID)
		}
		if err := e.st.Save(); err != nil {
			return res, &StepError{Step: c.Step(), Err: fmt.Errorf("the change was made but the state file could not be written: %v", err),
				Fix: "make the state file's directory writable; destroy only removes what the state records"}
		}
		arn, _, _ = strings.Cut(arn, "#")
		a := Applied{Change: c, Arn: arn}
		res.Applied = append(res.Applied, a)
		if each != nil {
			each(a)
		}
	}
	res.ApplicationArn = e.appArn
	res.BridgeRoleArn = e.roleArn(e.s.Roles.Bridge.Name)
	res.EnhancedRoleArn = e.roleArn(e.s.Roles.Enhanced.Name)
	if q := e.s.Roles.Snapshot; q != nil {
		res.SnapshotRoleArn = e.roleArn(q.Name)
	}
	return res, nil
}

// DestroyPlan lists the deletions of everything the state records, newest
// first, that still exists.
func DestroyPlan(ctx context.Context, c *Clients, s *Spec, st *State) (*Plan, error) {
	e := &engine{c: c, s: s, st: st}
	id, err := c.STS.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, readErr("the caller identity", "sts:GetCallerIdentity", err)
	}
	e.account = aws.ToString(id.Account)
	if st.Account != "" && st.Account != e.account {
		return nil, &ReadError{What: "the state", Err: fmt.Errorf("the state records account %s but the credentials are for %s; use the credentials of %s", st.Account, e.account, st.Account)}
	}
	acct := aws.String(e.account)
	for i := len(st.Resources) - 1; i >= 0; i-- {
		r := st.Resources[i]
		ch := Change{Action: Delete, Resource: r.Type, Name: firstNonEmpty(r.Name, r.ID), Reason: "created by tipctl setup", forget: &Resource{Type: r.Type, ID: r.ID}}
		var run func(ctx context.Context) error
		switch r.Type {
		case "access-grant":
			ch.Permission = "s3:DeleteAccessGrant"
			run = func(ctx context.Context) error {
				_, err := c.S3C.DeleteAccessGrant(ctx, &s3control.DeleteAccessGrantInput{AccountId: acct, AccessGrantId: aws.String(r.ID)})
				return err
			}
		case "access-grants-location":
			ch.Permission = "s3:DeleteAccessGrantsLocation"
			run = func(ctx context.Context) error {
				_, err := c.S3C.DeleteAccessGrantsLocation(ctx, &s3control.DeleteAccessGrantsLocationInput{AccountId: acct, AccessGrantsLocationId: aws.String(r.ID)})
				return err
			}
		case "access-grants-instance":
			ch.Permission = "s3:DeleteAccessGrantsInstance"
			run = func(ctx context.Context) error {
				_, err := c.S3C.DeleteAccessGrantsInstance(ctx, &s3control.DeleteAccessGrantsInstanceInput{AccountId: acct})
				return err
			}
		case "iam-role":
			ch.Permission = "iam:DeleteRole"
			run = func(ctx context.Context) error { return e.deleteRole(ctx, r.ID) }
		case "application":
			ch.Permission = "sso:DeleteApplication"
			run = func(ctx context.Context) error {
				_, err := c.SSO.DeleteApplication(ctx, &ssoadmin.DeleteApplicationInput{ApplicationArn: aws.String(r.Arn)})
				return err
			}
		case "trusted-token-issuer":
			ch.Permission = "sso:DeleteTrustedTokenIssuer"
			run = func(ctx context.Context) error {
				_, err := c.SSO.DeleteTrustedTokenIssuer(ctx, &ssoadmin.DeleteTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(r.Arn)})
				return err
			}
		case "oidc-provider":
			ch.Permission = "iam:DeleteOpenIDConnectProvider"
			run = func(ctx context.Context) error {
				_, err := c.IAM.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(r.Arn)})
				return err
			}
		default:
			return nil, &ReadError{What: "the state", Err: fmt.Errorf("unknown resource type %q in %s", r.Type, st.path)}
		}
		ch.run = func(ctx context.Context) (string, error) {
			if err := run(ctx); err != nil && !notFound(err) {
				return "", err
			}
			return r.Arn, nil
		}
		e.add(ch)
	}
	return &Plan{Account: e.account, Changes: e.changes, e: e}, nil
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}
