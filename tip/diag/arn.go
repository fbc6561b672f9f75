package diag

import (
	"fmt"
	"strings"
)

// ARN is an Amazon Resource Name split into its parts.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string
}

// ParseARN splits arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. The
// resource may contain colons.
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%q is not an ARN (arn:partition:service:region:account:resource)", truncate(s, 80))
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	switch {
	case !strings.HasPrefix(a.Partition, "aws"):
		return ARN{}, fmt.Errorf("%q has no AWS partition", truncate(s, 80))
	case a.Service == "" || a.Resource == "":
		return ARN{}, fmt.Errorf("%q has no service or resource", truncate(s, 80))
	case strings.ContainsAny(s, " \t\r\n"):
		return ARN{}, fmt.Errorf("%q contains white space", truncate(s, 80))
	}
	return a, nil
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// RoleName returns the name of an IAM role ARN (the last segment of role/PATH/NAME).
func RoleName(s string) (string, error) {
	a, err := ParseARN(s)
	if err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(a.Resource, "role/")
	if a.Service != "iam" || !ok || rest == "" || strings.HasSuffix(rest, "/") {
		return "", fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", truncate(s, 80))
	}
	return rest[strings.LastIndex(rest, "/")+1:], nil
}

// InstanceArnOf returns the Identity Center instance ARN of an application ARN
// (arn:aws:sso::ACCOUNT:application/ssoins-X/apl-Y → arn:aws:sso:::instance/ssoins-X).
func InstanceArnOf(appArn string) (string, error) {
	a, err := ParseARN(appArn)
	if err != nil {
		return "", err
	}
	rest, ok := strings.CutPrefix(a.Resource, "application/")
	inst, app, ok2 := strings.Cut(rest, "/")
	if a.Service != "sso" || !ok || !ok2 || !strings.Contains(inst, "ins-") || !strings.HasPrefix(app, "apl-") {
		return "", fmt.Errorf("%q is not an Identity Center application ARN (arn:aws:sso::ACCOUNT:application/ssoins-…/apl-…)", truncate(appArn, 80))
	}
	return "arn:" + a.Partition + ":sso:::instance/" + inst, nil
}

// StoreIDOf returns the identity store id of an identity store ARN
// (arn:aws:identitystore::ACCOUNT:identitystore/d-XXXX).
func StoreIDOf(storeArn string) (string, error) {
	a, err := ParseARN(storeArn)
	if err != nil {
		return "", err
	}
	id, ok := strings.CutPrefix(a.Resource, "identitystore/")
	if a.Service != "identitystore" || !ok || id == "" {
		return "", fmt.Errorf("%q is not an identity store ARN", truncate(storeArn, 80))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
