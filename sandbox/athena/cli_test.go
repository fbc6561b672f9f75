package athena_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func needCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI is not installed")
		}
		t.Skip("the AWS CLI (aws) is not installed; install it to run this test")
	}
}

// ttiProfile is the environment of an AWS CLI whose profile my-tti-profile
// gets the person's identity-enhanced credentials through
// credential_process (seed 002's profile), with no other keys set.
func ttiProfile(t *testing.T, sb *sandbox.Sandbox, user string) []string {
	t.Helper()
	creds, err := ststest.Person(t, sb, user).Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	js, _ := json.Marshal(map[string]any{"Version": 1, "AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey,
		"SessionToken": creds.SessionToken, "Expiration": sb.Env.Now().Add(50 * 60e9).Format("2006-01-02T15:04:05Z")})
	credsFile := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(credsFile, js, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[profile my-tti-profile]\noutput=json\nregion=us-east-1\ncredential_process=cat %s\n", credsFile)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range ststest.CLIEnv(t, "", "", "", "AWS_ENDPOINT_URL="+sb.URL()) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") && !strings.HasPrefix(kv, "AWS_CONFIG_FILE=") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"))
}

// seed002 is seed 002's Athena usage, verbatim, with a wait between its
// two commands (the seed reads the results at once; a query may still be
// running).
const seed002 = `QUERY_EXECUTION_ID=$(aws athena start-query-execution \
    --query-string "SELECT * FROM db_tip.table_example LIMIT 3" \
    --work-group "tip-workgroup" \
    --profile my-tti-profile \
    --output text \
    --query 'QueryExecutionId')
for i in $(seq 1 600); do
  s=$(aws athena get-query-execution --query-execution-id $QUERY_EXECUTION_ID --profile my-tti-profile --output text --query QueryExecution.Status.State)
  [ "$s" = SUCCEEDED ] && break; [ "$s" = FAILED ] && break; sleep 0.05
done
aws athena get-query-results \
    --query-execution-id $QUERY_EXECUTION_ID \
    --profile my-tti-profile \
    --output text
`

func bash(t *testing.T, env []string, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSeedCommandsWithAWSCLI: seed 002's Athena commands run verbatim
// with the real AWS CLI; alice gets three rows with the supplier column,
// bob the same rows without it (his group's column grant), dave an error.
func TestSeedCommandsWithAWSCLI(t *testing.T) {
	needCLI(t)
	sb := ststest.Sandbox(t, world.DefaultYAML())
	out, err := bash(t, ttiProfile(t, sb, "alice"), seed002)
	if err != nil {
		t.Fatalf("seed 002 as alice: %v\n%s", err, out)
	}
	// --output text prints each row as ROWS followed by DATA lines.
	var data []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "DATA\t") {
			data = append(data, strings.TrimPrefix(line, "DATA\t"))
		}
	}
	if len(data) != 4*5 || data[0] != "id" || data[4] != "supplier" || data[5] != "1" || data[9] != "Acme Components" {
		t.Fatalf("alice's result:\n%s", out)
	}
	bob, err := bash(t, ttiProfile(t, sb, "bob"), seed002)
	if err != nil || strings.Contains(bob, "supplier") || strings.Contains(bob, "Acme") || !strings.Contains(bob, "list_price") {
		t.Fatalf("seed 002 as bob: %v\n%s", err, bob)
	}
	dave, err := bash(t, ttiProfile(t, sb, "dave"), seed002)
	if err == nil || !strings.Contains(dave, "Insufficient Lake Formation permission(s): Required Select on table_example") {
		t.Fatalf("seed 002 as dave: %v\n%s", err, dave)
	}
	// Without identity-enhanced credentials the workgroup refuses the call.
	admin := ststest.CLIEnv(t, "test", "test", "", "AWS_ENDPOINT_URL="+sb.URL())
	res, err := bash(t, admin, `aws athena start-query-execution --query-string "SELECT 1" --work-group tip-workgroup`)
	if err == nil || !strings.Contains(res, "InvalidRequestException") || !strings.Contains(res, "identity-enhanced credentials") {
		t.Fatalf("admin on tip-workgroup: %v\n%s", err, res)
	}
}
