// Command procbench measures tipctl as whole processes, the way the AWS CLI
// runs it through credential_process, against a `tipctl sandbox` process:
//
//   - cached `auth get-iam-credentials` and `s3ag get-data-access`: median
//     and spread (hyperfine when installed, else a timing loop), against a
//     floor (a Go binary that only prints a file) and `tipctl version`;
//   - the cold chain (IdP refresh + 3 AWS calls): wall time and round trips;
//   - N concurrent credential_process calls with nothing cached: total wall
//     time and the exchanges the sandbox saw;
//   - peak RSS of each command and the binary's size.
//
// Login uses the sandbox's real login page (BROWSER=bench/sandboxbrowser).
//
//	go run ./bench/procbench [-runs 200] [-json out.json]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type timing struct {
	Name     string  `json:"name"`
	Command  string  `json:"command"`
	MedianMS float64 `json:"median_ms"`
	MeanMS   float64 `json:"mean_ms"`
	StddevMS float64 `json:"stddev_ms"`
	MinMS    float64 `json:"min_ms"`
	MaxMS    float64 `json:"max_ms"`
	PeakKB   int     `json:"peak_rss_kb"`
}

type report struct {
	Date        string           `json:"date"`
	Tool        string           `json:"tool"`
	Runs        int              `json:"runs"`
	BinaryBytes int64            `json:"binary_bytes"`
	CredsBytes  int64            `json:"tipctl_creds_bytes"`
	Timings     []timing         `json:"timings"`
	Cold        []map[string]any `json:"cold_chain"`
	Concurrent  []map[string]any `json:"concurrent"`
}

