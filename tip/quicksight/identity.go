package quicksight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// QuickSightContextProvider is the ProviderArn of QuickSight identity
// contexts in sts:AssumeRole's ProvidedContexts.
const QuickSightContextProvider = "arn:aws:iam::aws:contextProvider/QuickSight"

// DefaultNamespace is QuickSight's default namespace.
const DefaultNamespace = "default"

// User names a QuickSight user by exactly one of email, user name or ARN.
type User struct {
	Email    string `json:"email,omitempty"`
	UserName string `json:"user_name,omitempty"`
	Arn      string `json:"arn,omitempty"`
}

// ParseUser reads a user from one string: an ARN (arn:…), an email (has
// @), else a user name (which may hold "/", as IAM-federated users do).
func ParseUser(s string) User {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "arn:"):
		return User{Arn: s}
	case strings.Contains(s, "@") && !strings.Contains(s, "/"):
		return User{Email: s}
	}
	return User{UserName: s}
}

func (u User) String() string {
	switch {
	case u.Arn != "":
		return u.Arn
	case u.Email != "":
		return u.Email
	}
	return u.UserName
}

func (u User) count() int {
	n := 0
	for _, v := range []string{u.Email, u.UserName, u.Arn} {
		if v != "" {
			n++
		}
	}
	return n
}

func (u User) identifier() qstypes.UserIdentifier {
	switch {
	case u.Arn != "":
		return &qstypes.UserIdentifierMemberUserArn{Value: u.Arn}
	case u.Email != "":
		return &qstypes.UserIdentifierMemberEmail{Value: u.Email}
	}
	return &qstypes.UserIdentifierMemberUserName{Value: u.UserName}
}

// IdentityRequest asks for an identity-enhanced session for a QuickSight
// user: the base (administrator) credentials get the user's identity
// context, then assume RoleArn with it.
type IdentityRequest struct {
	// AccountID is the QuickSight account; default: the role ARN's account.
	AccountID string
	User      User
	// Namespace defaults to "default".
	Namespace string
	// RoleArn's trust policy must allow the base credentials both
	// sts:AssumeRole and sts:SetContext.
	RoleArn string
	// SessionName defaults to tipctl-qs-<user>.
	SessionName string
	// Duration of the role session; 0 leaves it to STS (1 hour).
	Duration time.Duration
}

// Session is an identity-enhanced role session of a QuickSight user.
type Session struct {
	Credentials    aws.Credentials
	AssumedRoleArn string
	User           User
	Namespace      string
}

var roleArnRe = lazyre.New(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)

// AccountOf returns the account id of an IAM or STS ARN, or "".
func AccountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && len(parts[4]) == 12 {
		return parts[4]
	}
	return ""
}

var sessionBad = lazyre.New(`[^\w+=,.@-]`)

func sessionName(u User) string {
	s := u.String()
	if u.Arn != "" {
		s = s[strings.LastIndex(s, "/")+1:]
	}
	s = "tipctl-qs-" + sessionBad.ReplaceAllString(s, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func (r *IdentityRequest) check() error {
	if r.User.count() != 1 {
		return errorf(KindInput, "name the user by email, user name or ARN", "a QuickSight user is named by exactly one of email, user name or ARN")
	}
	if r.RoleArn == "" {
		return errorf(KindInput, "pass the ARN of a role whose trust policy allows sts:AssumeRole and sts:SetContext", "no role to assume with the QuickSight identity context")
	}
	if !roleArnRe.MatchString(r.RoleArn) {
		return errorf(KindInput, "want arn:aws:iam::<account id>:role/<name>", "%q is not an IAM role ARN", r.RoleArn)
	}
	if r.AccountID == "" {
		r.AccountID = AccountOf(r.RoleArn)
	}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.SessionName == "" {
		r.SessionName = sessionName(r.User)
	}
	return nil
}

// IdentitySession runs quicksight:GetIdentityContext with admin's
// credentials, then sts:AssumeRole with the context as a provided context
// (provider arn:aws:iam::aws:contextProvider/QuickSight).
func IdentitySession(ctx context.Context, admin aws.Config, req IdentityRequest) (*Session, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	qc := qs.NewFromConfig(admin)
	in := &qs.GetIdentityContextInput{AwsAccountId: aws.String(req.AccountID), UserIdentifier: req.User.identifier(),
		Namespace: aws.String(req.Namespace)}
	if req.User.Arn != "" {
		in.Namespace = nil // the ARN names the namespace
	}
	if req.Duration > time.Hour {
		// The context must live as long as the session made from it.
		in.SessionExpiresAt = aws.Time(time.Now().Add(req.Duration))
	}
	out, err := qc.GetIdentityContext(ctx, in)
	if err != nil {
		return nil, identityContextError(ctx, qc, req, err)
	}
	ar := &sts.AssumeRoleInput{RoleArn: aws.String(req.RoleArn), RoleSessionName: aws.String(req.SessionName),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(QuickSightContextProvider), ContextAssertion: out.Context}}}
	if req.Duration > 0 {
		ar.DurationSeconds = aws.Int32(int32(req.Duration / time.Second))
	}
	res, err := sts.NewFromConfig(admin).AssumeRole(ctx, ar)
	if err != nil {
		return nil, assumeRoleError(req, err)
	}
	c := res.Credentials
	s := &Session{User: req.User, Namespace: req.Namespace, Credentials: aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration), Source: "tipctl-quicksight"}}
	if res.AssumedRoleUser != nil {
		s.AssumedRoleArn = aws.ToString(res.AssumedRoleUser.Arn)
	}
	return s, nil
}

