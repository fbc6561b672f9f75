package qbusiness_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qb "github.com/aws/aws-sdk-go-v2/service/qbusiness"
	qbtypes "github.com/aws/aws-sdk-go-v2/service/qbusiness/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/qbusiness"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

const appID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

// session issues a tip-enhanced role session; with user set it carries
// that Identity Center user's context and groups from the world, as
// sts:AssumeRole with an IdentityCenter provided context makes it.
func session(t testing.TB, sb *sandbox.Sandbox, user string) aws.CredentialsProvider {
	t.Helper()
	role, ok := sb.Env.IAM.RoleByName("tip-enhanced")
	if !ok {
		t.Fatal("the world has no role tip-enhanced")
	}
	name := user
	if name == "" {
		name = "plain"
	}
	p := &auth.Principal{AccountID: sb.Env.World.AccountID, Arn: "arn:aws:sts::" + sb.Env.World.AccountID + ":assumed-role/tip-enhanced/" + name,
		UserID: role.RoleID + ":" + name, RoleArn: role.Arn, RoleName: role.Name, SessionName: name, Policies: role.Policies}
	if user != "" {
		ic := sb.Env.World.IdentityCenter
		ctx := &auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserName: user, InstanceArn: ic.InstanceArn,
			IdentityStoreID: ic.IdentityStoreID, ExpiresAt: sb.Env.Now().Add(time.Hour)}
		for _, u := range ic.Users {
			if u.UserName == user {
				ctx.UserID, ctx.Email = u.UserID, u.Email
			}
		}
		if ctx.UserID == "" {
			t.Fatalf("%s is not an Identity Center user", user)
		}
		for _, g := range ic.Groups {
			for _, m := range g.Members {
				if m == user {
					ctx.Groups = append(ctx.Groups, auth.Group{ID: g.GroupID, Name: g.Name})
				}
			}
		}
		p.Context = ctx
	}
	p = sb.Env.Registry.IssueSession(p, sb.Env.Now().Add(time.Hour))
	return ststest.Static(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
}

func client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *qb.Client {
	return qb.NewFromConfig(ststest.Config(sb, creds))
}

func chat(t testing.TB, c *qb.Client, question string, conv *string) *qb.ChatSyncOutput {
	t.Helper()
	out, err := c.ChatSync(context.Background(), &qb.ChatSyncInput{ApplicationId: aws.String(appID),
		UserMessage: aws.String(question), ChatMode: qbtypes.ChatModeRetrievalMode, ConversationId: conv})
	if err != nil {
		t.Fatalf("ChatSync %q: %v", question, err)
	}
	return out
}

// permitted is the set of documents the world's ACLs give a user,
// computed from the world (users and group memberships).
func permitted(sb *sandbox.Sandbox, user string) map[string]bool {
	groups := map[string]bool{}
	for _, g := range sb.Env.World.IdentityCenter.Groups {
		for _, m := range g.Members {
			if m == user {
				groups[g.Name] = true
			}
		}
	}
	out := map[string]bool{}
	for _, d := range sb.Env.World.QBusiness.Applications[0].Documents {
		ok := false
		for _, u := range d.Users {
			ok = ok || u == user
		}
		for _, g := range d.Groups {
			ok = ok || groups[g]
		}
		if ok {
			out[d.ID] = true
		}
	}
	return out
}

// checkRetrieved: every cited document is permitted, and the answer is
// exactly the cited passages' text at their segments (nothing invented).
func checkRetrieved(t *testing.T, user string, out *qb.ChatSyncOutput, allowed map[string]bool) {
	t.Helper()
	answer := aws.ToString(out.SystemMessage)
	var rebuilt []string
	for _, s := range out.SourceAttributions {
		id := aws.ToString(s.DocumentId)
		if !allowed[id] {
			t.Errorf("%s: cites %s, which the ACLs do not give them", user, id)
		}
		if len(s.TextMessageSegments) != 1 {
			t.Fatalf("%s: %s has %d segments", user, id, len(s.TextMessageSegments))
		}
		seg := s.TextMessageSegments[0]
		b, e := int(aws.ToInt32(seg.BeginOffset)), int(aws.ToInt32(seg.EndOffset))
		if b < 0 || e > len(answer) || b > e || answer[b:e] != aws.ToString(s.Snippet) {
			t.Errorf("%s: segment [%d,%d) of the answer is not the snippet of %s", user, b, e, id)
		}
		rebuilt = append(rebuilt, aws.ToString(s.Snippet))
	}
	if len(rebuilt) > 0 && strings.Join(rebuilt, "\n\n") != answer {
		t.Errorf("%s: the answer %q is not made of the cited passages", user, answer)
	}
}

