// Command scale is the harness behind `make bench-scale`: how the provider
// behaves when one configuration holds thousands of objects.
//
// For every CLI in bin/ (tofu, terraform, terraform-<version>) and two
// configurations — N tenants, and N/3 teams of a tenant, an access policy on
// it and a token of that policy — it times four phases: the apply that
// creates everything, a plan that must find no changes, an apply that
// changes one attribute of every object, and the destroy. Each
// configuration runs against three providers, one after the other so that
// drift in the machine's load hits all three alike, as many times as -runs
// says; the table gives the medians:
//
//   - tempo: this provider, built from the module, against the standalone
//     admin API emulator on loopback (in memory, a fresh one per run);
//   - noio: internal/bench/noio, the same framework and the same schemas,
//     without any I/O: the floor the framework and the CLI set;
//   - terraform_data: the CLI's built-in resource, with the same number of
//     objects and the same references: the floor the CLI alone sets.
//
// Both plugin providers run from development overrides through
// internal/bench/rusage, which records each provider process's peak RSS
// and CPU time as the kernel accounts them. The emulator's own handling
// time and per-route request counts are read after each phase, so the
// emulator is never mistaken for the bottleneck.
//
// Nothing is asserted about time: the harness fails only when a CLI fails
// or the plan after an apply is not empty. Timings on a shared machine are
// noisy, which is why the load average is printed with the table.
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
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Phases, in the order they run.
var phases = []string{"create", "plan", "change", "destroy"}

// Providers, in the order they run.
const (
	provTempo = "tempo"
	provNoIO  = "noio"
	provData  = "terraform_data"
)

