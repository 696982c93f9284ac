// Command backpressure measures the provider against an admin API that
// pushes back, for `make bench-backpressure`. For each CLI and each
// parallelism it starts the standalone emulator with a rate limit, applies
// a configuration of N tenants through a recording proxy, and prints one
// row: how long the apply took, how many requests the emulator counted and
// how many it refused (429), and what the client's retries did: whether
// every refusal was followed by at most one retry, whether any came before
// the Retry-After had passed, how much longer than asked they waited, and
// how many arrived at the same instant.
//
// It fails (exit 1) when an apply fails or a retry breaks those rules; the
// times are figures to read, not asserted.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

type config struct {
	n           int
	parallelism []int
	rateLimit   float64
	rateBurst   int
	clis        []string
	maxRetries  int
	timeout     time.Duration
	keep        bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var par, clis string
	fs := flag.NewFlagSet("backpressure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 1000, "tenants in the configuration (count)")
	fs.StringVar(&par, "parallelism", "10,50", "the CLI's -parallelism values, comma-separated; one run each")
	fs.Float64Var(&c.rateLimit, "rate-limit", 200, "the emulator's -rate-limit, admin API requests per second")
	fs.IntVar(&c.rateBurst, "rate-burst", 0, "the emulator's -rate-burst (0: its default)")
	fs.StringVar(&clis, "cli", "bin/tofu", "CLIs to run, comma-separated paths")
	fs.IntVar(&c.maxRetries, "max-retries", -1, "the provider's max_retries (-1: not set, its default)")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "give up on one apply after this long")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (configurations, CLI and emulator logs)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.n < 1 {
		return c, errors.New("-n must be at least 1")
	}
	if !(c.rateLimit > 0) {
		return c, errors.New("-rate-limit must be positive: the benchmark is about a server that pushes back")
	}
	for _, f := range strings.Split(par, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 1 {
			return c, fmt.Errorf("-parallelism: %q is not a positive number", f)
		}
		c.parallelism = append(c.parallelism, p)
	}
	for _, f := range strings.Split(clis, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.clis = append(c.clis, f)
		}
	}
	if len(c.clis) == 0 {
		return c, errors.New("-cli: name at least one CLI")
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err == nil {
		err = run(c, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backpressure:", err)
		os.Exit(1)
	}
}

// result is one run's row.
type result struct {
	cli         string
	parallelism int
	elapsed     time.Duration
	requests    int // as the emulator counted them
	statuses    map[string]int
	analysis
	problems []string
}

func run(c config, stdout, stderr io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "backpressure-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintf(stderr, "work directory: %s\n", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}

	// The provider and the emulator are built here, not taken from bin/,
	// so that a run measures the source as it is.
	plugins := filepath.Join(work, "plugins")
	emulatorBin := filepath.Join(work, "emulator")
	for _, b := range [][2]string{{filepath.Join(plugins, "terraform-provider-tempo"), "."}, {emulatorBin, "./internal/cmd/emulator"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}
	rc := filepath.Join(work, "cli.tfrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/tempo-tenancy/tempo" = %q
    "registry.opentofu.org/tempo-tenancy/tempo" = %q
  }
  direct {}
}
`, plugins, plugins)), 0o600); err != nil {
		return err
	}

	var clis []string
	for _, cli := range c.clis {
		if !filepath.IsAbs(cli) && strings.ContainsRune(cli, filepath.Separator) {
			cli = filepath.Join(root, cli)
		}
		clis = append(clis, cli)
	}
	fmt.Fprintln(stdout, machine(clis, rc))
	retries := "default"
	if c.maxRetries >= 0 {
		retries = strconv.Itoa(c.maxRetries)
	}
	fmt.Fprintf(stdout, "\nN = %d tenants, emulator -rate-limit %g (burst %d), provider max_retries %s\n\n",
		c.n, c.rateLimit, emulator.RateBurst(c.rateLimit, c.rateBurst), retries)
	fmt.Fprintln(stdout, "| CLI | parallelism | apply time | requests | 429 | gave up | retries | unprompted | early | waited beyond Retry-After (min / median / max) | largest herd (10 ms) |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
	failed := false
	for _, cli := range clis {
		for _, p := range c.parallelism {
			r, err := runOne(c, cli, p, work, rc, emulatorBin)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, r.row())
			for _, pr := range r.problems {
				failed = true
				fmt.Fprintf(stderr, "%s -parallelism=%d: %s\n", filepath.Base(cli), p, pr)
			}
		}
	}
	if failed {
		return errors.New("the client broke a back-pressure rule (see above)")
	}
	return nil
}

func (r result) row() string {
	slack := "–"
	if r.SlackMax != 0 || r.SlackMin != 0 {
		slack = fmt.Sprintf("%s / %s / %s", ms(r.SlackMin), ms(r.SlackMedian), ms(r.SlackMax))
	}
	return fmt.Sprintf("| %s | %d | %.1f s | %d | %d | %d | %d | %d | %d | %s | %d |",
		filepath.Base(r.cli), r.parallelism, r.elapsed.Seconds(), r.requests, r.statuses["429"], r.GaveUp,
		r.Retries, r.Unprompted, r.Early, slack, r.Herd)
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func runOne(c config, cli string, p int, work, rc, emulatorBin string) (result, error) {
	r := result{cli: cli, parallelism: p}
	dir := filepath.Join(work, fmt.Sprintf("%s-p%d", filepath.Base(cli), p))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	token := randomToken()
	emu, err := startEmulator(emulatorBin, dir, token, c.rateLimit, c.rateBurst)
	if err != nil {
		return r, err
	}
	defer emu.stop()

	target, err := url.Parse(emu.url)
	if err != nil {
		return r, err
	}
	rec := newRecorder(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	proxy := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proxy.Serve(ln) }()
	defer func() { _ = proxy.Close() }()

	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(configuration(c.n, c.maxRetries)), 0o600); err != nil {
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "-chdir="+dir, "apply", "-auto-approve", "-input=false", "-no-color",
		"-parallelism="+strconv.Itoa(p))
	cmd.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"TEMPO_ADMIN_URL=http://"+ln.Addr().String(), "TEMPO_ADMIN_TOKEN="+token)
	logFile, err := os.Create(filepath.Join(dir, "apply.log"))
	if err != nil {
		return r, err
	}
	defer func() { _ = logFile.Close() }()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	applyErr := cmd.Run()
	r.elapsed = time.Since(start)
	if applyErr != nil {
		r.problems = append(r.problems, fmt.Sprintf("apply failed (%v); last lines of its log:\n%s", applyErr, tail(logFile.Name(), 15)))
	}

	byRoute, err := emu.counts("")
	if err != nil {
		return r, err
	}
	if r.statuses, err = emu.counts("status"); err != nil {
		return r, err
	}
	for _, n := range byRoute {
		r.requests += n
	}
	r.analysis = analyze(rec.snapshot())
	r.problems = append(r.problems, r.check(c.n)...)
	return r, nil
}

// check states the rules a run must keep.
func (r result) check(n int) []string {
	var out []string
	if got := r.statuses["201"] + r.statuses["200"]; got != n {
		out = append(out, fmt.Sprintf("%d requests succeeded, want %d creates", got, n))
	}
	if r.requests != r.Requests {
		out = append(out, fmt.Sprintf("the emulator counted %d requests, the recorder %d", r.requests, r.Requests))
	}
	if r.Refused != r.statuses["429"] {
		out = append(out, fmt.Sprintf("the emulator counted %d refusals, the recorder %d", r.statuses["429"], r.Refused))
	}
	if want := r.Operations + r.Refused - r.GaveUp; r.Requests != want {
		out = append(out, fmt.Sprintf("%d requests for %d operations and %d refusals (%d of them final): a refusal must cost one retry, no more",
			r.Requests, r.Operations, r.Refused, r.GaveUp))
	}
	if r.GaveUp > 0 {
		out = append(out, fmt.Sprintf("%d requests were still refused when the client gave up", r.GaveUp))
	}
	if r.Unprompted > 0 {
		out = append(out, fmt.Sprintf("%d retries were not prompted by a retryable answer, or overlapped the attempt before", r.Unprompted))
	}
	if r.Early > 0 {
		out = append(out, fmt.Sprintf("%d retries came before Retry-After had passed (earliest %s early)", r.Early, -r.SlackMin))
	}
	return out
}

func configuration(n, maxRetries int) string {
	provider := `provider "tempo" {}`
	if maxRetries >= 0 {
		provider = fmt.Sprintf("provider \"tempo\" {\n  max_retries = %d\n}", maxRetries)
	}
	return fmt.Sprintf(`terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo" }
  }
}

