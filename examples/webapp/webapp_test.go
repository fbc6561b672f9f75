package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/sandbox"
	sbidp "github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// startApp runs the web application with n replicas sharing redisURL.
func startApp(t *testing.T, sb *sandbox.Sandbox, n int, redisURL string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{listen: "127.0.0.1:0", replicas: n, redisURL: redisURL, sandbox: sb.URL()}, func(u []string) { urls <- u })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case u := <-urls:
		return u
	case err := <-done:
		t.Fatalf("webapp: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("webapp did not start")
	}
	return nil
}

// browser is one person's browser: a cookie jar (cookies are per host, so
// every replica on 127.0.0.1 sees them).
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: time.Minute}
}

// signIn signs email in through replica url, as a person in a browser.
func signIn(t *testing.T, c *http.Client, url, email, password string) string {
	t.Helper()
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || authURL == "" {
		t.Fatalf("/login: HTTP %d", resp.StatusCode)
	}
	back, err := sbidp.FollowLogin(context.Background(), &http.Client{Timeout: time.Minute}, authURL, email, password)
	if err != nil {
		t.Fatalf("login at the IdP: %v", err)
	}
	return get(t, c, back.String())
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

var (
	grantRe = regexp.MustCompile(`<tr class="grant"><td>([^<]*)</td><td>([^<]*)</td></tr>`)
	userRe  = regexp.MustCompile(`<code id="idc-user">([^<]*)</code>`)
	emailRe = regexp.MustCompile(`<b id="email">([^<]*)</b>`)
	replRe  = regexp.MustCompile(`replica (\d+)`)
	dashRe  = regexp.MustCompile(`<li class="dashboard">([^<]*)</li>`)
)

func dashboardsOf(page string) []string {
	var out []string
	for _, m := range dashRe.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

func grantsOf(page string) []string {
	var out []string
	for _, m := range grantRe.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	slices.Sort(out)
	return out
}

func exchanges(t *testing.T, sb *sandbox.Sandbox) int64 {
	return sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM")
}

// Two replicas on one Redis: each person signs in on one replica and is
// served by both, with one exchange per person, and sees the prefixes
// their own grants give them.
func TestTwoReplicasServeEachPersonAsThemselves(t *testing.T) {
	srv := redistest.Start(t)
	sb := ststest.Sandbox(t, nil)
	urls := startApp(t, sb, 2, srv.URL())
	want := map[string][]string{
		"alice@example.com": {"s3://analytics-data/emea/* READ", "s3://analytics-data/users/alice/* READWRITE", "s3://tip-athena-results/* READWRITE"},
		"bob@example.com":   {"s3://analytics-data/apac/* READ", "s3://tip-athena-results/* READWRITE"},
		"carol@example.com": {"s3://analytics-data/* READ", "s3://tip-athena-results/* READWRITE"},
	}
	// QuickSight permissions (the default world): alice owns EMEA Pipeline,
	// which emea-sales and exec-global view; every sales group views Sales
	// Overview. bob is in apac-sales only.
	wantDashboards := map[string][]string{
		"alice@example.com": {"EMEA Pipeline", "Sales Overview"},
		"bob@example.com":   {"Sales Overview"},
		"carol@example.com": {"EMEA Pipeline", "Sales Overview"},
	}
	var wg sync.WaitGroup
	users := map[string]string{}
	var mu sync.Mutex
	for email, grants := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, _, _ := strings.Cut(email, "@")
			c := browser(t)
			first := signIn(t, c, urls[0], email, name+"-sandbox-pw")
			for i, url := range []string{urls[1], urls[0], urls[1]} {
				page := get(t, c, url+"/")
				if m := replRe.FindStringSubmatch(page); m == nil || m[1] != []string{"1", "0", "1"}[i] {
					t.Errorf("%s: page not from the replica asked", email)
				}
				if m := emailRe.FindStringSubmatch(page); m == nil || m[1] != email {
					t.Errorf("replica page shows %v, want %s", m, email)
				}
				if got := grantsOf(page); !slices.Equal(got, grants) {
					t.Errorf("%s sees %v, want %v", email, got, grants)
				}
				if !strings.Contains(page, "from the shared cache") {
					t.Errorf("%s: request %d was not served from the shared cache", email, i)
				}
				if u := userRe.FindStringSubmatch(page); u == nil || u[1] != userRe.FindStringSubmatch(first)[1] {
					t.Errorf("%s: another Identity Center user on replica %d", email, i)
				}
			}
			mu.Lock()
			users[email] = userRe.FindStringSubmatch(first)[1]
			mu.Unlock()
			if got := dashboardsOf(first); !slices.Equal(got, wantDashboards[email]) {
				t.Errorf("%s sees dashboards %v, want %v", email, got, wantDashboards[email])
			}
		}()
	}
	wg.Wait()
	if n := exchanges(t, sb); n != int64(len(want)) {
		t.Fatalf("CreateTokenWithIAM = %d, want one per person (%d)", n, len(want))
	}
	if len(users) != 3 || users["alice@example.com"] == users["bob@example.com"] {
		t.Fatalf("Identity Center users %v", users)
	}
	var vars struct {
		Broker map[string]int64 `json:"broker"`
	}
	if err := json.Unmarshal([]byte(get(t, browser(t), urls[1]+"/debug/vars")), &vars); err != nil {
		t.Fatal(err)
	}
	if vars.Broker["hits"] < 3 {
		t.Fatalf("replica 1 metrics %v, want cache hits", vars.Broker)
	}
}

// Each person sees only the dashboards QuickSight's permissions give them,
// and a permission change shows on their next page: alice and bob see
// different lists until alice's dashboard is shared with bob.
func TestEachPersonSeesTheirOwnDashboards(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	urls := startApp(t, sb, 1, "")
	pages := map[string]*http.Client{}
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		name, _, _ := strings.Cut(email, "@")
		pages[email] = browser(t)
		signIn(t, pages[email], urls[0], email, name+"-sandbox-pw")
	}
	alice := dashboardsOf(get(t, pages["alice@example.com"], urls[0]+"/"))
	bob := dashboardsOf(get(t, pages["bob@example.com"], urls[0]+"/"))
	if !slices.Equal(alice, []string{"EMEA Pipeline", "Sales Overview"}) || !slices.Equal(bob, []string{"Sales Overview"}) {
		t.Fatalf("alice sees %v, bob sees %v", alice, bob)
	}
	if n := sb.Env.Stats.Get("quicksight:SearchDashboards"); n < 2 {
		t.Fatalf("SearchDashboards called %d times, want one per page", n)
	}
	// The administrator shares EMEA Pipeline with bob (QuickSight user
	// tip-enhanced/bob@example.com) as a viewer.
	info := sb.Info()
	admin := info["admin"].(map[string]any)
	c := qs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(admin["access_key_id"].(string), admin["secret_access_key"].(string), "")})
	if _, err := c.UpdateDashboardPermissions(context.Background(), &qs.UpdateDashboardPermissionsInput{
		AwsAccountId: aws.String("123456789012"), DashboardId: aws.String("emea-pipeline"),
		GrantPermissions: []types.ResourcePermission{{Principal: aws.String("arn:aws:quicksight:us-east-1:123456789012:user/default/tip-enhanced/bob@example.com"),
			Actions: []string{"quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"}}}}); err != nil {
		t.Fatal(err)
	}
	if bob := dashboardsOf(get(t, pages["bob@example.com"], urls[0]+"/")); !slices.Equal(bob, []string{"EMEA Pipeline", "Sales Overview"}) {
		t.Fatalf("after sharing, bob sees %v", bob)
	}
}