func main() {
	runs := flag.Int("runs", 200, "timed runs of each cached command")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()
	if err := run(*runs, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	dir, endpoint string
	bins          map[string]string
	env           []string
}

func (b *bench) tipctl(args ...string) ([]byte, error) {
	cmd := exec.Command(b.bins["tipctl"], args...)
	cmd.Env = b.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tipctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out, nil
}

func (b *bench) stats() (map[string]int64, error) {
	resp, err := http.Get(b.endpoint + "/_sandbox/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s struct {
		Operations map[string]int64 `json:"operations"`
	}
	return s.Operations, json.NewDecoder(resp.Body).Decode(&s)
}

func run(runs int, jsonOut string) error {
	dir, err := os.MkdirTemp("", "procbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{dir: dir, bins: map[string]string{}}
	for name, pkg := range map[string]string{"tipctl": "./cmd/tipctl", "tipctl-creds": "./cmd/tipctl-creds",
		"sandboxbrowser": "./bench/sandboxbrowser", "floor": "./bench/floor"} {
		b.bins[name] = filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-o", b.bins[name], pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	rep := &report{Date: time.Now().UTC().Format(time.RFC3339), Runs: runs}
	if st, err := os.Stat(b.bins["tipctl"]); err == nil {
		rep.BinaryBytes = st.Size()
	}
	if st, err := os.Stat(b.bins["tipctl-creds"]); err == nil {
		rep.CredsBytes = st.Size()
	}

	sb := exec.Command(b.bins["tipctl"], "sandbox", "--listen", "127.0.0.1:0")
	stdout, _ := sb.StdoutPipe()
	sb.Stderr = io.Discard
	if err := sb.Start(); err != nil {
		return err
	}
	defer func() { _ = sb.Process.Signal(os.Interrupt); _ = sb.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the sandbox did not start: %v", err)
	}
	b.endpoint = strings.TrimSpace(line)
	b.env = cleanEnv(os.Environ(), "TIPCTL_HOME="+filepath.Join(dir, "home"), "TIPCTL_KEYRING_BACKEND=file", "NO_COLOR=1",
		"BROWSER="+b.bins["sandboxbrowser"], "TIPCTL_SANDBOX_USER=alice@example.com", "TIPCTL_SANDBOX_PASSWORD=alice-sandbox-pw")
	if _, err := b.tipctl("configure", "sandbox", "--endpoint", b.endpoint); err != nil {
		return err
	}
	if _, err := b.tipctl("auth", "login", "--browser"); err != nil {
		return err
	}

	// Cold chain: every run needs an IdP refresh (assertions are single use)
	// and the three AWS calls.
	for i := 0; i < 5; i++ {
		before, _ := b.stats()
		start := time.Now()
		if _, err := b.tipctl("auth", "get-iam-credentials", "--force-new"); err != nil {
			return err
		}
		el := time.Since(start)
		after, _ := b.stats()
		trips := map[string]int64{}
		var total int64
		for k, v := range after {
			if d := v - before[k]; d > 0 {
				trips[k] = d
				total += d
			}
		}
		rep.Cold = append(rep.Cold, map[string]any{"wall_ms": ms(el), "round_trips": total, "calls": trips})
	}

	creds, err := b.tipctl("auth", "get-iam-credentials")
	if err != nil {
		return err
	}
	credsFile := filepath.Join(dir, "creds.json")
	_ = os.WriteFile(credsFile, creds, 0o600)
	if _, err := b.tipctl("s3ag", "get-data-access", "s3://analytics-data/emea/", "--permission", "READ"); err != nil {
		return err
	}
	before, _ := b.stats()
	cmds := []struct{ name, argv string }{
		{"floor (prints a file)", b.bins["floor"] + " " + credsFile},
		{"tipctl version", b.bins["tipctl"] + " version"},
		{"auth get-iam-credentials (cached)", b.bins["tipctl"] + " auth get-iam-credentials"},
		{"s3ag get-data-access (cached)", b.bins["tipctl"] + " s3ag get-data-access s3://analytics-data/emea/2025/ --permission READ"},
		{"tipctl-creds auth get-iam-credentials (cached)", b.bins["tipctl-creds"] + " auth get-iam-credentials"},
		{"tipctl-creds s3ag get-data-access (cached)", b.bins["tipctl-creds"] + " s3ag get-data-access s3://analytics-data/emea/2025/ --permission READ"},
	}
	if _, err := exec.LookPath("hyperfine"); err == nil {
		rep.Tool = "hyperfine"
		if err := b.hyperfine(rep, runs, cmds); err != nil {
			return err
		}
	} else {
		rep.Tool = "go timing loop"
		for _, c := range cmds {
			t, err := b.loop(c.name, c.argv, runs)
			if err != nil {
				return err
			}
			rep.Timings = append(rep.Timings, t)
		}
	}
	after, _ := b.stats()
	for _, op := range []string{"sso-oauth:CreateTokenWithIAM", "s3:GetDataAccess", "sts:AssumeRole"} {
		if after[op] != before[op] {
			return fmt.Errorf("the cached runs made %d %s calls", after[op]-before[op], op)
		}
	}
	for i := range rep.Timings {
		rep.Timings[i].PeakKB = b.peakRSS(rep.Timings[i].Command)
	}

	// N processes at once with nothing cached: one exchange.
	for _, n := range []int{50, 100} {
		if _, err := b.tipctl("auth", "login", "--browser"); err != nil { // fresh login: nothing cached
			return err
		}
		before, _ := b.stats()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.tipctl("auth", "get-iam-credentials"); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		close(errs)
		failed := len(errs)
		after, _ := b.stats()
		rep.Concurrent = append(rep.Concurrent, map[string]any{"processes": n, "wall_ms": ms(el), "failed": failed,
			"exchanges":   after["sso-oauth:CreateTokenWithIAM"] - before["sso-oauth:CreateTokenWithIAM"],
			"assume_role": after["sts:AssumeRole"] - before["sts:AssumeRole"]})
	}
	print(rep)
	if jsonOut != "" {
		js, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(jsonOut, append(js, '\n'), 0o644)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (b *bench) hyperfine(rep *report, runs int, cmds []struct{ name, argv string }) error {
	out := filepath.Join(b.dir, "hyperfine.json")
	args := []string{"--shell=none", "--warmup", "10", "--runs", fmt.Sprint(runs), "--style", "none", "--export-json", out}
	for _, c := range cmds {
		args = append(args, "--command-name", c.name, c.argv)
	}
	cmd := exec.Command("hyperfine", args...)
	cmd.Env = b.env
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hyperfine: %v\n%s", err, o)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var hf struct {
		Results []struct {
			Command                        string
			Mean, Median, Stddev, Min, Max float64
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &hf); err != nil {
		return err
	}
	for i, r := range hf.Results {
		rep.Timings = append(rep.Timings, timing{Name: cmds[i].name, Command: cmds[i].argv, MedianMS: r.Median * 1000, MeanMS: r.Mean * 1000,
			StddevMS: r.Stddev * 1000, MinMS: r.Min * 1000, MaxMS: r.Max * 1000})
	}
	return nil
}

func (b *bench) loop(name, argv string, runs int) (timing, error) {
	parts := strings.Fields(argv)
	var ds []float64
	for i := 0; i < runs+10; i++ {
		cmd := exec.Command(parts[0], parts[1:]...)
		cmd.Env, cmd.Stdout = b.env, io.Discard
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return timing{}, fmt.Errorf("%s: %v", name, err)
		}
		if i >= 10 {
			ds = append(ds, ms(time.Since(start)))
		}
	}
	sort.Float64s(ds)
	var sum, sq float64
	for _, d := range ds {
		sum += d
	}
	mean := sum / float64(len(ds))
	for _, d := range ds {
		sq += (d - mean) * (d - mean)
	}
	return timing{Name: name, Command: argv, MedianMS: ds[len(ds)/2], MeanMS: mean, StddevMS: sqrt(sq / float64(len(ds))), MinMS: ds[0], MaxMS: ds[len(ds)-1]}, nil
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 30 && z > 0; i++ {
		z = (z + x/z) / 2
	}
	return z
}

// peakRSS runs argv under GNU time and returns the maximum resident set in KiB.
func (b *bench) peakRSS(argv string) int {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M"}, strings.Fields(argv)...)...)
	cmd.Env, cmd.Stdout = b.env, io.Discard
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return 0
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	kb, _ := strconv.Atoi(lines[len(lines)-1])
	return kb
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

func print(rep *report) {
	fmt.Printf("tipctl binary: %.1f MiB, tipctl-creds: %.1f MiB; timings by %s, %d runs each\n\n", float64(rep.BinaryBytes)/(1<<20),
		float64(rep.CredsBytes)/(1<<20), rep.Tool, rep.Runs)
	fmt.Println("| command | median | mean ± sd | min … max | peak RSS | vs floor |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	floor := rep.Timings[0].MedianMS
	for _, t := range rep.Timings {
		fmt.Printf("| %s | %.2f ms | %.2f ± %.2f ms | %.2f … %.2f ms | %.1f MiB | %.1f× |\n", t.Name, t.MedianMS, t.MeanMS, t.StddevMS,
			t.MinMS, t.MaxMS, float64(t.PeakKB)/1024, t.MedianMS/floor)
	}
	fmt.Println()
	for _, c := range rep.Cold {
		fmt.Printf("cold chain: %.1f ms, %v round trips %v\n", c["wall_ms"], c["round_trips"], c["calls"])
	}
	for _, c := range rep.Concurrent {
		fmt.Printf("%v concurrent credential_process calls, nothing cached: %.0f ms in all, %v failed, %v CreateTokenWithIAM, %v AssumeRole\n",
			c["processes"], c["wall_ms"], c["failed"], c["exchanges"], c["assume_role"])
	}
}
