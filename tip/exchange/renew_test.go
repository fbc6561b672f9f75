package exchange_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/exchange"
)

// The Provider renews with Identity Center's refresh token: after the
// first exchange, IDToken is not asked again and no new bridge session is
// made; each renewal is 2 calls (CreateTokenWithIAM refresh_token grant,
// AssumeRole) and still carries the person.
func TestProviderRenewsWithRefreshToken(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	asked := 0
	p := exchange.NewProvider(exchange.Config{
		AWS:             aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
		IDToken: func(ctx context.Context) (string, error) {
			asked++
			return passwordLogin(sb.URL(), "alice@example.com", "alice-sandbox-pw")
		},
	})
	for i := range 3 {
		creds, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s, ok := sb.Env.Registry.Resolve(creds.AccessKeyID, creds.SessionToken)
		if !ok || s.Context == nil || s.Context.UserName != "alice" {
			t.Fatalf("retrieve %d: session %+v", i, s)
		}
		if res := p.Last(); i > 0 && (!res.Renewed || res.RoundTrips != 2) {
			t.Fatalf("retrieve %d: renewed %v in %d calls", i, res.Renewed, res.RoundTrips)
		}
	}
	if asked != 1 || sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") != 1 {
		t.Fatalf("IDToken asked %d times, AssumeRoleWithWebIdentity %d", asked, sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"))
	}
}
