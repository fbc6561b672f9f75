// Command s3agcached times `tipctl s3ag get-data-access` on its cached path,
// as the AWS CLI runs it for every command through credential_process, and
// compares it with a floor: a Go binary that only prints a file.
//
// It builds tipctl, bench/sandboxbrowser and bench/floor, starts `tipctl
// sandbox` on a free loopback port, writes a sandbox profile into a fresh
// TIPCTL_HOME, logs in with `tipctl auth login --browser` and BROWSER set to
// sandboxbrowser (no test backdoor: the sandbox's real login page), mints
// once, then times a cached sub-prefix request with hyperfine when it is
// installed, else with a timing loop. It checks that the timed runs made no
// GetDataAccess call, and prints the medians and the ratio.
//
//	go run ./bench/s3agcached [-runs 200] [-json results.json]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const target = "s3://analytics-data/emea/"

// timed is the request timed: a sub-prefix served by the cached grant.
var timed = []string{"s3ag", "get-data-access", "s3://analytics-data/emea/2025/", "--permission", "READ"}

type result struct {
	Tool           string  `json:"tool"`
	Runs           int     `json:"runs"`
	TipctlMedianMS float64 `json:"tipctl_median_ms"`
	TipctlMeanMS   float64 `json:"tipctl_mean_ms"`
	// Startup is `tipctl version`: the binary's own start-up cost.
	StartupMedianMS float64 `json:"tipctl_version_median_ms"`
	FloorMedianMS   float64 `json:"floor_median_ms"`
	FloorMeanMS     float64 `json:"floor_mean_ms"`
	Ratio           float64 `json:"ratio_median"`
	GetDataAccess   int64   `json:"get_data_access_calls"`
}

func main() {
	runs := flag.Int("runs", 200, "timed runs of each command")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	noHyperfine := flag.Bool("no-hyperfine", false, "use the built-in timing loop even when hyperfine is installed")
	flag.Parse()
	if err := run(*runs, *jsonOut, *noHyperfine); err != nil {
		fmt.Fprintln(os.Stderr, "s3agcached:", err)
		os.Exit(1)
	}
}

