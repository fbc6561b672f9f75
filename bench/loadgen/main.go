// Command loadgen measures the sandbox against moto_server in one run: it
// starts `tipctl sandbox` and `moto_server` as separate processes on
// loopback, drives each with signed aws-sdk-go-v2 calls from N concurrent
// workers for a bounded time, and prints throughput, p50 and p99.
//
//	go run ./bench/loadgen -duration 10s -concurrency 8
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	ssooidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/tipctl/tipctl/tip/awsconf"
)

type result struct {
	Target      string  `json:"target"`
	Operation   string  `json:"operation"`
	Calls       int     `json:"calls"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50Micros   int64   `json:"p50_us"`
	P99Micros   int64   `json:"p99_us"`
	FirstError  string  `json:"first_error,omitempty"`
	Concurrency int     `json:"concurrency"`
}

// sandboxArgs are extra arguments for `tipctl sandbox` (e.g. --record=false).
var sandboxArgs = flag.String("sandbox-args", "", "extra arguments for `tipctl sandbox`, space-separated (e.g. --record=false)")

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to drive each operation")
	conc := flag.Int("concurrency", 8, "concurrent workers")
	tipctl := flag.String("tipctl", "", "tipctl binary (default: build it)")
	noMoto := flag.Bool("no-moto", false, "skip moto_server")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	compare := flag.Int("compare-record", 0, "recording cost mode: run this many rounds of alternating windows against two sandboxes, one with --record=false, and moto_server")
	window := flag.Duration("window", time.Second, "window length per variant and round in -compare-record mode")
	sessions := flag.Int("sessions", 0, "memory mode: issue this many identity-enhanced sessions (AssumeRole with ProvidedContexts), then report the sandbox's idle and peak RSS and moto_server's")
	flag.Parse()
	if *compare > 0 {
		if err := compareRecord(*compare, *window, *conc, *tipctl, *noMoto); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *sessions > 0 {
		if err := memory(*sessions, *conc, *duration, *tipctl, *noMoto); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*duration, *conc, *tipctl, *noMoto, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(u string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within %s", u, d)
}

func run(d time.Duration, conc int, bin string, noMoto bool, jsonOut string) error {
	bin, cleanup, err := buildTipctl(bin)
	if err != nil {
		return err
	}
	defer cleanup()
	sandboxURL, sbCmd, err := startSandbox(bin, strings.Fields(*sandboxArgs)...)
	if err != nil {
		return err
	}
	defer func() { _ = sbCmd.Process.Signal(os.Interrupt); _ = sbCmd.Wait() }()
	sbIdle := rssField(sbCmd.Process.Pid, "VmRSS:")

	var results []result
	ctx := context.Background()
	admin := credentials.NewStaticCredentialsProvider("test", "test", "")
	cfg := aws.Config{Region: "us-east-1", Credentials: admin, BaseEndpoint: aws.String(sandboxURL), HTTPClient: pooled(conc)}

	// Identity-enhanced setup: bridge credentials and an identity context.
	bridgeCfg, ctxAssertion, enhancedArn, err := setupChain(ctx, sandboxURL, cfg)
	if err != nil {
		return fmt.Errorf("chain setup: %w", err)
	}
	stsBridge := sts.NewFromConfig(bridgeCfg)
	results = append(results, drive("sandbox", "AssumeRole+ProvidedContexts", d, conc, func() error {
		_, err := stsBridge.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(enhancedArn), RoleSessionName: aws.String("bench"),
			ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: aws.String(ctxAssertion)}}})
		return err
	}))
	stsAdmin := sts.NewFromConfig(cfg)
	results = append(results, drive("sandbox", "AssumeRole", d, conc, func() error {
		_, err := stsAdmin.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/quicksight-snapshots"), RoleSessionName: aws.String("bench")})
		return err
	}))
	if r := benchTokens(ctx, sandboxURL, cfg, bridgeCfg, d, conc); r != nil {
		results = append(results, *r)
	}
	if rs := benchS3(ctx, sandboxURL, cfg, bridgeCfg, enhancedArn, ctxAssertion, d, conc); rs != nil {
		results = append(results, rs...)
	}

	sbPeak, sessions := peakRSS(sbCmd.Process.Pid), sessionsIssued(sandboxURL)
	motoPeak, motoIdle := "", ""
	if !noMoto {
		mr, idle, peak, err := benchMoto(ctx, d, conc)
		motoPeak, motoIdle = peak, idle
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: moto_server:", err)
		}
		results = append(results, mr...)
	}
	printTable(results)
	fmt.Printf("\nRSS: sandbox idle %s, peak %s after %d sessions issued", sbIdle, sbPeak, sessions)
	if motoPeak != "" {
		fmt.Printf("; moto_server idle %s, peak %s", motoIdle, motoPeak)
	}
	fmt.Println()
	if jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(jsonOut, b, 0o644)
	}
	return nil
}

// pooled is the load's HTTP client, with request bodies the SDK cannot
// lose a reply to (awsconf.SafeBodies): without it, a busy machine loses
// replies and single-use assertions.
func pooled(conc int) aws.HTTPClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc * 2
	return awsconf.SafeBodies(&http.Client{Transport: tr})
}

func password(ctx context.Context, endpoint string) (string, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {"tipctl"}, "username": {"alice@example.com"},
		"password": {"alice-sandbox-pw"}, "scope": {"openid email profile groups"}}
	resp, err := http.PostForm(endpoint+"/idp/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		return "", errors.New("password grant failed")
	}
	return out.IDToken, nil
}

func info(endpoint string) (map[string]any, error) {
	resp, err := http.Get(endpoint + "/_sandbox/info")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

func setupChain(ctx context.Context, endpoint string, cfg aws.Config) (aws.Config, string, string, error) {
	inf, err := info(endpoint)
	if err != nil {
		return cfg, "", "", err
	}
	roles := inf["roles"].(map[string]any)
	app := inf["identity_center"].(map[string]any)["application_arn"].(string)
	tok, err := password(ctx, endpoint)
	if err != nil {
		return cfg, "", "", err
	}
	anon := cfg.Copy()
	anon.Credentials = aws.AnonymousCredentials{}
	web, err := sts.NewFromConfig(anon).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roles["bridge"].(string)), RoleSessionName: aws.String("bench"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		return cfg, "", "", err
	}
	bridge := cfg.Copy()
	c := web.Credentials
	bridge.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	out, err := ssooidc.NewFromConfig(bridge).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(app), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(tok)})
	if err != nil {
		return cfg, "", "", err
	}
	return bridge, aws.ToString(out.AwsAdditionalDetails.IdentityContext), roles["enhanced"].(string), nil
}

// benchTokens measures CreateTokenWithIAM; each call needs a fresh
// assertion (they are single use), so tokens are minted ahead of time.
func benchTokens(ctx context.Context, endpoint string, cfg, bridge aws.Config, d time.Duration, conc int) *result {
	inf, err := info(endpoint)
	if err != nil {
		return nil
	}
	app := inf["identity_center"].(map[string]any)["application_arn"].(string)
	n := 3000
	toks := make(chan string, n)
	for i := 0; i < n; i++ {
		t, err := password(ctx, endpoint)
		if err != nil {
			return nil
		}
		toks <- t
	}
	close(toks)
	client := ssooidc.NewFromConfig(bridge)
	r := drive("sandbox", "CreateTokenWithIAM", d, conc, func() error {
		t, ok := <-toks
		if !ok {
			return errStop
		}
		_, err := client.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(app),
			GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(t)})
		return err
	})
	return &r
}

func benchS3(ctx context.Context, endpoint string, cfg, bridge aws.Config, enhancedArn, assertion string, d time.Duration, conc int) []result {
	out, err := sts.NewFromConfig(bridge).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(enhancedArn), RoleSessionName: aws.String("bench"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: aws.String(assertion)}}})
	if err != nil {
		return nil
	}
	enh := cfg.Copy()
	c := out.Credentials
	enh.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	s3c := s3control.NewFromConfig(enh, awsconf.S3ControlOptions(endpoint))
	var res []result
	res = append(res, drive("sandbox", "GetDataAccess", d, conc, func() error {
		_, err := s3c.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: aws.String("123456789012"),
			Target: aws.String("s3://analytics-data/emea/*"), Permission: "READ"})
		return err
	}))
	s3a := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3a.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv"),
		Body: strings.NewReader(strings.Repeat("region,revenue\nEMEA,100\n", 40))}); err != nil {
		return res
	}
	res = append(res, drive("sandbox", "S3 GetObject", d, conc, func() error {
		o, err := s3a.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv")})
		if err == nil {
			_, _ = io.Copy(io.Discard, o.Body)
			o.Body.Close()
		}
		return err
	}))
	return res
}

func benchMoto(ctx context.Context, d time.Duration, conc int) (res []result, idle, peak string, err error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, "", "", errors.New("moto_server not found; skipped")
	}
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	defer func() { peak = peakRSS(cmd.Process.Pid) }()
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(u+"/moto-api/", 20*time.Second); err != nil {
		return nil, "", "", err
	}
	idle = rssField(cmd.Process.Pid, "VmRSS:")
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(u), HTTPClient: pooled(conc)}
	stsc := sts.NewFromConfig(cfg)
	res = append(res, drive("moto", "AssumeRole", d, conc, func() error {
		_, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/bench"), RoleSessionName: aws.String("bench")})
		return err
	}))
	s3m := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3m.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("analytics-data")}); err == nil {
		_, err = s3m.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv"),
			Body: strings.NewReader(strings.Repeat("region,revenue\nEMEA,100\n", 40))})
		if err == nil {
			res = append(res, drive("moto", "S3 GetObject", d, conc, func() error {
				o, err := s3m.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv")})
				if err == nil {
					_, _ = io.Copy(io.Discard, o.Body)
					o.Body.Close()
				}
				return err
			}))
		}
	}
	return res, idle, "", nil
}

// sessionsIssued counts the temporary credentials the sandbox handed out
// (its /_sandbox/stats counters).
func sessionsIssued(endpoint string) int64 {
	resp, err := http.Get(endpoint + "/_sandbox/stats")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var st struct {
		Operations map[string]int64 `json:"operations"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return -1
	}
	return st.Operations["sts:AssumeRole"] + st.Operations["sts:AssumeRoleWithWebIdentity"] + st.Operations["s3:GetDataAccess"]
}