func cited(out *qb.ChatSyncOutput) []string {
	var ids []string
	for _, s := range out.SourceAttributions {
		ids = append(ids, aws.ToString(s.DocumentId))
	}
	return ids
}

// TestPeopleGetAnswersFromTheirDocuments: the same questions, asked by
// alice, bob and carol, are answered from the documents their Identity
// Center user and groups may see.
func TestPeopleGetAnswersFromTheirDocuments(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	questions := []string{"What is the discount policy?", "How big is the Q3 pipeline?", "How much do quotas rise next year?",
		"What did the board approve about the merger?", "How do I file expenses?", "What does my performance review say?"}
	for _, tc := range []struct {
		user, question, wantDoc string
	}{
		{"alice", "What is the EMEA discount policy?", "emea-discount-policy"},
		{"bob", "What is the APAC discount policy?", "apac-discount-policy"},
		{"carol", "What did the board approve about the merger?", "exec-board-deck"},
		{"alice", "Where is the President's Club trip?", "alice-review"},
	} {
		c := client(sb, session(t, sb, tc.user))
		allowed := permitted(sb, tc.user)
		out := chat(t, c, tc.question, nil)
		checkRetrieved(t, tc.user, out, allowed)
		if ids := cited(out); len(ids) == 0 || ids[0] != tc.wantDoc {
			t.Errorf("%s %q: cites %v, want %s first", tc.user, tc.question, ids, tc.wantDoc)
		}
		for _, q := range questions {
			checkRetrieved(t, tc.user, chat(t, c, q, nil), allowed)
		}
	}
	// The discount question reaches a different document for each region.
	a := cited(chat(t, client(sb, session(t, sb, "alice")), "What is the discount policy?", nil))
	b := cited(chat(t, client(sb, session(t, sb, "bob")), "What is the discount policy?", nil))
	if len(a) == 0 || len(b) == 0 || a[0] != "emea-discount-policy" || b[0] != "apac-discount-policy" {
		t.Errorf("discount policy: alice cites %v, bob %v", a, b)
	}
}

// TestForbiddenOnlyQuestionGetsNoAnswer: a question only a document
// alice may not see answers gets the "no answer" reply, no sources, and
// bob (who may see it) gets it.
func TestForbiddenOnlyQuestionGetsNoAnswer(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	q := "When is the Tokyo distributor rebate paid?"
	out := chat(t, client(sb, session(t, sb, "alice")), q, nil)
	if aws.ToString(out.SystemMessage) != qbusiness.NoAnswer || len(out.SourceAttributions) != 0 {
		t.Fatalf("alice: %q with %v, want the no-answer reply and no sources", aws.ToString(out.SystemMessage), cited(out))
	}
	out = chat(t, client(sb, session(t, sb, "bob")), q, nil)
	if ids := cited(out); len(ids) == 0 || ids[0] != "apac-distributor-rebate" || !strings.Contains(aws.ToString(out.SystemMessage), "April") {
		t.Fatalf("bob: %q citing %v", aws.ToString(out.SystemMessage), ids)
	}
	// carol's exec documents never reach alice, whatever she asks.
	out = chat(t, client(sb, session(t, sb, "alice")), "Which companies are on the acquisition shortlist?", nil)
	if aws.ToString(out.SystemMessage) != qbusiness.NoAnswer {
		t.Fatalf("alice asked about acquisitions: %q citing %v", aws.ToString(out.SystemMessage), cited(out))
	}
}

func wantCode(t *testing.T, what string, err error, target any) {
	t.Helper()
	if err == nil || !errors.As(err, target) {
		t.Fatalf("%s: got %v, want %T", what, err, target)
	}
}