type options struct {
	n         int
	runs      int
	binDir    string
	clis      []string
	scenarios []string
	providers []string
	out       string
	jsonOut   string
	workDir   string
	keep      bool
	provider  string // a prebuilt provider binary instead of building one
	pprofDir  string
	tempoEnv  []string
	noioEnv   []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseFlags(args []string) (options, error) {
	var o options
	var clis, scenarios, providers string
	var tempoEnv, noioEnv listFlag
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 1000, "objects per configuration (the mixed one rounds down to a multiple of 3)")
	fs.IntVar(&o.runs, "runs", 1, "runs of each configuration under each CLI, the providers taking turns; the table gives medians")
	fs.StringVar(&o.binDir, "bin", "bin", "directory holding the CLIs")
	fs.StringVar(&clis, "cli", "", "comma-separated CLI names in -bin (default: every tofu, terraform and terraform-<version> there)")
	fs.StringVar(&scenarios, "scenarios", "tenants,mixed", "configurations to run: tenants, mixed")
	fs.StringVar(&providers, "providers", "tempo,noio,terraform_data", "providers to run: tempo, noio, terraform_data")
	fs.StringVar(&o.out, "out", "", "also write the report (Markdown) to this file")
	fs.StringVar(&o.jsonOut, "json", "", "also write every measurement as JSON to this file")
	fs.StringVar(&o.workDir, "work", "", "working directory (default: a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory")
	fs.StringVar(&o.provider, "provider", "", "use this provider binary instead of building the module's")
	fs.StringVar(&o.pprofDir, "pprof-dir", "", "have the tempo provider write CPU and heap profiles here (TEMPO_PROVIDER_PPROF_DIR)")
	fs.Var(&tempoEnv, "tempo-env", "KEY=VALUE added to the environment of the CLI running the tempo provider; repeatable (GOMEMLIMIT=..., GOGC=...)")
	fs.Var(&noioEnv, "noio-env", "KEY=VALUE added to the environment of the CLI running the noio provider; repeatable")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.n < 3 {
		return o, errors.New("-n must be at least 3")
	}
	if o.runs < 1 {
		return o, errors.New("-runs must be at least 1")
	}
	split := func(s string) []string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	o.clis, o.scenarios, o.providers = split(clis), split(scenarios), split(providers)
	o.tempoEnv, o.noioEnv = tempoEnv, noioEnv
	for _, s := range o.scenarios {
		if s != "tenants" && s != "mixed" {
			return o, fmt.Errorf("unknown scenario %q", s)
		}
	}
	for _, p := range o.providers {
		if p != provTempo && p != provNoIO && p != provData {
			return o, fmt.Errorf("unknown provider %q", p)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.binDir, err = filepath.Abs(o.binDir); err != nil {
		return err
	}
	if len(o.clis) == 0 {
		if o.clis, err = findCLIs(o.binDir); err != nil {
			return err
		}
	}
	if len(o.clis) == 0 {
		return fmt.Errorf("no CLI in %s: run make tools", o.binDir)
	}
	if o.workDir == "" {
		if o.workDir, err = os.MkdirTemp("", "bench-scale-"); err != nil {
			return err
		}
	}
	if !o.keep {
		defer func() { _ = os.RemoveAll(o.workDir) }()
	}
	if o.pprofDir != "" {
		if o.pprofDir, err = filepath.Abs(o.pprofDir); err != nil {
			return err
		}
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}

	b, err := build(ctx, o)
	if err != nil {
		return err
	}
	m := describeMachine(ctx, o, b)
	fmt.Fprint(os.Stderr, m.markdown())

	var results []result
	for _, cli := range o.clis {
		for _, sc := range o.scenarios {
			for run := 1; run <= o.runs; run++ {
				for _, p := range o.providers {
					rs, err := runOne(ctx, o, b, cli, sc, p)
					if err != nil {
						return fmt.Errorf("%s, %s, %s, run %d: %w", cli, sc, p, run, err)
					}
					for i := range rs {
						rs[i].Run = run
					}
					results = append(results, rs...)
				}
			}
			// What is done so far, in case a long run is cut short.
			if err := writeReports(o, m, results); err != nil {
				return err
			}
		}
	}
	m.LoadAfter = loadAverage()
	if err := writeReports(o, m, results); err != nil {
		return err
	}
	fmt.Print(m.markdown() + "\n" + table(results))
	return nil
}

// writeReports writes the -out and -json files, when asked for.
func writeReports(o options, m machine, results []result) error {
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(m.markdown()+"\n"+table(results)), 0o644); err != nil {
			return err
		}
	}
	if o.jsonOut != "" {
		data, _ := json.MarshalIndent(struct {
			Machine machine  `json:"machine"`
			Results []result `json:"results"`
		}{m, results}, "", "  ")
		if err := os.WriteFile(o.jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var cliName = regexp.MustCompile(`^(tofu|terraform|terraform-[0-9][0-9.]*)$`)

// findCLIs lists the CLIs in dir: tofu first, then the Terraforms by name.
func findCLIs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 && cliName.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if (a == "tofu") != (b == "tofu") {
			if a == "tofu" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return out, nil
}

// builds holds what the harness built in its working directory.
type builds struct {
	emulator  string
	overrides map[string]string // provider → its override directory
	tfrc      map[string]string // provider → CLI configuration
}

// build compiles the emulator, the providers and the rusage wrapper, and
// writes a CLI configuration per provider.
func build(ctx context.Context, o options) (*builds, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	b := &builds{emulator: filepath.Join(o.workDir, "emulator"), overrides: map[string]string{}, tfrc: map[string]string{}}
	wrapper := filepath.Join(o.workDir, "rusage")
	steps := [][2]string{{b.emulator, "./internal/cmd/emulator"}, {wrapper, "./internal/bench/rusage"}}
	for _, p := range []string{provTempo, provNoIO} {
		dir := filepath.Join(o.workDir, "providers", p)
		b.overrides[p] = dir
		real := filepath.Join(dir, "real", "terraform-provider-tempo")
		switch {
		case p == provTempo && o.provider != "":
			if err := copyFile(o.provider, real); err != nil {
				return nil, err
			}
		case p == provTempo:
			steps = append(steps, [2]string{real, "."})
		default:
			steps = append(steps, [2]string{real, "./internal/bench/noio"})
		}
	}
	for _, s := range steps {
		fmt.Fprintf(os.Stderr, "==> go build %s\n", s[1])
		cmd := exec.CommandContext(ctx, "go", "build", "-o", s[0], s[1])
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build %s: %w", s[1], err)
		}
	}
	for p, dir := range b.overrides {
		if err := copyFile(wrapper, filepath.Join(dir, "terraform-provider-tempo")); err != nil {
			return nil, err
		}
		b.tfrc[p] = filepath.Join(o.workDir, p+".tfrc")
		rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n"+
			"    \"registry.terraform.io/tempo-tenancy/tempo\" = %q\n"+
			"    \"registry.opentofu.org/tempo-tenancy/tempo\" = %q\n  }\n  direct {}\n}\n", dir, dir)
		if err := os.WriteFile(b.tfrc[p], []byte(rc), 0o644); err != nil {
			return nil, err
		}
	}
	b.tfrc[provData] = filepath.Join(o.workDir, "plain.tfrc")
	if err := os.WriteFile(b.tfrc[provData], []byte("# terraform_data needs no provider\n"), 0o644); err != nil {
		return nil, err
	}
	return b, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the module")
	}
	return filepath.Dir(gomod), nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// result is one phase of one run.
type result struct {
	Run      int     `json:"run"`
	CLI      string  `json:"cli"`
	Scenario string  `json:"scenario"`
	Provider string  `json:"provider"`
	Phase    string  `json:"phase"`
	Objects  int     `json:"objects"`
	Seconds  float64 `json:"seconds"`
	// CLICPUSeconds is the CPU time of the CLI and everything it waited
	// for (its providers included), as wait4 reports it.
	CLICPUSeconds float64 `json:"cli_cpu_seconds"`
	// Provider processes the CLI started in this phase, their largest peak
	// RSS and their CPU time in total.
	ProviderProcesses  int     `json:"provider_processes"`
	ProviderPeakRSSKiB int64   `json:"provider_peak_rss_kib"`
	ProviderCPUSeconds float64 `json:"provider_cpu_seconds"`
	// What the emulator saw (tempo only).
	Requests        map[string]int `json:"requests,omitempty"`
	EmulatorSeconds float64        `json:"emulator_seconds"`
	Connections     int64          `json:"connections"`
}

func (r result) key() string { return r.CLI + "|" + r.Scenario + "|" + r.Phase }

func (r result) totalRequests() int {
	n := 0
	for _, c := range r.Requests {
		n += c
	}
	return n
}

// runOne runs the four phases of one configuration under one CLI against
// one provider, in a directory of its own.
func runOne(ctx context.Context, o options, b *builds, cli, scenario, prov string) ([]result, error) {
	dir := filepath.Join(o.workDir, "runs", cli, scenario, prov)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env := cliEnv(b.tfrc[prov])
	var emu *emulator
	url := "http://127.0.0.1:1" // noio configures nothing
	if prov == provTempo {
		var err error
		if emu, err = startEmulator(ctx, b.emulator, dir); err != nil {
			return nil, err
		}
		defer emu.stop()
		url = emu.url
		env = append(env, "TEMPO_ADMIN_TOKEN="+emu.token)
	}
	switch prov {
	case provTempo:
		env = append(env, o.tempoEnv...)
	case provNoIO:
		env = append(env, o.noioEnv...)
	}
	objects := o.n
	if scenario == "mixed" {
		objects = o.n / 3 * 3
	}

	var out []result
	for _, phase := range phases {
		version := 1
		if phase == "change" || phase == "destroy" {
			version = 2
		}
		files := configFor(scenario, prov, o.n, version, url)
		for name, content := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		if phase == phases[0] && len(files) > 1 {
			// Local modules need installing; `get` does that without
			// touching providers (init would look the dev override up).
			if _, _, err := runCLI(ctx, filepath.Join(o.binDir, cli), dir, env, []string{"get", "-no-color"}, filepath.Join(dir, "get.log")); err != nil {
				return nil, err
			}
		}
		var args []string
		switch phase {
		case "create", "change":
			args = []string{"apply", "-auto-approve", "-input=false", "-no-color"}
		case "plan":
			args = []string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}
		case "destroy":
			args = []string{"destroy", "-auto-approve", "-input=false", "-no-color"}
		}
		if emu != nil {
			if err := emu.reset(ctx); err != nil {
				return nil, err
			}
		}
		phaseEnv := append(slices.Clip(env), "TEMPO_BENCH_RUSAGE_FILE="+filepath.Join(dir, phase+".rusage"))
		if o.pprofDir != "" && prov == provTempo {
			pd := filepath.Join(o.pprofDir, cli, scenario, phase)
			if err := os.MkdirAll(pd, 0o755); err != nil {
				return nil, err
			}
			phaseEnv = append(phaseEnv, "TEMPO_PROVIDER_PPROF_DIR="+pd)
		}
		usage := filepath.Join(dir, phase+".rusage")
		fmt.Fprintf(os.Stderr, "==> %s %s: %s %s (%d objects)\n", cli, scenario, prov, phase, objects)
		r := result{CLI: cli, Scenario: scenario, Provider: prov, Phase: phase, Objects: objects}
		secs, cpu, err := runCLI(ctx, filepath.Join(o.binDir, cli), dir, phaseEnv, args, filepath.Join(dir, phase+".log"))
		if err != nil {
			return nil, err
		}
		r.Seconds, r.CLICPUSeconds = secs, cpu
		if r.ProviderProcesses, r.ProviderPeakRSSKiB, r.ProviderCPUSeconds, err = readUsage(usage); err != nil {
			return nil, err
		}
		if emu != nil {
			if r.Requests, r.EmulatorSeconds, r.Connections, err = emu.read(ctx); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(os.Stderr, "    %.2fs, provider peak RSS %.1f MiB, %d requests\n", r.Seconds, float64(r.ProviderPeakRSSKiB)/1024, r.totalRequests())
		out = append(out, r)
	}
	return out, nil
}

// cliEnv is the environment of every CLI run: this process's, without
// logging or another CLI configuration, with tfrc as the configuration.
func cliEnv(tfrc string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TF_LOG") || k == "TF_CLI_CONFIG_FILE" || k == "TF_CLI_ARGS" || strings.HasPrefix(k, "TF_CLI_ARGS_") ||
			k == "TF_PLUGIN_CACHE_DIR" || strings.HasPrefix(k, "TEMPO_") || k == "GOMEMLIMIT" || k == "GOGC" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TF_CLI_CONFIG_FILE="+tfrc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}

// runCLI runs one CLI command and returns its wall time and the CPU time
// of it and its children. A plan with changes (exit code 2) is an error:
// the configuration was just applied.
func runCLI(ctx context.Context, cli, dir string, env, args []string, logFile string) (float64, float64, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, log, log
	start := time.Now()
	err = cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		tail, _ := tailOf(logFile, 40)
		return 0, 0, fmt.Errorf("%s %s: %w\n%s", filepath.Base(cli), strings.Join(args, " "), err, tail)
	}
	var cpu float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = tv(ru.Utime) + tv(ru.Stime)
	}
	return secs, cpu, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func tailOf(file string, lines int) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n"), nil
}

