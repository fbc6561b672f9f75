package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/tip/awsconf"
)

// buildTipctl builds tipctl into a temporary directory unless bin is set.
func buildTipctl(bin string) (string, func(), error) {
	if bin != "" {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "loadgen")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "tipctl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tipctl").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build tipctl: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// startSandbox runs `tipctl sandbox` with extra args and returns its URL.
func startSandbox(bin string, args ...string) (string, *exec.Cmd, error) {
	cmd := exec.Command(bin, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, fmt.Errorf("sandbox did not start: %v", err)
	}
	return strings.TrimSpace(line), cmd, nil
}

// sandboxOps are the calls compared, bound to one sandbox.
func sandboxOps(ctx context.Context, endpoint string, conc int) (map[string]func() error, error) {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint), HTTPClient: pooled(conc)}
	bridge, assertion, enhancedArn, err := setupChain(ctx, endpoint, cfg)
	if err != nil {
		return nil, fmt.Errorf("chain setup: %w", err)
	}
	stsBridge, stsAdmin := sts.NewFromConfig(bridge), sts.NewFromConfig(cfg)
	provided := []ststypes.ProvidedContext{{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: aws.String(assertion)}}
	out, err := stsBridge.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(enhancedArn), RoleSessionName: aws.String("bench"), ProvidedContexts: provided})
	if err != nil {
		return nil, err
	}
	enh := cfg.Copy()
	c := out.Credentials
	enh.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	s3c := s3control.NewFromConfig(enh, awsconf.S3ControlOptions(endpoint))
	s3a := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3a.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv"),
		Body: strings.NewReader(strings.Repeat("region,revenue\nEMEA,100\n", 40))}); err != nil {
		return nil, err
	}
	return map[string]func() error{
		"AssumeRole+ProvidedContexts": func() error {
			_, err := stsBridge.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(enhancedArn), RoleSessionName: aws.String("bench"), ProvidedContexts: provided})
			return err
		},
		"AssumeRole": func() error {
			_, err := stsAdmin.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/quicksight-snapshots"), RoleSessionName: aws.String("bench")})
			return err
		},
		"GetDataAccess": func() error {
			_, err := s3c.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: aws.String("123456789012"),
				Target: aws.String("s3://analytics-data/emea/*"), Permission: "READ"})
			return err
		},
		"S3 GetObject": func() error {
			o, err := s3a.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv")})
			if err == nil {
				_, _ = io.Copy(io.Discard, o.Body)
				o.Body.Close()
			}
			return err
		},
	}, nil
}

// motoOps are moto_server's peers of the compared calls.
func motoOps(ctx context.Context, endpoint string, conc int) map[string]func() error {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint), HTTPClient: pooled(conc)}
	stsc := sts.NewFromConfig(cfg)
	s3m := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ops := map[string]func() error{}
	assume := func() error {
		_, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/bench"), RoleSessionName: aws.String("bench")})
		return err
	}
	ops["AssumeRole+ProvidedContexts"], ops["AssumeRole"] = assume, assume
	if _, err := s3m.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("analytics-data")}); err == nil {
		if _, err := s3m.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv"),
			Body: strings.NewReader(strings.Repeat("region,revenue\nEMEA,100\n", 40))}); err == nil {
			ops["S3 GetObject"] = func() error {
				o, err := s3m.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("bench/object.csv")})
				if err == nil {
					_, _ = io.Copy(io.Discard, o.Body)
					o.Body.Close()
				}
				return err
			}
		}
	}
	return ops
}