func run(runs int, jsonOut string, noHyperfine bool) error {
	dir, err := os.MkdirTemp("", "s3agcached")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for _, name := range []string{"tipctl", "sandboxbrowser", "floor"} {
		pkg := "./cmd/tipctl"
		if name != "tipctl" {
			pkg = "./bench/" + name
		}
		bins[name] = filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-o", bins[name], pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}

	// The sandbox, as its own process.
	sb := exec.Command(bins["tipctl"], "sandbox", "--listen", "127.0.0.1:0")
	stdout, err := sb.StdoutPipe()
	if err != nil {
		return err
	}
	sb.Stderr = io.Discard
	if err := sb.Start(); err != nil {
		return err
	}
	defer func() { _ = sb.Process.Signal(os.Interrupt); _ = sb.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the sandbox did not start: %v", err)
	}
	endpoint := strings.TrimSpace(line)

	home := filepath.Join(dir, "home")
	env := cleanEnv(os.Environ(), "TIPCTL_HOME="+home, "TIPCTL_KEYRING_BACKEND=file", "TIPCTL_PROFILE=", "NO_COLOR=1",
		"BROWSER="+bins["sandboxbrowser"], "TIPCTL_SANDBOX_USER=alice@example.com", "TIPCTL_SANDBOX_PASSWORD=alice-sandbox-pw")
	tipctl := func(args ...string) ([]byte, error) {
		cmd := exec.Command(bins["tipctl"], args...)
		cmd.Env = env
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("tipctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return out, nil
	}
	if _, err := tipctl("configure", "sandbox", "--endpoint", endpoint); err != nil {
		return err
	}
	if _, err := tipctl("auth", "login", "--browser"); err != nil {
		return err
	}
	creds, err := tipctl("s3ag", "get-data-access", target, "--permission", "READ")
	if err != nil {
		return err
	}
	// The floor prints what tipctl prints.
	credsFile := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		return err
	}
	before, err := getDataAccessCalls(endpoint)
	if err != nil {
		return err
	}
	if again, err := tipctl(timed...); err != nil || !bytes.Equal(again, creds) {
		return fmt.Errorf("the timed request is not served from the cache (%v)", err)
	}

	res := result{Runs: runs}
	if _, lerr := exec.LookPath("hyperfine"); lerr == nil && !noHyperfine {
		res.Tool = "hyperfine"
		err = withHyperfine(&res, dir, env, append([]string{bins["tipctl"]}, timed...), []string{bins["floor"], credsFile}, []string{bins["tipctl"], "version"})
	} else {
		res.Tool = "go timing loop"
		err = withLoop(&res, env, append([]string{bins["tipctl"]}, timed...), []string{bins["floor"], credsFile}, []string{bins["tipctl"], "version"})
	}
	if err != nil {
		return err
	}
	after, err := getDataAccessCalls(endpoint)
	if err != nil {
		return err
	}
	res.GetDataAccess = after - before
	if res.GetDataAccess != 0 {
		return fmt.Errorf("the timed runs made %d GetDataAccess calls; the cached path must make none", res.GetDataAccess)
	}
	res.Ratio = res.TipctlMedianMS / res.FloorMedianMS

	fmt.Printf("tipctl s3ag get-data-access (cached, %d runs, %s)\n", res.Runs, res.Tool)
	fmt.Printf("  tipctl median %.2f ms (mean %.2f ms)\n", res.TipctlMedianMS, res.TipctlMeanMS)
	fmt.Printf("  floor  median %.2f ms (mean %.2f ms): a Go binary printing the same JSON from a file\n", res.FloorMedianMS, res.FloorMeanMS)
	fmt.Printf("  `tipctl version` median %.2f ms: the tipctl binary's start-up alone\n", res.StartupMedianMS)
	fmt.Printf("  ratio  %.2fx the floor; GetDataAccess calls during the runs: %d\n", res.Ratio, res.GetDataAccess)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// cleanEnv drops AWS_* and TIPCTL_* variables from base and adds extra.
func cleanEnv(base []string, extra ...string) []string {
	var out []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "TIPCTL_") && !strings.HasPrefix(kv, "BROWSER=") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

func getDataAccessCalls(endpoint string) (int64, error) {
	resp, err := http.Get(endpoint + "/_sandbox/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var stats struct {
		Operations map[string]int64 `json:"operations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		return 0, fmt.Errorf("/_sandbox/stats: %w", err)
	}
	return stats.Operations["s3:GetDataAccess"], nil
}

func withHyperfine(res *result, dir string, env []string, tipctl, floor, startup []string) error {
	out := filepath.Join(dir, "hyperfine.json")
	cmd := exec.Command("hyperfine", "--shell=none", "--warmup", "5", "--runs", fmt.Sprint(res.Runs), "--style", "none",
		"--export-json", out, "--command-name", "tipctl", strings.Join(tipctl, " "), "--command-name", "floor", strings.Join(floor, " "),
		"--command-name", "startup", strings.Join(startup, " "))
	cmd.Env = env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if b, err := cmd.Output(); err != nil {
		return fmt.Errorf("hyperfine: %v\n%s%s", err, b, errb.Bytes())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var hf struct {
		Results []struct {
			Command string  `json:"command"`
			Mean    float64 `json:"mean"`
			Median  float64 `json:"median"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &hf); err != nil || len(hf.Results) != 3 {
		return fmt.Errorf("hyperfine's JSON: %v", err)
	}
	res.TipctlMedianMS, res.TipctlMeanMS = hf.Results[0].Median*1000, hf.Results[0].Mean*1000
	res.FloorMedianMS, res.FloorMeanMS = hf.Results[1].Median*1000, hf.Results[1].Mean*1000
	res.StartupMedianMS = hf.Results[2].Median * 1000
	return nil
}

func withLoop(res *result, env []string, tipctl, floor, startup []string) error {
	time1 := func(argv []string) (time.Duration, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdout = io.Discard
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), err
	}
	measure := func(argv []string) (median, mean float64, err error) {
		for range 5 {
			if _, err := time1(argv); err != nil {
				return 0, 0, err
			}
		}
		ds := make([]float64, 0, res.Runs)
		var sum float64
		for range res.Runs {
			d, err := time1(argv)
			if err != nil {
				return 0, 0, err
			}
			ms := float64(d) / float64(time.Millisecond)
			ds = append(ds, ms)
			sum += ms
		}
		sort.Float64s(ds)
		if len(ds) == 0 {
			return 0, 0, errors.New("no runs")
		}
		return ds[len(ds)/2], sum / float64(len(ds)), nil
	}
	var err error
	if res.TipctlMedianMS, res.TipctlMeanMS, err = measure(tipctl); err != nil {
		return fmt.Errorf("timing tipctl: %w", err)
	}
	if res.FloorMedianMS, res.FloorMeanMS, err = measure(floor); err != nil {
		return fmt.Errorf("timing the floor: %w", err)
	}
	if res.StartupMedianMS, _, err = measure(startup); err != nil {
		return fmt.Errorf("timing tipctl version: %w", err)
	}
	return nil
}
