package exchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/exchange"
)

func chain(t *testing.T, sb *sandbox.Sandbox, email, password, enhanced string) (*exchange.Result, error) {
	t.Helper()
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	if enhanced == "" {
		enhanced = roles["enhanced"].(string)
	}
	return exchange.Run(context.Background(), exchange.Config{
		AWS:             aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: enhanced,
		IDToken: func(ctx context.Context) (string, error) {
			return passwordLogin(sb.URL(), email, password)
		},
	})
}

func TestChainCarriesThePerson(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	res, err := chain(t, sb, "alice@example.com", "alice-sandbox-pw", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.RoundTrips != 3 {
		t.Fatalf("round trips = %d, want 3", res.RoundTrips)
	}
	p, ok := sb.Env.Registry.Resolve(res.Credentials.AccessKeyID, res.Credentials.SessionToken)
	if !ok || p.Context == nil {
		t.Fatal("the session is not identity-enhanced in the sandbox")
	}
	if p.Context.UserName != "alice" || p.Context.UserID != res.User.UserID {
		t.Fatalf("session carries %q/%q, reply said %q", p.Context.UserName, p.Context.UserID, res.User.UserID)
	}
	if got := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); got != 1 {
		t.Fatalf("CreateTokenWithIAM calls = %d", got)
	}
}

func TestChainFailuresNameTheStep(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	noSetContext := sb.Info()["roles"].(map[string]any)["no_set_context"].(string)
	cases := []struct {
		name, email, password, role string
		step                        int
		code                        string
	}{
		{"dave is not in Identity Center", "dave@example.com", "dave-sandbox-pw", "", 2, "InvalidGrantException"},
		{"role without sts:SetContext", "alice@example.com", "alice-sandbox-pw", noSetContext, 3, "AccessDenied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := chain(t, sb, c.email, c.password, c.role)
			var se *exchange.StepError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a StepError", err)
			}
			if se.Step != c.step || se.Code != c.code || se.Hint == "" {
				t.Fatalf("got step %d code %q hint %q, want step %d code %q", se.Step, se.Code, se.Hint, c.step, c.code)
			}
		})
	}
}
