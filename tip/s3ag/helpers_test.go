package s3ag_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/idp"
	"github.com/tipctl/tipctl/tip/s3ag"
	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

// sandboxProfile builds the profile `tipctl configure sandbox` would, from
// the sandbox's /_sandbox/info.
func sandboxProfile(t testing.TB, endpoint, name string) *config.Profile {
	t.Helper()
	resp, err := http.Get(endpoint + "/_sandbox/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info config.SandboxInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	p, missing, err := config.BuildProfile(config.ProviderSandbox, info.ProfileValues(endpoint))
	if err != nil || len(missing) > 0 {
		t.Fatalf("profile: %v (missing %v)", err, missing)
	}
	p.Name = name
	return p
}

// newManager returns a session manager of profile p with its own file
// store under dir (shared by managers given the same dir).
func newManager(t testing.TB, p *config.Profile, dir string) *session.Manager {
	t.Helper()
	fs, err := store.NewFileStore(filepath.Join(dir, "secrets"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &session.Manager{Profile: p, Vault: store.NewVault(fs, filepath.Join(dir, "locks")), HTTP: http.DefaultClient,
		Getenv: func(string) string { return "" },
		IdP:    &session.OIDC{Config: idp.Config{Issuer: p.Issuer, ClientID: p.ClientID, Scopes: p.EffectiveScopes(), HTTPClient: http.DefaultClient}}}
}

// login signs in at the sandbox IdP with the browser flow (the sandbox
// login page filled in as a person would) and saves the session.
func login(t testing.TB, m *session.Manager, email, password string) {
	t.Helper()
	cfg := m.IdP.(*session.OIDC).Config
	tok, err := idp.Login(context.Background(), cfg, idp.LoginOptions{Out: io.Discard, Open: func(u string) error {
		return ststest.SignIn(context.Background(), u, email, password)
	}})
	if err != nil {
		t.Fatalf("login as %s: %v", email, err)
	}
	st := session.TokensOf(tok)
	st.LoggedInAt = time.Now().UTC()
	if err := m.SaveLogin(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

// loggedIn returns a manager of a fresh profile logged in as email.
func loggedIn(t testing.TB, sb *sandbox.Sandbox, email, password string) *session.Manager {
	t.Helper()
	m := newManager(t, sandboxProfile(t, sb.URL(), "default"), t.TempDir())
	login(t, m, email, password)
	return m
}

// s3With is an S3 client using c, path-style against the sandbox.
func s3With(sb *sandbox.Sandbox, c *s3ag.Credentials) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
}
