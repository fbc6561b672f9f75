package exchange_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/tip/exchange"
)

// passwordLogin gets an id_token from the sandbox IdP with the password
// grant, which only the sandbox offers (for automation).
func passwordLogin(endpoint, email, password string) (string, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {"tipctl"}, "username": {email},
		"password": {password}, "scope": {"openid email profile groups"}}
	resp, err := http.PostForm(endpoint+"/idp/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if out.IDToken == "" {
		return "", fmt.Errorf("login failed: %s", out.Error)
	}
	return out.IDToken, nil
}

// Use the chain as an aws.CredentialsProvider: every client built from cfg
// acts as the person who signed in.
func ExampleProvider() {
	sb, err := sandbox.Start(sandbox.Options{})
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	info := sb.Info()
	roles := info["roles"].(map[string]any)

	p := exchange.NewProvider(exchange.Config{
		AWS:             aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
		IDToken: func(ctx context.Context) (string, error) {
			return passwordLogin(sb.URL(), "alice@example.com", "alice-sandbox-pw")
		},
	})
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), Credentials: exchange.NewCredentialsCache(p)}

	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		panic(err)
	}
	arn := aws.ToString(who.Arn)
	fmt.Println(arn[:strings.LastIndex(arn, "/")+5])
	fmt.Println("Identity Center user:", p.Last().User.UserID != "")
	// Output:
	// arn:aws:sts::123456789012:assumed-role/tip-enhanced/tip-
	// Identity Center user: true
}