// TestConversationsAreThePersonsOwn: another person's conversation cannot
// be listed, read, continued or deleted.
func TestConversationsAreThePersonsOwn(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	ctx := context.Background()
	alice, bob := client(sb, session(t, sb, "alice")), client(sb, session(t, sb, "bob"))
	first := chat(t, alice, "What is the EMEA discount policy?", nil)
	conv := first.ConversationId
	second := chat(t, alice, "And the quota plan?", conv)
	if aws.ToString(second.ConversationId) != aws.ToString(conv) {
		t.Fatalf("continuing gave conversation %s, want %s", aws.ToString(second.ConversationId), aws.ToString(conv))
	}
	msgs, err := alice.ListMessages(ctx, &qb.ListMessagesInput{ApplicationId: aws.String(appID), ConversationId: conv})
	if err != nil || len(msgs.Messages) != 4 {
		t.Fatalf("alice ListMessages: %v, %d messages", err, len(msgs.Messages))
	}
	if m := msgs.Messages[0]; m.Type != qbtypes.MessageTypeSystem || aws.ToString(m.Body) != aws.ToString(second.SystemMessage) {
		t.Errorf("newest message: %s %q", m.Type, aws.ToString(m.Body))
	}
	list, err := bob.ListConversations(ctx, &qb.ListConversationsInput{ApplicationId: aws.String(appID)})
	if err != nil || len(list.Conversations) != 0 {
		t.Fatalf("bob ListConversations: %v, %d conversations", err, len(list.Conversations))
	}
	var nf *qbtypes.ResourceNotFoundException
	_, err = bob.ListMessages(ctx, &qb.ListMessagesInput{ApplicationId: aws.String(appID), ConversationId: conv})
	wantCode(t, "bob reads alice's conversation", err, &nf)
	_, err = bob.ChatSync(ctx, &qb.ChatSyncInput{ApplicationId: aws.String(appID), UserMessage: aws.String("What is the quota plan?"), ConversationId: conv})
	wantCode(t, "bob continues alice's conversation", err, &nf)
	_, err = bob.DeleteConversation(ctx, &qb.DeleteConversationInput{ApplicationId: aws.String(appID), ConversationId: conv})
	wantCode(t, "bob deletes alice's conversation", err, &nf)

	list, err = alice.ListConversations(ctx, &qb.ListConversationsInput{ApplicationId: aws.String(appID)})
	if err != nil || len(list.Conversations) != 1 || aws.ToString(list.Conversations[0].ConversationId) != aws.ToString(conv) {
		t.Fatalf("alice ListConversations: %v %+v", err, list)
	}
	if _, err := alice.DeleteConversation(ctx, &qb.DeleteConversationInput{ApplicationId: aws.String(appID), ConversationId: conv}); err != nil {
		t.Fatalf("alice deletes her conversation: %v", err)
	}
	_, err = alice.ListMessages(ctx, &qb.ListMessagesInput{ApplicationId: aws.String(appID), ConversationId: conv})
	wantCode(t, "alice reads her deleted conversation", err, &nf)
}

// TestIdentityAwareCredentialsRequired: dave has no Identity Center user,
// so he can only have a plain role session; neither it nor the
// administrator's keys may chat, while the application itself is visible
// to the administrator.
func TestIdentityAwareCredentialsRequired(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	ctx := context.Background()
	in := &qb.ChatSyncInput{ApplicationId: aws.String(appID), UserMessage: aws.String("What is the discount policy?")}
	var denied *qbtypes.AccessDeniedException
	_, err := client(sb, session(t, sb, "")).ChatSync(ctx, in)
	wantCode(t, "plain role session", err, &denied)
	admin := client(sb, ststest.Admin())
	_, err = admin.ChatSync(ctx, in)
	wantCode(t, "admin keys", err, &denied)
	if !strings.Contains(aws.ToString(denied.Message), "identity-aware") {
		t.Errorf("admin ChatSync message %q does not say identity-aware credentials are needed", aws.ToString(denied.Message))
	}
	_, err = admin.ListConversations(ctx, &qb.ListConversationsInput{ApplicationId: aws.String(appID)})
	wantCode(t, "admin ListConversations", err, &denied)

	apps, err := admin.ListApplications(ctx, &qb.ListApplicationsInput{})
	if err != nil || len(apps.Applications) != 1 || aws.ToString(apps.Applications[0].ApplicationId) != appID {
		t.Fatalf("ListApplications: %v %+v", err, apps)
	}
	app, err := admin.GetApplication(ctx, &qb.GetApplicationInput{ApplicationId: aws.String(appID)})
	if err != nil || !strings.HasSuffix(aws.ToString(app.ApplicationArn), ":application/"+appID) || app.IdentityType != qbtypes.IdentityTypeAwsIamIdc {
		t.Fatalf("GetApplication: %v %+v", err, app)
	}
	var nf *qbtypes.ResourceNotFoundException
	_, err = admin.GetApplication(ctx, &qb.GetApplicationInput{ApplicationId: aws.String(fmt.Sprintf("%036d", 7))})
	wantCode(t, "unknown application", err, &nf)

	// Stats and CloudTrail name the operations, with the refusals' codes.
	if n := sb.Env.Stats.Get("qbusiness:ChatSync"); n != 2 {
		t.Errorf("stats qbusiness:ChatSync = %d, want 2", n)
	}
	denials := 0
	for _, ev := range sb.Trail.Events() {
		if ev.Summary.EventSource == "qbusiness.amazonaws.com" && ev.Summary.EventName == "ChatSync" && ev.Summary.ErrorCode == "AccessDeniedException" {
			denials++
		}
	}
	if denials != 2 {
		t.Errorf("CloudTrail has %d denied ChatSync events, want 2", denials)
	}
}