// readUsage sums what the rusage wrapper recorded for each provider
// process of a phase, and removes the file: the wrapper appends to it, and
// the phase's next run writes to the same one.
func readUsage(file string) (procs int, peakKiB int64, cpu float64, err error) {
	defer func() {
		if rerr := os.Remove(file); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}()
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, 0, nil // terraform_data: no provider process
	}
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var pid int
		var rss int64
		var user, sys float64
		if _, err := fmt.Sscan(sc.Text(), &pid, &rss, &user, &sys); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %q: %w", file, sc.Text(), err)
		}
		procs++
		peakKiB = max(peakKiB, rss)
		cpu += user + sys
	}
	return procs, peakKiB, cpu, sc.Err()
}

// emulator is a standalone emulator process on loopback.
type emulator struct {
	cmd   *exec.Cmd
	url   string
	token string
}

func startEmulator(ctx context.Context, bin, dir string) (*emulator, error) {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	e := &emulator{token: "bench-" + hex.EncodeToString(tok)}
	e.cmd = exec.CommandContext(ctx, bin, "-listen", "127.0.0.1:0", "-control")
	e.cmd.Env = append(os.Environ(), "TEMPO_EMULATOR_ADMIN_TOKEN="+e.token)
	e.cmd.Dir = dir
	// One log line per request: kept out of the way, not on the terminal.
	logf, err := os.Create(filepath.Join(dir, "emulator.log"))
	if err != nil {
		return nil, err
	}
	e.cmd.Stderr = logf
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	_ = logf.Close() // the child has its own descriptor
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "emulator listening on "); ok {
			e.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if e.url == "" {
		e.stop()
		return nil, errors.New("the emulator did not start; see emulator.log")
	}
	return e, nil
}

