package qbusiness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/qbusiness"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestSeedCommandsWithAWSCLI runs seed 002's Q Business commands verbatim
// with the real AWS CLI and a credential_process profile holding alice's
// identity-enhanced credentials (chat-sync has no --profile in the seed:
// the profile comes from AWS_PROFILE).
func TestSeedCommandsWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the AWS CLI (aws) is not installed")
		}
		t.Skip("the AWS CLI (aws) is not installed; install it to run this test")
	}
	sb := ststest.Sandbox(t, world.DefaultYAML())
	creds, err := session(t, sb, "alice").Retrieve(context.Background())
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
	conf := fmt.Sprintf("[profile my-tti-profile]\nregion = us-east-1\ncredential_process = cat %s\n", credsFile)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string // no keys in the environment: they would win over the profile
	for _, kv := range ststest.CLIEnv(t, "", "", "", "AWS_ENDPOINT_URL="+sb.URL()) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_PROFILE=my-tti-profile")
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var chat struct {
		ConversationID     string `json:"conversationId"`
		SystemMessage      string `json:"systemMessage"`
		SourceAttributions []any  `json:"sourceAttributions"`
	}
	out := aws("qbusiness", "chat-sync", "--application-id", appID, "--chat-mode", "RETRIEVAL_MODE", "--user-message", "What is Amazon Q business?")
	if err := json.Unmarshal([]byte(out), &chat); err != nil {
		t.Fatalf("chat-sync output: %v\n%s", err, out)
	}
	// No document alice may see is about Amazon Q Business itself.
	if chat.ConversationID == "" || chat.SystemMessage != qbusiness.NoAnswer || len(chat.SourceAttributions) != 0 {
		t.Fatalf("chat-sync: %s", out)
	}
	out = aws("qbusiness", "chat-sync", "--application-id", appID, "--chat-mode", "RETRIEVAL_MODE", "--user-message", "What is the EMEA discount policy?",
		"--conversation-id", chat.ConversationID)
	if !strings.Contains(out, `"documentId": "emea-discount-policy"`) {
		t.Fatalf("chat-sync in the conversation: %s", out)
	}
	out = aws("qbusiness", "list-conversations", "--application-id", appID, "--profile", "my-tti-profile")
	if !strings.Contains(out, chat.ConversationID) || strings.Count(out, `"conversationId"`) != 1 {
		t.Fatalf("list-conversations: %s", out)
	}
}
