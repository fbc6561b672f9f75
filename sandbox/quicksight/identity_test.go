package quicksight_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
)

func getContext(c *qs.Client, in *qs.GetIdentityContextInput) (*qs.GetIdentityContextOutput, error) {
	in.AwsAccountId = aws.String(account)
	return c.GetIdentityContext(context.Background(), in)
}

func TestGetIdentityContext(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := admin(sb)
	now := sb.Env.Now()

	t.Run("by user name, expiry honoured", func(t *testing.T) {
		exp := now.Add(2 * time.Hour).Truncate(time.Second)
		out, err := getContext(c, &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "carol"},
			Namespace: aws.String("default"), SessionExpiresAt: aws.Time(exp), ContextRegion: aws.String("eu-west-1")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.Status) != 200 || aws.ToString(out.RequestId) == "" {
			t.Fatalf("Status %d RequestId %q", aws.ToInt32(out.Status), aws.ToString(out.RequestId))
		}
		ctx, err := sb.Env.Sealer.OpenContext(*out.Context, auth.QuickSightProvider, sb.Env.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !ctx.ExpiresAt.Equal(exp) || ctx.UserName != "carol" || ctx.Email != "carol@example.com" ||
			ctx.Namespace != "default" || len(ctx.Groups) != 1 || ctx.Groups[0].Name != "exec-global" {
			t.Fatalf("context %+v", ctx)
		}
		// A QuickSight context is not an Identity Center one.
		if _, err := sb.Env.Sealer.OpenContext(*out.Context, auth.IdentityCenterProvider, sb.Env.Now()); err == nil {
			t.Fatal("the context opened for the Identity Center provider")
		}
	})
	t.Run("by ARN, IAM-federated user with a slash in its name", func(t *testing.T) {
		arn := "arn:aws:quicksight:us-east-1:123456789012:user/default/tip-enhanced/bob@example.com"
		out, err := getContext(c, &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserArn{Value: arn}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := sb.Env.Sealer.OpenContext(*out.Context, auth.QuickSightProvider, sb.Env.Now())
		if err != nil || ctx.QuickSightUserArn != arn {
			t.Fatalf("context %+v %v", ctx, err)
		}
		if d := ctx.ExpiresAt.Sub(sb.Env.Now()); d < 59*time.Minute || d > time.Hour {
			t.Fatalf("default lifetime %v", d)
		}
	})

	bad := []struct {
		name   string
		in     *qs.GetIdentityContextInput
		code   string
		status int
	}{
		{"unknown email", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberEmail{Value: "zed@example.com"}, Namespace: aws.String("default")}, "ResourceNotFoundException", 404},
		{"unknown user name", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "zed"}, Namespace: aws.String("default")}, "ResourceNotFoundException", 404},
		{"unknown namespace", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberEmail{Value: "alice@example.com"}, Namespace: aws.String("partners")}, "ResourceNotFoundException", 404},
		{"email without namespace", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberEmail{Value: "alice@example.com"}}, "InvalidParameterValueException", 400},
		{"user name without namespace", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}}, "InvalidParameterValueException", 400},
		{"identity center user", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberEmail{Value: "erin@example.com"}, Namespace: aws.String("default")}, "PreconditionNotMetException", 400},
		{"expiry in the past", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}, Namespace: aws.String("default"), SessionExpiresAt: aws.Time(now.Add(-time.Minute))}, "InvalidParameterValueException", 400},
		{"expiry beyond 12h", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}, Namespace: aws.String("default"), SessionExpiresAt: aws.Time(now.Add(13 * time.Hour))}, "InvalidParameterValueException", 400},
		{"bad ARN", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserArn{Value: "arn:aws:iam::123456789012:user/alice"}}, "InvalidParameterValueException", 400},
		{"ARN in another namespace", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserArn{Value: "arn:aws:quicksight:us-east-1:123456789012:user/default/alice"}, Namespace: aws.String("other")}, "InvalidParameterValueException", 400},
		{"cross-partition region", &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}, Namespace: aws.String("default"), ContextRegion: aws.String("cn-north-1")}, "InvalidParameterValueException", 400},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, err := getContext(c, b.in)
			wantAPIError(t, err, b.code, b.status)
		})
	}
	t.Run("identity center refusal explains", func(t *testing.T) {
		_, err := getContext(c, &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "erin"}, Namespace: aws.String("default")})
		if err == nil || !strings.Contains(err.Error(), "Identity Center") || !strings.Contains(err.Error(), "CreateTokenWithIAM") {
			t.Fatalf("refusal: %v", err)
		}
	})
	t.Run("identity-enhanced caller", func(t *testing.T) {
		_, err := getContext(clientFor(sb, quickSightSession(t, sb, "alice@example.com")),
			&qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "bob"}, Namespace: aws.String("default")})
		wantAPIError(t, err, "AccessDeniedException", 401)
	})
	t.Run("caller without quicksight:GetIdentityContext", func(t *testing.T) {
		p := session(t, sb, "tip-no-setcontext", nil)
		_, err := getContext(clientFor(sb, p), &qs.GetIdentityContextInput{UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}, Namespace: aws.String("default")})
		wantAPIError(t, err, "AccessDeniedException", 401)
	})
	t.Run("wrong account", func(t *testing.T) {
		_, err := c.GetIdentityContext(context.Background(), &qs.GetIdentityContextInput{AwsAccountId: aws.String("210987654321"),
			UserIdentifier: &types.UserIdentifierMemberUserName{Value: "alice"}, Namespace: aws.String("default")})
		wantAPIError(t, err, "AccessDeniedException", 401)
	})
}