func (e *emulator) stop() {
	_ = e.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

func (e *emulator) reset(ctx context.Context) error {
	err := e.call(ctx, http.MethodPost, "/_emulator/reset", nil)
	return err
}

// read returns the requests per "METHOD route" since the last reset, with
// object names folded into the route, the emulator's handling time and the
// connections it accepted.
func (e *emulator) read(ctx context.Context) (map[string]int, float64, int64, error) {
	// Stats first: this process's own requests then count in neither.
	var stats struct {
		HandlingSeconds float64 `json:"handling_seconds"`
		Connections     int64   `json:"connections"`
	}
	if err := e.call(ctx, http.MethodGet, "/_emulator/stats", &stats); err != nil {
		return nil, 0, 0, err
	}
	var counts map[string]int
	if err := e.call(ctx, http.MethodGet, "/_emulator/counts", &counts); err != nil {
		return nil, 0, 0, err
	}
	routes := map[string]int{}
	for k, n := range counts {
		routes[routeOf(k)] += n
	}
	return routes, stats.HandlingSeconds, stats.Connections, nil
}

// routeOf folds "GET /admin/api/v3/tenants/t-00001" into "GET tenants/{name}".
func routeOf(key string) string {
	method, p, _ := strings.Cut(key, " ")
	p = strings.TrimPrefix(p, "/admin/api/v3/")
	kind, name, _ := strings.Cut(p, "/")
	if name != "" {
		return method + " " + kind + "/{name}"
	}
	return method + " " + kind
}

func (e *emulator) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// machine describes where the figures were taken.
type machine struct {
	CPU        string            `json:"cpu"`
	Cores      int               `json:"cores"`
	MemoryMiB  int64             `json:"memory_mib"`
	Go         string            `json:"go"`
	CLIs       map[string]string `json:"clis"`
	N          int               `json:"n"`
	Runs       int               `json:"runs"`
	LoadBefore string            `json:"load_before"`
	LoadAfter  string            `json:"load_after"`
	Started    string            `json:"started"`
	TempoEnv   []string          `json:"tempo_env,omitempty"`
	NoIOEnv    []string          `json:"noio_env,omitempty"`
}

func describeMachine(ctx context.Context, o options, b *builds) machine {
	m := machine{Cores: runtime.NumCPU(), CLIs: map[string]string{}, N: o.n, Runs: o.runs, LoadBefore: loadAverage(),
		Started: time.Now().UTC().Format(time.RFC3339), TempoEnv: o.tempoEnv, NoIOEnv: o.noioEnv}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kib); err == nil {
			m.MemoryMiB = kib / 1024
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		m.Go = strings.TrimSpace(string(out))
	}
	for _, cli := range o.clis {
		cmd := exec.CommandContext(ctx, filepath.Join(o.binDir, cli), "version")
		cmd.Env = cliEnv(b.tfrc[provData])
		out, _ := cmd.Output()
		m.CLIs[cli] = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	}
	return m
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (m machine) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "- machine: %s, %d cores, %d MiB memory\n", m.CPU, m.Cores, m.MemoryMiB)
	fmt.Fprintf(&sb, "- Go: %s\n", m.Go)
	names := make([]string, 0, len(m.CLIs))
	for k := range m.CLIs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&sb, "- %s: %s\n", k, m.CLIs[k])
	}
	fmt.Fprintf(&sb, "- N = %d, -parallelism default (10), started %s\n", m.N, m.Started)
	if m.Runs > 1 {
		fmt.Fprintf(&sb, "- %d runs of each configuration under each CLI, the providers taking turns; each figure is the median of the runs, and the range shows tempo / noio of each run\n", m.Runs)
	}
	if len(m.TempoEnv) > 0 {
		fmt.Fprintf(&sb, "- environment added for tempo: %s\n", strings.Join(m.TempoEnv, " "))
	}
	if len(m.NoIOEnv) > 0 {
		fmt.Fprintf(&sb, "- environment added for noio: %s\n", strings.Join(m.NoIOEnv, " "))
	}
	fmt.Fprintf(&sb, "- load average (1, 5, 15 min) before: %s", m.LoadBefore)
	if m.LoadAfter != "" {
		fmt.Fprintf(&sb, "; after: %s", m.LoadAfter)
	}
	sb.WriteString("\n")
	return sb.String()
}

