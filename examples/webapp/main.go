// Command webapp is a small web application in which each person signs in
// at an OpenID Connect IdP (authorization code flow with PKCE) and sees,
// with an identity-enhanced AWS session of their own made by tip/broker,
// the S3 prefixes S3 Access Grants gives them and their QuickSight
// session. Several replicas share the broker's cache on Redis:
//
//	go run ./examples/webapp --sandbox start --replicas 2 --redis redis://127.0.0.1:6379/0
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/exchange"
)

type options struct {
	listen     string
	replicas   int
	redisURL   string
	key        []byte
	failClosed bool
	sandbox    string
	// Without --sandbox:
	issuer, clientID, clientSecret    string
	appArn, bridgeRole, enhancedRole  string
	region, endpoint, account, qsRole string
	qsNamespace                       string
	// The application's own AWS keys (QuickSight); default: the environment.
	adminKey, adminSecret string
}

func main() {
	var o options
	var keyHex string
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the first replica; replica i listens on port+i (port 0: random ports)")
	flag.IntVar(&o.replicas, "replicas", 1, "number of replicas to start")
	flag.StringVar(&o.redisURL, "redis", "", "Redis/Valkey URL shared by the replicas (redis://host:port/db); empty: each replica caches in memory")
	flag.StringVar(&keyHex, "key", os.Getenv("WEBAPP_KEY"), "64 hex digits: the AES-256 key of cookies and cached credentials, the same on every replica (env WEBAPP_KEY; default: random per run)")
	flag.BoolVar(&o.failClosed, "fail-closed", false, "refuse requests while Redis is unreachable instead of serving from each replica's memory")
	flag.StringVar(&o.sandbox, "sandbox", "", "URL of a running tipctl sandbox, whose /_sandbox/info gives every other setting; \"start\" starts one in this process")
	flag.StringVar(&o.issuer, "issuer", "", "OIDC issuer URL")
	flag.StringVar(&o.clientID, "client-id", "", "OIDC client id")
	flag.StringVar(&o.clientSecret, "client-secret", os.Getenv("WEBAPP_CLIENT_SECRET"), "OIDC client secret (env WEBAPP_CLIENT_SECRET); empty for a public client")
	flag.StringVar(&o.appArn, "application-arn", "", "Identity Center application ARN")
	flag.StringVar(&o.bridgeRole, "bridge-role", "", "bridge role ARN")
	flag.StringVar(&o.enhancedRole, "enhanced-role", "", "identity-enhanced role ARN")
	flag.StringVar(&o.qsRole, "quicksight-role", "", "role assumed with QuickSight identity contexts")
	flag.StringVar(&o.qsNamespace, "quicksight-namespace", "default", "QuickSight namespace of the people's users")
	flag.StringVar(&o.region, "region", "us-east-1", "AWS region")
	flag.StringVar(&o.account, "account", "", "AWS account id (S3 Access Grants, QuickSight)")
	flag.Parse()
	if keyHex != "" {
		k, err := hex.DecodeString(keyHex)
		if err != nil || len(k) != 32 {
			fmt.Fprintln(os.Stderr, "webapp: --key must be 64 hex digits (32 bytes); generate one with: openssl rand -hex 32")
			os.Exit(2)
		}
		o.key = k
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o, func(urls []string) {
		for i, u := range urls {
			fmt.Printf("replica %d: %s\n", i, u)
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// fromSandbox fills o from the sandbox's /_sandbox/info.
func fromSandbox(ctx context.Context, o *options) error {
	// A sandbox started just before may still be coming up: try for 30 s.
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.sandbox+"/_sandbox/info", nil)
		if resp, err = http.DefaultClient.Do(req); err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("the sandbox at %s does not answer (start it with: go run ./cmd/tipctl sandbox): %w", o.sandbox, err)
	}
	defer resp.Body.Close()
	var info struct {
		AccountID string `json:"account_id"`
		Region    string `json:"region"`
		IdP       struct {
			Issuer   string `json:"issuer"`
			ClientID string `json:"client_id"`
		} `json:"idp"`
		IC struct {
			App string `json:"application_arn"`
		} `json:"identity_center"`
		Admin struct {
			Key    string `json:"access_key_id"`
			Secret string `json:"secret_access_key"`
		} `json:"admin"`
		Roles      map[string]string `json:"roles"`
		QuickSight struct {
			Role string `json:"snapshot_role"`
		} `json:"quicksight"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return fmt.Errorf("the sandbox's /_sandbox/info is unreadable: %w", err)
	}
	o.issuer, o.clientID, o.appArn = info.IdP.Issuer, info.IdP.ClientID, info.IC.App
	o.bridgeRole, o.enhancedRole, o.qsRole = info.Roles["bridge"], info.Roles["enhanced"], info.QuickSight.Role
	o.region, o.account, o.endpoint = info.Region, info.AccountID, o.sandbox
	// The sandbox's administrator keys stand for the application's own.
	o.adminKey, o.adminSecret = info.Admin.Key, info.Admin.Secret
	return nil
}

// run starts the replicas and serves until ctx ends.
func run(ctx context.Context, o options, ready func(urls []string)) error {
	if o.sandbox == "start" {
		sb, err := sandbox.Start(sandbox.Options{})
		if err != nil {
			return err
		}
		defer sb.Close()
		o.sandbox = sb.URL()
		fmt.Printf("sandbox: %s (sign in as alice@example.com / alice-sandbox-pw, bob@example.com / bob-sandbox-pw)\n", o.sandbox)
	}
	if o.sandbox != "" {
		if err := fromSandbox(ctx, &o); err != nil {
			return err
		}
	}
	if o.issuer == "" || o.clientID == "" || o.appArn == "" || o.bridgeRole == "" || o.enhancedRole == "" {
		return errors.New("pass --sandbox URL, or --issuer, --client-id, --application-arn, --bridge-role and --enhanced-role")
	}
	if o.replicas < 1 {
		o.replicas = 1
	}
	if len(o.key) == 0 {
		o.key = make([]byte, 32)
		_, _ = rand.Read(o.key)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	base, err := awsconf.New(awsconf.Options{Region: o.region, Endpoint: o.endpoint})
	if err != nil {
		return err
	}
	admin := base.Copy()
	if o.adminKey == "" {
		o.adminKey, o.adminSecret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	admin.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(o.adminKey, o.adminSecret, os.Getenv("AWS_SESSION_TOKEN")))
	provider, err := oidc.NewProvider(ctx, o.issuer)
	if err != nil {
		return fmt.Errorf("OIDC discovery at %s: %w", o.issuer, err)
	}
	if o.qsNamespace == "" {
		o.qsNamespace = "default"
	}
	st := &settings{account: o.account, endpoint: o.endpoint, base: base, admin: admin, provider: provider, qsNamespace: o.qsNamespace}
	cks, err := newCookies(o.key)
	if err != nil {
		return err
	}
	host, port0, err := net.SplitHostPort(o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	first, _ := strconv.Atoi(port0)
	var servers []*http.Server
	var urls []string
	errc := make(chan error, o.replicas)
	for i := range o.replicas {
		port := 0
		if first != 0 {
			port = first + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		url := "http://" + ln.Addr().String()
		rp, closeRP, err := newReplica(i, o, st, cks, url, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer closeRP()
		srv := &http.Server{Handler: rp.routes(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		urls = append(urls, url)
		go func() { errc <- srv.Serve(ln) }()
	}
	ready(urls)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	return nil
}

// newReplica builds one replica: its own broker and Redis connection.
func newReplica(n int, o options, st *settings, cks *cookies, url string, log *slog.Logger) (*replica, func(), error) {
	cfg := broker.Config{
		Exchange: exchange.Config{AWS: st.base, ApplicationArn: o.appArn, BridgeRoleArn: o.bridgeRole, EnhancedRoleArn: o.enhancedRole},
		Verifier: st.provider.Verifier(&oidc.Config{ClientID: o.clientID}),
		Logger:   log.With("replica", n),
	}
	if o.qsRole != "" {
		cfg.QuickSight = &broker.QuickSightConfig{Admin: st.admin, RoleArn: o.qsRole, AccountID: o.account}
	}
	if o.failClosed {
		cfg.OnCacheFailure = broker.FailClosed
	}
	closeFn := func() {}
	if o.redisURL != "" {
		client, err := broker.NewRedisClient(o.redisURL)
		if err != nil {
			return nil, nil, err
		}
		var rc redis.UniversalClient = client
		cache, err := broker.NewRedis(broker.RedisOptions{Client: rc, Key: o.key})
		if err != nil {
			return nil, nil, err
		}
		cfg.Cache = cache
		closeFn = func() { _ = client.Close() }
	}
	b, err := broker.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return &replica{n: n, cfg: st, broker: b, cookies: cks, log: log.With("replica", n),
		verifier: st.provider.Verifier(&oidc.Config{ClientID: o.clientID}),
		oauth: oauth2.Config{ClientID: o.clientID, ClientSecret: o.clientSecret, Endpoint: st.provider.Endpoint(),
			RedirectURL: url + "/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}}, closeFn, nil
}
