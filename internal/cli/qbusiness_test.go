package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestQBusinessChat: `tipctl qbusiness chat` after a real login answers
// each person from their documents, continues a conversation, and keeps
// another person out of it.
func TestQBusinessChat(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	home(t)
	const appID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
	type answer struct {
		ConversationID string `json:"conversation_id"`
		Answer         string `json:"answer"`
		Sources        []struct {
			DocumentID string `json:"document_id"`
		} `json:"sources"`
	}
	ask := func(email, password string, args ...string) (answer, string, int) {
		t.Helper()
		s3agLogin(t, sb.URL(), "default", email, password)
		out, stderr, code := run(t, append([]string{"qbusiness", "chat", "--application-id", appID, "-o", "json"}, args...)...)
		var a answer
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &a); err != nil {
				t.Fatalf("%s: %v %q", email, err, out)
			}
		}
		return a, stderr, code
	}
	a, stderr, code := ask("alice@example.com", "alice-sandbox-pw", "What is the discount policy?")
	if code != 0 || len(a.Sources) == 0 || a.Sources[0].DocumentID != "emea-discount-policy" || !strings.Contains(a.Answer, "12 percent") {
		t.Fatalf("alice: %d %s %+v", code, stderr, a)
	}
	b, stderr, code := ask("bob@example.com", "bob-sandbox-pw", "What is the discount policy?")
	if code != 0 || len(b.Sources) == 0 || b.Sources[0].DocumentID != "apac-discount-policy" {
		t.Fatalf("bob: %d %s %+v", code, stderr, b)
	}
	for _, s := range b.Sources {
		if strings.HasPrefix(s.DocumentID, "emea-") || strings.HasPrefix(s.DocumentID, "exec-") {
			t.Errorf("bob cites %s", s.DocumentID)
		}
	}
	// bob cannot continue alice's conversation.
	if _, stderr, code := ask("bob@example.com", "bob-sandbox-pw", "--conversation-id", a.ConversationID, "And the quota?"); code != ExitAWS || !strings.Contains(stderr, "not found") {
		t.Fatalf("bob continues alice's conversation: %d %q", code, stderr)
	}
	// alice continues hers; the table output names the sources.
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")
	out, stderr, code := run(t, "qbusiness", "chat", "--application-id", appID, "--conversation-id", a.ConversationID, "How much do quotas rise?")
	if code != 0 || !strings.Contains(out, "Sources:") || !strings.Contains(out, "(emea-quota)") || !strings.Contains(out, "Conversation: "+a.ConversationID) {
		t.Fatalf("alice continues: %d %q %q", code, out, stderr)
	}
	if _, stderr, code := run(t, "qbusiness", "chat", "What?"); code != ExitUsage || !strings.Contains(stderr, "--application-id") {
		t.Fatalf("no application id: %d %q", code, stderr)
	}
}