// table renders the results: one row per CLI, configuration and phase,
// with the medians of the runs.
func table(results []result) string {
	by := map[string]map[string]result{}     // key → provider → median
	runs := map[string]map[string][]result{} // key → provider → each run
	var keys []string
	for _, r := range results {
		if runs[r.key()] == nil {
			runs[r.key()] = map[string][]result{}
			keys = append(keys, r.key())
		}
		runs[r.key()][r.Provider] = append(runs[r.key()][r.Provider], r)
	}
	for k, ps := range runs {
		by[k] = map[string]result{}
		for p, rs := range ps {
			by[k][p] = median(rs)
		}
	}
	var sb strings.Builder
	sb.WriteString("| CLI | objects | phase | tempo s | noio s | terraform_data s | tempo / noio | tempo / noio range | tempo / terraform_data | requests per object | emulator s | tempo peak RSS MiB | noio peak RSS MiB | RSS tempo / noio |\n")
	sb.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|\n")
	for _, k := range keys {
		rs := by[k]
		first := firstOf(rs)
		t, hasT := rs[provTempo]
		n, hasN := rs[provNoIO]
		d, hasD := rs[provData]
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			first.CLI, scenarioLabel(first.Scenario, first.Objects), first.Phase,
			secs(t, hasT), secs(n, hasN), secs(d, hasD),
			ratio(t.Seconds, n.Seconds, hasT && hasN), ratioRange(runs[k][provTempo], runs[k][provNoIO]), ratio(t.Seconds, d.Seconds, hasT && hasD),
			perObject(t, hasT), emuSecs(t, hasT),
			mib(t, hasT), mib(n, hasN),
			ratio(float64(t.ProviderPeakRSSKiB), float64(n.ProviderPeakRSSKiB), hasT && hasN))
	}
	sb.WriteString("\nCPU seconds of the provider processes (all of a phase's processes together) and of the CLI with its children:\n\n")
	sb.WriteString("| CLI | objects | phase | tempo provider CPU s | noio provider CPU s | tempo CLI+children CPU s | noio CLI+children CPU s | terraform_data CLI CPU s | tempo provider processes | connections to the emulator |\n")
	sb.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, k := range keys {
		rs := by[k]
		first := firstOf(rs)
		t, hasT := rs[provTempo]
		n, hasN := rs[provNoIO]
		d, hasD := rs[provData]
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", first.CLI, scenarioLabel(first.Scenario, first.Objects), first.Phase,
			num(t.ProviderCPUSeconds, hasT), num(n.ProviderCPUSeconds, hasN),
			num(t.CLICPUSeconds, hasT), num(n.CLICPUSeconds, hasN), num(d.CLICPUSeconds, hasD),
			count(t.ProviderProcesses, hasT), count(int(t.Connections), hasT))
	}
	return sb.String()
}