// rawCall signs and sends a request the SDK cannot make (a union with two
// members) as the administrator, and returns the status, error type and body.
func rawCall(t *testing.T, sb *sandbox.Sandbox, method, path string, body []byte) (int, string, map[string]any) {
	t.Helper()
	return signedCall(t, sb, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, time.Now(), method, path, body)
}

// signedCall sends a request signed with creds at time at (the sandbox clock
// when it has been advanced).
func signedCall(t *testing.T, sb *sandbox.Sandbox, creds aws.Credentials, at time.Time, method, path string, body []byte) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, sb.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "quicksight", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func TestGetIdentityContextWireShape(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	status, typ, body := rawCall(t, sb, "POST", "/accounts/123456789012/identity-context",
		[]byte(`{"UserIdentifier":{"UserName":"alice","Email":"alice@example.com"},"Namespace":"default"}`))
	if status != 400 || typ != "InvalidParameterValueException" || body["Message"] == "" || body["RequestId"] == "" {
		t.Fatalf("two identifiers: %d %s %v", status, typ, body)
	}
	status, typ, body = rawCall(t, sb, "POST", "/accounts/123456789012/identity-context",
		[]byte(`{"UserIdentifier":{"UserName":"alice"},"Namespace":"default","SessionExpiresAt":`+
			jsonNumber(time.Now().Add(30*time.Minute).Unix())+`}`))
	if status != 200 || typ != "" || body["Context"] == nil || body["RequestId"] == nil || body["Status"] != float64(200) {
		t.Fatalf("reply: %d %s %v", status, typ, body)
	}
	status, typ, _ = rawCall(t, sb, "POST", "/accounts/123456789012/identity-context", []byte(`{"Namespace":"default"}`))
	if status != 400 || typ != "InvalidParameterValueException" {
		t.Fatalf("no identifier: %d %s", status, typ)
	}
	status, typ, _ = rawCall(t, sb, "POST", "/accounts/123456789012/identity-context", []byte(`{"UserIdentifier":`))
	if status != 400 || typ != "InvalidParameterValueException" {
		t.Fatalf("malformed JSON: %d %s", status, typ)
	}
	// Unsigned requests are refused, the server keeps serving.
	resp, err := http.Post(sb.URL()+"/accounts/123456789012/identity-context", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	if got := sb.Env.Stats.Get("quicksight:GetIdentityContext"); got != 5 {
		t.Fatalf("quicksight:GetIdentityContext counted %d times, want 5", got)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
