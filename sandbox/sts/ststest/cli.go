package ststest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/sandbox"
)

// NeedTools skips the test when a command it runs is not installed, or
// fails it under CI (CI=true), where every tool must be there.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed; install it to run this test", tool)
		}
	}
}

// CredentialProcessConfig writes an AWS config file whose profile gets
// creds through credential_process, as tipctl's generated profiles do
// (the credentials expire in 50 minutes of the sandbox's clock), and
// returns the file's path for AWS_CONFIG_FILE.
func CredentialProcessConfig(t testing.TB, sb *sandbox.Sandbox, profile string, creds aws.Credentials) string {
	t.Helper()
	dir := t.TempDir()
	js, _ := json.Marshal(map[string]any{"Version": 1, "AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey,
		"SessionToken": creds.SessionToken, "Expiration": sb.Env.Now().Add(50 * time.Minute).Format("2006-01-02T15:04:05Z")})
	credsFile := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(credsFile, js, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[profile %s]\nregion = us-east-1\ncredential_process = cat %s\n", profile, credsFile)
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