// median is one result whose every figure is the median of the runs'
// (requests and process counts: those of the first run, which the runs share).
func median(rs []result) result {
	out := rs[0]
	mid := func(get func(result) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = get(r)
		}
		slices.Sort(vs)
		if len(vs)%2 == 1 {
			return vs[len(vs)/2]
		}
		return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	out.Run = 0
	out.Seconds = mid(func(r result) float64 { return r.Seconds })
	out.CLICPUSeconds = mid(func(r result) float64 { return r.CLICPUSeconds })
	out.ProviderCPUSeconds = mid(func(r result) float64 { return r.ProviderCPUSeconds })
	out.ProviderPeakRSSKiB = int64(mid(func(r result) float64 { return float64(r.ProviderPeakRSSKiB) }))
	out.EmulatorSeconds = mid(func(r result) float64 { return r.EmulatorSeconds })
	out.Connections = int64(mid(func(r result) float64 { return float64(r.Connections) }))
	return out
}

// ratioRange is the smallest and the largest tempo / noio time ratio of a
// run (the runs pair up by number).
func ratioRange(tempo, noio []result) string {
	lo, hi := 0.0, 0.0
	for _, t := range tempo {
		for _, n := range noio {
			if n.Run != t.Run || n.Seconds == 0 {
				continue
			}
			r := t.Seconds / n.Seconds
			if lo == 0 || r < lo {
				lo = r
			}
			hi = max(hi, r)
		}
	}
	if lo == 0 {
		return "–"
	}
	return strconv.FormatFloat(lo, 'f', 2, 64) + "–" + strconv.FormatFloat(hi, 'f', 2, 64)
}

