package exchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/exchange"
)

// loseFirstAnswer forwards every request to the sandbox but, for the first
// CreateTokenWithIAM, throws the sandbox's answer away and reports a reset
// connection: the request was processed (the assertion is spent) and the
// client cannot know it, as when a connection drops on a busy machine.
type loseFirstAnswer struct {
	mu         sync.Mutex
	lost       bool
	assertions []string
}

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/token" || r.URL.Query().Get("aws_iam") != "t" {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body.Close()
	var in struct {
		Assertion string `json:"assertion"`
	}
	_ = json.Unmarshal(body, &in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.assertions = append(l.assertions, in.Assertion)
	if !l.lost {
		l.lost = true
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return resp, nil
}

// TestLostAnswerNeverResendsTheAssertion is the regression test of the
// InvalidGrantException seen under load: the SDK retried
// CreateTokenWithIAM with the same, already exchanged, IdP token. Now the
// step is sent once per assertion and the chain starts over with a new one.
func TestLostAnswerNeverResendsTheAssertion(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	tr := &loseFirstAnswer{}
	tokens := 0
	res, err := exchange.Run(context.Background(), exchange.Config{
		AWS:             aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), HTTPClient: &http.Client{Transport: tr}},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
		IDToken: func(ctx context.Context) (string, error) {
			tokens++
			return passwordLogin(sb.URL(), "alice@example.com", "alice-sandbox-pw")
		},
	})
	if err != nil {
		t.Fatalf("the chain failed after a lost answer: %v", err)
	}
	if !strings.HasPrefix(res.Credentials.AccessKeyID, "ASIA") || res.User.UserID == "" {
		t.Fatalf("result %+v", res)
	}
	seen := map[string]bool{}
	for _, a := range tr.assertions {
		if seen[a] {
			t.Fatalf("an assertion was sent to CreateTokenWithIAM twice (%d calls)", len(tr.assertions))
		}
		seen[a] = true
	}
	if len(tr.assertions) != 2 || tokens != 2 || sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 2 {
		t.Fatalf("%d assertions sent, %d tokens asked for, %d CreateTokenWithIAM calls; want 2 each",
			len(tr.assertions), tokens, sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"))
	}
	if res.RoundTrips != 5 {
		t.Fatalf("round trips = %d, want 5 (2 + 3)", res.RoundTrips)
	}
}
