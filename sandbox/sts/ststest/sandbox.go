package ststest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	sbidp "github.com/tipctl/tipctl/sandbox/idp"
)

// Sandbox starts a sandbox with worldYAML (the default world when empty)
// and closes it when the test ends. Unlike Start it registers no test
// issuer.
func Sandbox(t testing.TB, worldYAML []byte) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: worldYAML})
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// SignIn does what a person's browser does with the authorization URL of a
// login at the sandbox IdP: it signs in as email on the login page, then
// follows the redirect back to the client's loopback listener.
func SignIn(ctx context.Context, authURL, email, password string) error {
	loc, err := sbidp.FollowLogin(ctx, http.DefaultClient, authURL, email, password)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Tokens are the tokens of a password-grant login.
type Tokens struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// PasswordLogin signs email in at the IdP of the sandbox at endpoint with
// the sandbox-only password grant (client tipctl) for scope, and fails the
// test when no id_token comes back.
func PasswordLogin(t testing.TB, endpoint, email, password, scope string) Tokens {
	t.Helper()
	resp, err := http.PostForm(endpoint+"/idp/token", url.Values{"grant_type": {"password"}, "client_id": {"tipctl"},
		"username": {email}, "password": {password}, "scope": {scope}})
	if err != nil {
		t.Fatalf("password grant for %s: %v", email, err)
	}
	defer resp.Body.Close()
	var out struct {
		Tokens
		Error string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		t.Fatalf("password grant for %s: HTTP %d %s %v", email, resp.StatusCode, out.Error, err)
	}
	return out.Tokens
}

// WantAPIError fails the test unless err is the AWS error code with HTTP
// status (any status when 0), and returns the error's message.
func WantAPIError(t testing.TB, err error, code string, status int) string {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (HTTP %d), got success", code, status)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want error code %s, got %v", code, err)
	}
	if status != 0 {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != status {
			t.Fatalf("want HTTP %d for %s, got %v", status, code, err)
		}
	}
	return ae.ErrorMessage()
}

// CLIEnv is the environment of an AWS CLI or boto3 child process: this
// process's without AWS settings or proxies, with the keys given (and the
// session token unless empty), region us-east-1, config and credentials
// files of the test's own (absent), no instance metadata, then extra.
func CLIEnv(t testing.TB, akid, secret, token string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	dir := t.TempDir()
	env = append(env, "AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONWARNINGS=ignore")
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return append(env, extra...)
}