%s

resource "tempo_tenant" "t" {
  count   = %d
  name    = format("bp-%%05d", count.index)
  cluster = "tempo"
}
`, provider, n)
}

type emulatorProc struct {
	cmd *exec.Cmd
	url string
}

const listeningPrefix = "emulator listening on "

func startEmulator(bin, dir, token string, rateLimit float64, burst int) (*emulatorProc, error) {
	args := []string{"-listen", "127.0.0.1:0", "-admin-token", token, "-control",
		"-rate-limit", strconv.FormatFloat(rateLimit, 'g', -1, 64)}
	if burst > 0 {
		args = append(args, "-rate-burst", strconv.Itoa(burst))
	}
	cmd := exec.Command(bin, args...)
	logFile, err := os.Create(filepath.Join(dir, "emulator.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	_ = logFile.Close() // the child has its own descriptor
	e := &emulatorProc{cmd: cmd}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), listeningPrefix); ok {
			e.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if e.url == "" {
		e.stop()
		return nil, fmt.Errorf("the emulator did not start; see %s", filepath.Join(dir, "emulator.log"))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return e, nil
}

func (e *emulatorProc) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

// counts reads /_emulator/counts, per route or (by "status") per status.
func (e *emulatorProc) counts(by string) (map[string]int, error) {
	u := e.url + "/_emulator/counts"
	if by != "" {
		u += "?by=" + by
	}
	resp, err := http.Get(u) //nolint:gosec,noctx // loopback, our own emulator
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	var m map[string]int
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the provider's module")
	}
	return filepath.Dir(gomod), nil
}

// machine describes where the figures were taken.
func machine(clis []string, rc string) string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", kernel " + strings.TrimSpace(string(b))
	}
	var versions []string
	for _, cli := range clis {
		cmd := exec.Command(cli, "version")
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1")
		out, err := cmd.Output()
		if err != nil {
			versions = append(versions, filepath.Base(cli)+" (version unknown)")
			continue
		}
		first, _, _ := strings.Cut(string(out), "\n")
		versions = append(versions, strings.TrimSpace(first))
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), %s/%s%s, %s; %s", runtime.NumCPU(), cpu,
		runtime.GOOS, runtime.GOARCH, kernel, runtime.Version(), strings.Join(versions, ", "))
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