// compareRecord measures what CloudTrail recording costs under load: two
// sandboxes run at once, one with --record=false, and each operation is
// driven in short alternating windows (off, on, moto_server; the order
// rotates each round), so that the machine's changing load falls on all
// alike. Each round gives an on/off throughput ratio, which equals the
// ratio of the sandbox-vs-moto ratios with and without recording.
func compareRecord(rounds int, window time.Duration, conc int, bin string, noMoto bool) error {
	bin, cleanup, err := buildTipctl(bin)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx := context.Background()
	var urls [2]string
	var cmds [2]*exec.Cmd
	for i, args := range [][]string{{"--record=false"}, nil} {
		u, cmd, err := startSandbox(bin, args...)
		if err != nil {
			return err
		}
		defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
		urls[i], cmds[i] = u, cmd
	}
	off, err := sandboxOps(ctx, urls[0], conc)
	if err != nil {
		return err
	}
	on, err := sandboxOps(ctx, urls[1], conc)
	if err != nil {
		return err
	}
	var moto map[string]func() error
	pids := map[string]int{"off": cmds[0].Process.Pid, "on": cmds[1].Process.Pid}
	if !noMoto {
		if _, err := exec.LookPath("moto_server"); err != nil {
			return errors.New("moto_server not found; pass -no-moto")
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		pids["moto"] = cmd.Process.Pid
		u := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := waitHTTP(u+"/moto-api/", 20*time.Second); err != nil {
			return err
		}
		moto = motoOps(ctx, u, conc)
	}
	fmt.Printf("# recording off vs on: %d rounds of %s windows, %d workers\n", rounds, window, conc)
	for _, name := range []string{"AssumeRole+ProvidedContexts", "AssumeRole", "GetDataAccess", "S3 GetObject"} {
		variants := []string{"off", "on"}
		if moto[name] != nil {
			variants = append(variants, "moto")
		}
		ops := map[string]func() error{"off": off[name], "on": on[name], "moto": moto[name]}
		fmt.Printf("\n## %s\n\n| round | off calls/s | on calls/s | on / off |", name)
		if moto[name] != nil {
			fmt.Printf(" moto calls/s | off / moto | on / moto |")
		}
		fmt.Println()
		for _, v := range variants { // warm up: connections, and the recorder's ring filled
			drive(v, name, window, conc, ops[v])
		}
		var rel []float64
		sum := map[string][2]float64{}
		cpu := map[string]float64{} // CPU seconds of each server process
		for r := 0; r < rounds; r++ {
			rate := map[string]float64{}
			for k := 0; k < len(variants); k++ {
				v := variants[(r+k)%len(variants)]
				c0 := cpuSeconds(pids[v])
				res := drive(v, name, window, conc, ops[v])
				cpu[v] += cpuSeconds(pids[v]) - c0
				if res.Errors > 0 {
					fmt.Fprintf(os.Stderr, "  %s %s: %d errors, first: %s\n", v, name, res.Errors, res.FirstError)
				}
				rate[v] = res.PerSecond
				s := sum[v]
				sum[v] = [2]float64{s[0] + float64(res.Calls), s[1] + res.Seconds}
			}
			rel = append(rel, rate["on"]/rate["off"])
			fmt.Printf("| %d | %.0f | %.0f | %.3f |", r+1, rate["off"], rate["on"], rate["on"]/rate["off"])
			if moto[name] != nil {
				fmt.Printf(" %.0f | %.1f× | %.1f× |", rate["moto"], rate["off"]/rate["moto"], rate["on"]/rate["moto"])
			}
			fmt.Println()
		}
		sort.Float64s(rel)
		tot := func(v string) float64 { return sum[v][0] / sum[v][1] }
		fmt.Printf("\n%s: on/off median %.3f (range %.3f … %.3f); totals off %.0f/s, on %.0f/s", name, rel[len(rel)/2], rel[0], rel[len(rel)-1], tot("off"), tot("on"))
		if moto[name] != nil {
			fmt.Printf(", moto %.0f/s: ratio vs moto off %.1f×, on %.1f×", tot("moto"), tot("off")/tot("moto"), tot("on")/tot("moto"))
		}
		per := func(v string) float64 { return cpu[v] / sum[v][0] * 1e6 }
		fmt.Printf("\n%s: server CPU per call off %.0f µs, on %.0f µs (on/off %.3f)", name, per("off"), per("on"), per("on")/per("off"))
		if moto[name] != nil {
			fmt.Printf(", moto %.0f µs", per("moto"))
		}
		fmt.Println()
	}
	fmt.Printf("\npeak RSS: sandbox --record=false %s, recording %s\n", peakRSS(cmds[0].Process.Pid), peakRSS(cmds[1].Process.Pid))
	return nil
}

// cpuSeconds is a process's user+system CPU time (/proc/PID/stat, in
// clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100
}
