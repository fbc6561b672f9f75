package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
)

// TestBareWithTrustIssuerProcess: `tipctl sandbox --bare --trust-issuer
// URL --audience AUD` starts a bare account (the flags compose: no trusted
// token issuer, application, OIDC provider or role) whose world says the
// directory is provisioned from that issuer for that audience.
func TestBareWithTrustIssuerProcess(t *testing.T) {
	e := newEnv(t)
	_, url := sandboxProc(t, e, "--bare", "--trust-issuer", "https://idp.corp.example/oauth2/default", "--audience", "corp-client")
	ctx := context.Background()
	cfg := adminConfig(url)
	resp, err := http.Get(url + "/_sandbox/world")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	w := string(b)
	if !strings.Contains(w, "provisioning:") || !strings.Contains(w, "issuer: https://idp.corp.example/oauth2/default") || !strings.Contains(w, "audience: corp-client") {
		t.Fatalf("the world does not provision from the issuer:\n%s", w)
	}
	inst := between(w, "instance_arn: ", "\n")
	sso := ssoadmin.NewFromConfig(cfg)
	ttis, err := sso.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(inst)})
	if err != nil || len(ttis.TrustedTokenIssuers) != 0 {
		t.Fatalf("trusted token issuers of the bare account: %+v, %v", ttis, err)
	}
	apps, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(inst)})
	if err != nil || len(apps.Applications) != 0 {
		t.Fatalf("applications of the bare account: %+v, %v", apps, err)
	}
	providers, err := awsiam.NewFromConfig(cfg).ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(providers.OpenIDConnectProviderList) != 0 {
		t.Fatalf("OIDC providers of the bare account: %+v, %v", providers, err)
	}
	roles, err := awsiam.NewFromConfig(cfg).ListRoles(ctx, &awsiam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Fatalf("roles of the bare account: %+v, %v", roles, err)
	}
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return strings.Trim(strings.TrimSpace(v), `"`)
}