// IdentityCredentials returns refreshable credentials that run
// IdentitySession whenever new ones are needed.
func IdentityCredentials(admin aws.Config, req IdentityRequest) *Credentials {
	return NewCredentials(func(ctx context.Context, _ bool) (aws.Credentials, error) {
		s, err := IdentitySession(ctx, admin, req)
		if err != nil {
			return aws.Credentials{}, err
		}
		return s.Credentials, nil
	})
}

func identityContextError(ctx context.Context, qc *qs.Client, req IdentityRequest, err error) error {
	code, msg, _, ok := apiError(err)
	if !ok {
		return serviceError("quicksight:GetIdentityContext", err)
	}
	lower := strings.ToLower(msg)
	e := &Error{Code: code, Err: err}
	switch {
	case code == "ResourceNotFoundException" && namespaceMissing(err, lower):
		e.Kind, e.Msg = KindNotFound, fmt.Sprintf("QuickSight namespace %q not found in account %s", req.Namespace, req.AccountID)
		e.Fix = "check --namespace (most accounts only have \"default\")"
	case code == "ResourceNotFoundException":
		e.Kind, e.Msg = KindNotFound, fmt.Sprintf("no QuickSight user %s in namespace %s of account %s", req.User, req.Namespace, req.AccountID)
		e.Msg += userSuggestions(ctx, qc, req)
		e.Fix = "name a registered QuickSight user (email, user name or ARN)"
	case code == "PreconditionNotMetException" && strings.Contains(lower, "identity center"):
		e.Kind, e.Msg = KindInput, fmt.Sprintf("%s is an IAM Identity Center user in QuickSight, and GetIdentityContext only vouches for QuickSight, IAM-federated and Active Directory users", req.User)
		e.Fix = "take the snapshot through Identity Center instead: log in as that person (tipctl auth login) and use their Identity Center session (--identity-center)"
	case code == "PreconditionNotMetException":
		e.Kind, e.Msg = KindInput, fmt.Sprintf("QuickSight cannot issue an identity context for %s: %s", req.User, msg)
	case code == "AccessDeniedException":
		e.Kind, e.Msg = KindAccess, "the base credentials may not call quicksight:GetIdentityContext: "+msg
		e.Fix = "use administrator credentials (base_aws_profile) allowed quicksight:GetIdentityContext on the user"
	default:
		return serviceError("quicksight:GetIdentityContext", err)
	}
	return e
}

// namespaceMissing reads the ResourceType of a ResourceNotFoundException
// (NAMESPACE or USER), else its message.
func namespaceMissing(err error, lower string) bool {
	var rnf *qstypes.ResourceNotFoundException
	if errors.As(err, &rnf) && rnf.ResourceType != "" {
		return strings.EqualFold(string(rnf.ResourceType), "NAMESPACE")
	}
	return strings.HasPrefix(lower, "namespace")
}

// userSuggestions lists close user emails and names (best effort: it needs
// quicksight:ListUsers).
func userSuggestions(ctx context.Context, qc *qs.Client, req IdentityRequest) string {
	var names []string
	p := qs.NewListUsersPaginator(qc, &qs.ListUsersInput{AwsAccountId: aws.String(req.AccountID), Namespace: aws.String(req.Namespace)})
	for p.HasMorePages() && len(names) < 1000 {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ""
		}
		for _, u := range page.UserList {
			switch {
			case req.User.Email != "":
				names = append(names, aws.ToString(u.Email))
			case req.User.Arn != "":
				names = append(names, aws.ToString(u.Arn))
			default:
				names = append(names, aws.ToString(u.UserName))
			}
		}
	}
	return didYouMean(req.User.String(), names)
}

func assumeRoleError(req IdentityRequest, err error) error {
	code, msg, _, ok := apiError(err)
	if !ok {
		return serviceError("sts:AssumeRole", err)
	}
	e := &Error{Code: code, Err: err}
	switch {
	case (code == "AccessDenied" || code == "AccessDeniedException") && strings.Contains(msg, "sts:SetContext"):
		e.Kind, e.Msg = KindAccess, fmt.Sprintf("role %s may be assumed but not with an identity context: %s", req.RoleArn, msg)
		e.Fix = `allow sts:SetContext in the role's trust policy, in a statement of its own for the caller: {"Effect": "Allow", "Principal": {"AWS": "<caller ARN>"}, "Action": "sts:SetContext", "Condition": {"ForAllValues:ArnEquals": {"sts:RequestContextProviders": "` + QuickSightContextProvider + `"}, "Null": {"sts:RequestContextProviders": "false"}}} (and allow it in the caller's policy)`
	case code == "AccessDenied" || code == "AccessDeniedException":
		e.Kind, e.Msg = KindAccess, fmt.Sprintf("role %s cannot be assumed with the base credentials: %s", req.RoleArn, msg)
		e.Fix = "check that the role exists and that its trust policy allows the base credentials sts:AssumeRole and sts:SetContext"
	case code == "ValidationError" || code == "InvalidParameterValue":
		e.Kind, e.Msg = KindInput, "sts:AssumeRole: "+msg
	default:
		return serviceError("sts:AssumeRole", err)
	}
	return e
}