// peakRSS reads a process's high-water resident set from /proc.
func peakRSS(pid int) string { return rssField(pid, "VmHWM:") }

// rssField reads one memory field (VmRSS:, VmHWM:) of /proc/PID/status.
func rssField(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			return strings.TrimSpace(strings.TrimPrefix(l, field))
		}
	}
	return "unknown"
}

var errStop = errors.New("stop")

// drive runs op from conc workers for d (or until op returns errStop).
func drive(target, name string, d time.Duration, conc int, op func() error) result {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	first := ""
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				t := time.Now()
				err := op()
				if errors.Is(err, errStop) {
					break
				}
				el := time.Since(t)
				if err != nil {
					mu.Lock()
					errs++
					if first == "" {
						first = describe(err)
					}
					mu.Unlock()
					continue
				}
				local = append(local, el)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(float64(len(lat)-1)*p)].Microseconds()
	}
	return result{Target: target, Operation: name, Calls: len(lat), Errors: errs, Seconds: secs,
		PerSecond: float64(len(lat)) / secs, P50Micros: pct(0.50), P99Micros: pct(0.99), FirstError: first, Concurrency: conc}
}

// describe adds the OAuth error_description that SSO OIDC errors carry.
func describe(err error) string {
	var ig *ssooidctypes.InvalidGrantException
	if errors.As(err, &ig) {
		return err.Error() + " (" + aws.ToString(ig.Error_description) + ")"
	}
	return err.Error()
}

