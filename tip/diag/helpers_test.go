package diag_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/go-jose/go-jose/v4"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/diag"
)

// testKID is the key id of the signing key the test worlds give the IdP,
// so tests can mint tokens the sandbox IdP would have signed.
const testKID = "diag-test"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyErr  error
)

func signingKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() { testKey, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return testKey
}

// worldYAML is the default world with the test signing key, edited by edits
// (each replaces old with new, and must find old).
func worldYAML(t testing.TB, edits ...[2]string) []byte {
	t.Helper()
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(signingKey(t))}))
	var keyYAML strings.Builder
	keyYAML.WriteString("  signing_keys:\n    - kid: " + testKID + "\n      pem: |\n")
	for _, line := range strings.Split(strings.TrimRight(pemText, "\n"), "\n") {
		keyYAML.WriteString("        " + line + "\n")
	}
	y := string(world.DefaultYAML())
	anchor := "  issuer: ${endpoint}/idp\n"
	edits = append([][2]string{{anchor, anchor + keyYAML.String()}}, edits...)
	for _, e := range edits {
		if !strings.Contains(y, e[0]) {
			t.Fatalf("the default world has no %q to edit", e[0])
		}
		y = strings.Replace(y, e[0], e[1], 1)
	}
	return []byte(y)
}

func start(t testing.TB, edits ...[2]string) *sandbox.Sandbox {
	t.Helper()
	return ststest.Sandbox(t, worldYAML(t, edits...))
}

// mint signs an id_token as the sandbox IdP would, with claims overridden.
func mint(t testing.TB, sb *sandbox.Sandbox, email string, over map[string]any) string {
	t.Helper()
	now := sb.Env.Now()
	claims := map[string]any{
		"iss": sb.URL() + "/idp", "sub": "00u" + strings.Split(email, "@")[0], "aud": "tipctl", "email": email,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": randomID(),
	}
	for k, v := range over {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: signingKey(t), KeyID: testKID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// login gets a real id_token from the sandbox IdP with the password grant.
func login(t testing.TB, sb *sandbox.Sandbox, email, password string) string {
	t.Helper()
	return ststest.PasswordLogin(t, sb.URL(), email, password, "openid email profile groups").IDToken
}

func awsConfig(sb *sandbox.Sandbox, akid, secret string) aws.Config {
	return aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1; o.RateLimiter = ratelimit.None })
		},
	}
}

func roleArn(sb *sandbox.Sandbox, name string) string {
	return "arn:aws:iam::" + sb.Env.World.AccountID + ":role/" + name
}

func appArn(sb *sandbox.Sandbox) string { return sb.Env.World.IdentityCenter.Applications[0].Arn }

// input is a diagnosis of token against sb's default ARNs with the admin keys.
func input(sb *sandbox.Sandbox, token string) diag.Input {
	return diag.Input{
		Token: token, ApplicationArn: appArn(sb),
		BridgeRoleArn: roleArn(sb, "tip-bridge"), EnhancedRoleArn: roleArn(sb, "tip-enhanced"),
		AWS: awsConfig(sb, "test", "test"), Now: sb.Env.Now, Services: []string{"s3ag", "quicksight"},
	}
}

func run(t testing.TB, in diag.Input) *diag.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep := diag.Run(ctx, in)
	if len(rep.Checks) != len(diag.CheckIDs()) {
		t.Fatalf("%d results for %d checks", len(rep.Checks), len(diag.CheckIDs()))
	}
	return rep
}

func dump(rep *diag.Report) string {
	var b strings.Builder
	for _, c := range rep.Checks {
		b.WriteString("  " + string(c.Status) + " " + c.ID + ": " + c.Message)
		if c.Fix != "" {
			b.WriteString("\n      fix: " + c.Fix)
		}
		b.WriteString("\n")
	}
	return b.String()
}
