package redshiftdata_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// ttiProfile writes an AWS config whose profile my-tti-profile gets the
// person's identity-enhanced credentials through credential_process, as
// tipctl's generated profiles do, and returns the CLI environment.
func ttiProfile(t *testing.T, sb *sandbox.Sandbox, user string) []string {
	t.Helper()
	creds, err := person(t, sb, user).Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conf := ststest.CredentialProcessConfig(t, sb, "my-tti-profile", creds)
	return ststest.CLIEnv(t, "test", "test", "", "AWS_ENDPOINT_URL="+sb.URL(), "AWS_CONFIG_FILE="+conf)
}

func bash(t *testing.T, env []string, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// seed002 is seed 002's Redshift usage, verbatim, with a wait between its
// two commands (the seed reads the result at once; a statement may still
// be running). The second command has no --profile in the seed: the
// profile comes from AWS_PROFILE.
const seed002 = `STATEMENT_ID=$(aws redshift-data execute-statement \
    --sql "SELECT * FROM sys_query_history" \
    --workgroup-name my-workgroup \
    --database dev \
    --profile my-tti-profile | jq -r ".Id")
for i in $(seq 1 600); do
  s=$(aws redshift-data describe-statement --id $STATEMENT_ID --query Status --output text)
  [ "$s" = FINISHED ] && break; [ "$s" = FAILED ] && break; sleep 0.05
done
aws redshift-data get-statement-result --id $STATEMENT_ID
`

// worldWithoutSQL is the default world with no SQL run in the Redshift
// database yet (the workgroup and the generated sales_data.csv remain).
func worldWithoutSQL(t *testing.T) ([]byte, string) {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(world.DefaultYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	db := doc["redshift"].(map[string]any)["workgroups"].([]any)[0].(map[string]any)["databases"].([]any)[0].(map[string]any)
	sql := db["sql"].(string)
	delete(db, "sql")
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out, sql
}

// TestSeedCommandsWithAWSCLI: seed 003's administrator SQL runs unchanged
// through `aws redshift-data` against a world without it, and alice's
// view changes from no table to Europe's rows; seed 002's command shows
// her her own statements in sys_query_history.
func TestSeedCommandsWithAWSCLI(t *testing.T) {
	ststest.NeedTools(t, "aws", "jq")
	yml, script := worldWithoutSQL(t)
	sb := ststest.Sandbox(t, yml)
	alice := ttiProfile(t, sb, "alice")
	admin := ststest.CLIEnv(t, "test", "test", "", "AWS_ENDPOINT_URL="+sb.URL())

	query := `ID=$(aws redshift-data execute-statement --sql "SELECT DISTINCT timezone FROM public.sales_data" --workgroup-name my-workgroup --database dev --profile my-tti-profile --query Id --output text)
for i in $(seq 1 600); do s=$(aws redshift-data describe-statement --id $ID --profile my-tti-profile --query Status --output text); [ "$s" = FINISHED ] || [ "$s" = FAILED ] && break; sleep 0.05; done
aws redshift-data describe-statement --id $ID --profile my-tti-profile --query '[Status, Error]' --output text
[ "$s" = FINISHED ] && aws redshift-data get-statement-result --id $ID --profile my-tti-profile --query 'Records[*][0].stringValue' --output text || true`
	before, err := bash(t, alice, query)
	if err != nil || !strings.Contains(before, `FAILED	ERROR: relation "sales_data" does not exist`) {
		t.Fatalf("before the administrator's SQL: %v\n%s", err, before)
	}

	// The administrator runs the seed's statements, each as written.
	toks, err := sqlengine.Lex(script)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"redshift-data", "batch-execute-statement", "--workgroup-name", "redshift-tip-enabled", "--database", "dev", "--query", "Id", "--output", "text", "--sqls"}
	start := -1
	for i, tk := range toks {
		if start < 0 {
			start = tk.Pos
		}
		if tk.Kind == sqlengine.Semi || i == len(toks)-1 {
			end := tk.Pos
			if tk.Kind != sqlengine.Semi {
				end = len(script)
			}
			args = append(args, strings.TrimSpace(script[start:end]))
			start = -1
		}
	}
	cmd := exec.Command("aws", args...)
	cmd.Env = admin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("batch-execute-statement: %v\n%s", err, out)
	}
	id := strings.TrimSpace(string(out))
	status, err := bash(t, admin, `for i in $(seq 1 600); do s=$(aws redshift-data describe-statement --id `+id+` --query Status --output text); [ "$s" = FINISHED ] || [ "$s" = FAILED ] && break; sleep 0.05; done
aws redshift-data describe-statement --id `+id+` --query '[Status, Error, length(SubStatements)]' --output text`)
	if err != nil || !strings.HasPrefix(status, "FINISHED") {
		t.Fatalf("the seed's SQL: %v\n%s", err, status)
	}

	after, err := bash(t, alice, query)
	if err != nil || !strings.Contains(after, "FINISHED") {
		t.Fatalf("after: %v\n%s", err, after)
	}
	zones := strings.Fields(after)[2:]
	if len(zones) == 0 {
		t.Fatalf("alice sees nothing: %s", after)
	}
	for _, z := range zones {
		if !strings.HasPrefix(z, "Europe/") {
			t.Fatalf("alice sees %s after the seed's SQL:\n%s", z, after)
		}
	}

	// Seed 002's command: sys_query_history holds her own statements only.
	var profileOnly []string
	for _, kv := range alice {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			profileOnly = append(profileOnly, kv)
		}
	}
	hist, err := bash(t, append(profileOnly, "AWS_PROFILE=my-tti-profile"), seed002)
	if err != nil {
		t.Fatalf("seed 002: %v\n%s", err, hist)
	}
	var res struct {
		ColumnMetadata []struct{ Name string }
		Records        [][]map[string]any
		TotalNumRows   int
	}
	if err := json.Unmarshal([]byte(hist), &res); err != nil {
		t.Fatalf("%v\n%s", err, hist)
	}
	if res.TotalNumRows < 2 {
		t.Fatalf("history: %s", hist)
	}
	for _, r := range res.Records {
		if u := r[1]["stringValue"]; u != "AWSIDC:alice" {
			t.Fatalf("alice sees a statement of %v", u)
		}
	}
}