func printTable(rs []result) {
	fmt.Println("| target | operation | calls | errors | calls/s | p50 | p99 |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %s | %s | %d | %d | %.0f | %.2f ms | %.2f ms |\n", r.Target, r.Operation, r.Calls, r.Errors, r.PerSecond,
			float64(r.P50Micros)/1000, float64(r.P99Micros)/1000)
		if r.FirstError != "" {
			fmt.Fprintf(os.Stderr, "  %s %s first error: %s\n", r.Target, r.Operation, r.FirstError)
		}
	}
	by := map[string]result{}
	for _, r := range rs {
		by[r.Target+"/"+r.Operation] = r
	}
	for _, pair := range [][2]string{{"sandbox/AssumeRole+ProvidedContexts", "moto/AssumeRole"}, {"sandbox/AssumeRole", "moto/AssumeRole"}, {"sandbox/S3 GetObject", "moto/S3 GetObject"}} {
		a, okA := by[pair[0]]
		b, okB := by[pair[1]]
		if okA && okB && b.PerSecond > 0 {
			fmt.Printf("\nratio %s vs %s: %.1fx throughput, p99 %.1fx lower\n", pair[0], pair[1], a.PerSecond/b.PerSecond,
				float64(b.P99Micros)/float64(max(a.P99Micros, 1)))
		}
	}
}

