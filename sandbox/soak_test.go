package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/tip/awsconf"
)

// TestSoakWholeChain drives the whole chain from 50 concurrent clients for
// TIPCTL_SOAK (default 3s; CI runs 60s): IdP refresh, AssumeRoleWithWebIdentity,
// CreateTokenWithIAM, AssumeRole with ProvidedContexts, GetCallerIdentity and
// GetDataAccess. It requires zero errors, and that once the sessions it made
// have expired the heap and the goroutine count are back near their baseline.
func TestSoakWholeChain(t *testing.T) {
	dur := 3 * time.Second
	if v := os.Getenv("TIPCTL_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TIPCTL_SOAK=%q: %v", v, err)
		}
		dur = d
	}
	const clients = 50
	// The CloudTrail recorder keeps a bounded ring of the newest events (and
	// of the credential chains behind them); at its default size that alone
	// is ~40 MB once full, by design. This test is about sessions, so it
	// bounds the ring small and asks that nothing else stays behind.
	sb, err := sandbox.Start(sandbox.Options{Events: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	app := info["identity_center"].(map[string]any)["application_arn"].(string)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients * 2
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	baseHeap, baseG := settle(t)

	var chains, errs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if errs.Add(1) == 1 {
			firstErr.Store(err.Error())
		}
	}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			users := [][3]string{{"alice@example.com", "alice-sandbox-pw", "s3://analytics-data/emea/*"},
				{"bob@example.com", "bob-sandbox-pw", "s3://analytics-data/apac/*"}, {"carol@example.com", "carol-sandbox-pw", "s3://analytics-data/*"}}
			u := users[i%len(users)]
			tok, err := idpToken(hc, sb.URL(), url.Values{"grant_type": {"password"}, "username": {u[0]}, "password": {u[1]}})
			if err != nil {
				fail(err)
				return
			}
			for time.Now().Before(deadline) {
				tok, err = idpToken(hc, sb.URL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}})
				if err != nil {
					fail(err)
					return
				}
				if err := chain(hc, sb.URL(), app, roles, tok.ID, u[2]); err != nil {
					fail(err)
					continue
				}
				chains.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if n := errs.Load(); n != 0 {
		t.Fatalf("%d errors during the soak; first: %v", n, firstErr.Load())
	}
	if chains.Load() == 0 {
		t.Fatal("no chain completed")
	}
	t.Logf("%d whole chains in %s from %d clients (%.0f/s)", chains.Load(), dur, clients, float64(chains.Load())/dur.Seconds())

	// Let every session made during the soak expire, then sweep.
	tr.CloseIdleConnections()
	sb.Env.Advance(14 * time.Hour)
	sb.Env.Registry.Sweep(sb.Env.Now().Add(-time.Minute))
	heap, g := settle(t)
	t.Logf("heap %d KiB -> %d KiB, goroutines %d -> %d", baseHeap/1024, heap/1024, baseG, g)
	if heap > baseHeap+32<<20 {
		t.Fatalf("heap grew from %d to %d bytes and did not come back", baseHeap, heap)
	}
	if g > baseG+5 {
		t.Fatalf("goroutines grew from %d to %d", baseG, g)
	}
}

// settle collects garbage until the heap is stable and returns it with the
// goroutine count.
func settle(t *testing.T) (uint64, int) {
	t.Helper()
	var m runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

type tokens struct{ ID, Refresh string }

func idpToken(hc *http.Client, endpoint string, form url.Values) (tokens, error) {
	form.Set("client_id", "tipctl")
	form.Set("scope", "openid email profile groups")
	resp, err := hc.PostForm(endpoint+"/idp/token", form)
	if err != nil {
		return tokens{}, err
	}
	defer resp.Body.Close()
	var out struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		return tokens{}, fmt.Errorf("idp %s: %s %v", form.Get("grant_type"), out.Error, err)
	}
	return tokens{out.IDToken, out.RefreshToken}, nil
}

func chain(hc *http.Client, endpoint, app string, roles map[string]any, idToken, target string) error {
	ctx := context.Background()
	base := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc, Credentials: aws.AnonymousCredentials{}}
	web, err := sts.NewFromConfig(base).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roles["bridge"].(string)), RoleSessionName: aws.String("soak"), WebIdentityToken: aws.String(idToken)})
	if err != nil {
		return err
	}
	bridge := base.Copy()
	c := web.Credentials
	bridge.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	tok, err := ssooidc.NewFromConfig(bridge).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(app),
		GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(idToken)})
	if err != nil {
		return err
	}
	enh, err := sts.NewFromConfig(bridge).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles["enhanced"].(string)),
		RoleSessionName: aws.String("soak"), ProvidedContexts: []ststypes.ProvidedContext{{
			ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: tok.AwsAdditionalDetails.IdentityContext}}})
	if err != nil {
		return err
	}
	ecfg := base.Copy()
	e := enh.Credentials
	ecfg.Credentials = credentials.NewStaticCredentialsProvider(*e.AccessKeyId, *e.SecretAccessKey, *e.SessionToken)
	if _, err := sts.NewFromConfig(ecfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return err
	}
	// Each person reads what their grants give them.
	_, err = s3control.NewFromConfig(ecfg, awsconf.S3ControlOptions(endpoint)).GetDataAccess(ctx, &s3control.GetDataAccessInput{
		AccountId: aws.String("123456789012"), Target: aws.String(target), Permission: "READ"})
	return err
}
