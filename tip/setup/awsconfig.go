package setup

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// AWSConfigOptions describe an AWS CLI profile that gets its credentials
// from tipctl.
type AWSConfigOptions struct {
	// Profile is the tipctl profile (and, unless AWSProfile is set, the
	// AWS CLI profile name).
	Profile string
	// AWSProfile names the profile in ~/.aws/config (default Profile).
	AWSProfile string
	// Region is the profile's region; empty leaves it out.
	Region string
	// EndpointURL, when set (the sandbox), becomes endpoint_url so that the
	// AWS CLI and SDKs call it instead of AWS.
	EndpointURL string
	// Command is the credential_process command line (default
	// "tipctl auth get-iam-credentials --profile PROFILE").
	Command string
}

// profileNameRe is what tipctl writes into an ini section name and a
// command line without quoting.
var profileNameRe = lazyre.New(`^[A-Za-z0-9_.+@-]{1,64}$`)

// AWSConfigSnippet returns the ~/.aws/config section for o.
func AWSConfigSnippet(o AWSConfigOptions) (string, error) {
	if !profileNameRe.MatchString(o.Profile) {
		return "", &OptionError{"profile", fmt.Sprintf("%q cannot be used in an AWS config file: use letters, digits and _.+@-", o.Profile)}
	}
	name := o.AWSProfile
	if name == "" {
		name = o.Profile
	}
	if !profileNameRe.MatchString(name) {
		return "", &OptionError{"aws-profile", fmt.Sprintf("%q cannot be used as an AWS profile name: use letters, digits and _.+@-", name)}
	}
	for opt, v := range map[string]string{"region": o.Region, "endpoint-url": o.EndpointURL, "command": o.Command} {
		if strings.ContainsAny(v, "\r\n") || hasControl(v) {
			return "", &OptionError{opt, "must be one line of printable characters"}
		}
	}
	cmd := o.Command
	if cmd == "" {
		cmd = "tipctl auth get-iam-credentials --profile " + o.Profile
	}
	section := "profile " + name
	if name == "default" {
		section = "default"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Identity-enhanced credentials from tipctl profile %s (trusted identity propagation).\n", o.Profile)
	fmt.Fprintf(&b, "[%s]\n", section)
	fmt.Fprintf(&b, "credential_process = %s\n", cmd)
	if o.Region != "" {
		fmt.Fprintf(&b, "region = %s\n", o.Region)
	}
	if o.EndpointURL != "" {
		fmt.Fprintf(&b, "endpoint_url = %s\n", o.EndpointURL)
	}
	return b.String(), nil
}
