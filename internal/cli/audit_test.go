package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func auditEnv(t *testing.T, akid, secret, token string) {
	t.Helper()
	home(t)
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", akid)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
}

func TestAuditListsTheRefusedReadWithItsReason(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", "s3://analytics-data/emea/", "s3://analytics-data/apac/")
	cttest.PersonDay(t, sb, "bob@example.com", "bob-sandbox-pw", "s3://analytics-data/apac/", "s3://analytics-data/emea/")
	auditEnv(t, "test", "test", "")

	out, errOut, code := run(t, "audit", "--user", "alice@example.com", "--denied", "--endpoint-url", sb.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("want a header and alice's one refusal:\n%s", out)
	}
	row := lines[1]
	for _, want := range []string{"alice@example.com", "tip-enhanced", "s3:GetDataAccess", "s3://analytics-data/apac/*", "DENIED AccessDenied", "no access grant"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %s", want, row)
		}
	}
	if strings.Contains(out, "bob@example.com") {
		t.Fatalf("bob's refusal leaked into alice's audit:\n%s", out)
	}

	if n := sb.Env.Stats.Get("identitystore:DescribeUser"); n != 2 {
		t.Fatalf("DescribeUser called %d times for two people, want 2 (cached)", n)
	}
	sb.Env.Stats.Reset()

	// JSON: every alice call resolved to her through DescribeUser, by id too.
	out, errOut, code = run(t, "audit", "--user-id", day.UserID, "--service", "s3", "--endpoint-url", sb.URL(), "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var actions []string
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var e struct {
			Person, Action, Layout string
			Allowed                bool
		}
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		if e.Person != "alice@example.com" || e.Layout != "identity-enhanced" {
			t.Fatalf("entry %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "s3:GetDataAccess,s3:GetObject,s3:ListObjectsV2,s3:GetDataAccess" {
		t.Fatalf("alice's S3 calls newest first: %s", got)
	}
	if n := sb.Env.Stats.Get("identitystore:DescribeUser"); n != 1 {
		t.Fatalf("DescribeUser called %d times for alice's events, want 1 (cached)", n)
	}
}

func TestAuditMissingPermissionIsOneLine(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", "s3://analytics-data/emea/", "s3://analytics-data/apac/")
	c := day.Enhanced
	auditEnv(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	out, errOut, code := run(t, "audit", "--endpoint-url", sb.URL())
	if code != ExitAWS || out != "" || !strings.Contains(errOut, "missing permission cloudtrail:LookupEvents") ||
		strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errOut)
	}
	_, errOut, code = run(t, "audit", "--since", "soon")
	if code != ExitUsage || !strings.Contains(errOut, "--since") {
		t.Fatalf("bad --since: exit %d %s", code, errOut)
	}
}

func TestAuditFollowPrintsNewEvents(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	auditEnv(t, "test", "test", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv}
		done <- Run(ctx, app, []string{"audit", "--follow", "--interval", "1s", "--denied", "--endpoint-url", sb.URL()})
	}()
	// Events made after the command started are printed as they come.
	cttest.PersonDay(t, sb, "bob@example.com", "bob-sandbox-pw", "s3://analytics-data/apac/", "s3://analytics-data/emea/")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "bob@example.com") {
		if time.Now().After(deadline) {
			t.Fatalf("--follow never printed bob's refusal; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("--follow ended with %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("--follow did not stop when interrupted")
	}
	if n := strings.Count(out.String(), "bob@example.com"); n != 1 {
		t.Fatalf("bob's refusal printed %d times:\n%s", n, out.String())
	}
}