func firstOf(rs map[string]result) result {
	for _, p := range []string{provTempo, provNoIO, provData} {
		if r, ok := rs[p]; ok {
			return r
		}
	}
	return result{}
}

func scenarioLabel(s string, objects int) string {
	if s == "mixed" {
		return fmt.Sprintf("%d mixed", objects)
	}
	return fmt.Sprintf("%d tenants", objects)
}

func secs(r result, ok bool) string { return num(r.Seconds, ok) }

func num(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func count(v int, ok bool) string {
	if !ok {
		return "–"
	}
	return strconv.Itoa(v)
}

func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 {
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "x"
}

func emuSecs(r result, ok bool) string {
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(r.EmulatorSeconds, 'f', 3, 64)
}

func mib(r result, ok bool) string {
	if !ok || r.ProviderPeakRSSKiB == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(r.ProviderPeakRSSKiB)/1024, 'f', 1, 64)
}

// perObject shows the requests per object, in total and by route.
func perObject(r result, ok bool) string {
	if !ok || r.Objects == 0 {
		return "–"
	}
	routes := make([]string, 0, len(r.Requests))
	for k := range r.Requests {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	parts := make([]string, 0, len(routes))
	for _, k := range routes {
		parts = append(parts, fmt.Sprintf("%s %s", k, trim(float64(r.Requests[k])/float64(r.Objects))))
	}
	s := trim(float64(r.totalRequests()) / float64(r.Objects))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" {
		return "0"
	}
	return s
}
