package qbusiness_test

import (
	"context"
	"encoding/json"
	"os/exec"
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
	ststest.NeedTools(t, "aws")
	sb := ststest.Sandbox(t, world.DefaultYAML())
	creds, err := session(t, sb, "alice").Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conf := ststest.CredentialProcessConfig(t, sb, "my-tti-profile", creds)
	var env []string // no keys in the environment: they would win over the profile
	for _, kv := range ststest.CLIEnv(t, "", "", "", "AWS_ENDPOINT_URL="+sb.URL()) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+conf, "AWS_PROFILE=my-tti-profile")
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