// memory issues n identity-enhanced sessions as fast as conc workers can
// and reports the sandbox's RSS: idle (after start), peak (high-water
// mark) and current. moto_server runs its AssumeRole load for d in the
// same run, for its idle and peak RSS.
func memory(n, conc int, d time.Duration, bin string, noMoto bool) error {
	bin, cleanup, err := buildTipctl(bin)
	if err != nil {
		return err
	}
	defer cleanup()
	endpoint, sbCmd, err := startSandbox(bin)
	if err != nil {
		return err
	}
	defer func() { _ = sbCmd.Process.Signal(os.Interrupt); _ = sbCmd.Wait() }()
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint), HTTPClient: pooled(conc)}
	bridgeCfg, assertion, enhancedArn, err := setupChain(ctx, endpoint, cfg)
	if err != nil {
		return fmt.Errorf("chain setup: %w", err)
	}
	idle := rssField(sbCmd.Process.Pid, "VmRSS:")
	stsBridge := sts.NewFromConfig(bridgeCfg)
	var mu sync.Mutex
	left := n
	r := drive("sandbox", "AssumeRole+ProvidedContexts", 24*time.Hour, conc, func() error {
		mu.Lock()
		if left == 0 {
			mu.Unlock()
			return errStop
		}
		left--
		mu.Unlock()
		_, err := stsBridge.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(enhancedArn), RoleSessionName: aws.String("bench"),
			ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: aws.String(assertion)}}})
		return err
	})
	results := []result{r}
	sbPeak, sbNow, issued := peakRSS(sbCmd.Process.Pid), rssField(sbCmd.Process.Pid, "VmRSS:"), sessionsIssued(endpoint)
	motoIdle, motoPeak := "", ""
	if !noMoto {
		mr, i, p, err := benchMoto(ctx, d, conc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: moto_server:", err)
		}
		results = append(results, mr...)
		motoIdle, motoPeak = i, p
	}
	printTable(results)
	fmt.Printf("\nsandbox: %d sessions issued; RSS idle %s, peak %s, now %s\n", issued, idle, sbPeak, sbNow)
	if motoPeak != "" {
		fmt.Printf("moto_server (AssumeRole for %s): RSS idle %s, peak %s\n", d, motoIdle, motoPeak)
	}
	return nil
}
