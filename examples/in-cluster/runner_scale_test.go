package incluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunnerAtScale measures the runner with many tokens:
// TEMPO_RUNNER_SCALE=<tokens> (over ten namespaces, each token in its own
// Secret) turns it on, `make bench-runner` runs it with 3000. The state is
// encrypted and split in one part per 200 tokens (TEMPO_RUNNER_PARTS
// overrides). It runs an install, a run with no change, a run rotating
// every token and the clean-up, and prints for each the time of its
// phases, the peak memory of the runner with its CLIs and providers, and
// the size of each state Secret. It asserts only what must hold at any
// speed: every Secret is written, a run with no changes writes none, every
// rotated token is revoked, the clean-up leaves no token live.
func TestRunnerAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TEMPO_RUNNER_SCALE"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set TEMPO_RUNNER_SCALE to a number of tokens (make bench-runner)")
	}
	parts, _ := strconv.Atoi(os.Getenv("TEMPO_RUNNER_PARTS"))
	if parts <= 0 {
		parts = max(1, (n+199)/200)
	}
	jobTimeout = 90 * time.Minute
	e := newRunnerEnv(t)
	values := func(rotation string) string {
		var v strings.Builder
		v.WriteString("tenants: [{name: scale}]\naccessPolicies:\n  - {name: scale-write, scopes: [traces:write], realms: [{tenant: scale}]}\ntokens:\n")
		for i := range n {
			fmt.Fprintf(&v, "  - {namePrefix: t%d, accessPolicy: scale-write, rotation: %q, secret: {namespace: scale-%d, name: tok-%d, key: token}}\n", i, rotation, i%10, i)
		}
		return v.String()
	}
	for i := range 10 {
		e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Namespace", "metadata": object{"name": fmt.Sprintf("scale-%d", i)}})
	}
	settings := setFile(t, fmt.Sprintf("state:\n  parts: %d\nrunner:\n  rotationOverlapSeconds: 30\n  maxRotationsPerRun: 0\n", parts))
	job := func(mode, rotation string) object {
		j := e.helmUpgradeHook(t, mode, e.values(t, values(rotation)), settings, setFile(t, "runner:\n  cleanupOnUninstall: true\n"))
		return withEnv(j, "TENANCY_TIMINGS", "1")
	}

	runs := []struct {
		what, mode, rotation string
		wantWritten          int
	}{{"install", "apply", "1", n}, {"no change", "apply", "1", 0}, {"rotate all", "apply", "2", 0}, {"clean-up", "destroy", "2", 0}}
	t.Logf("%d tokens in %d Secrets over 10 namespaces, state encrypted in %d token parts (and the release's), %s parts at a time",
		n, n, parts, or(os.Getenv("TEMPO_RUNNER_PART_PARALLELISM"), "1"))
	for i, run := range runs {
		j := job(run.mode, run.rotation)
		if p := os.Getenv("TEMPO_RUNNER_PART_PARALLELISM"); p != "" {
			j = withEnv(j, "TENANCY_PART_PARALLELISM", p)
		}
		out, m, err := e.measureJob(t, j)
		if err != nil {
			t.Fatalf("%s: %v\n%s", run.what, err, tail(out, 40))
		}
		stamps := stampsOf(out)
		total := stamps["done"] - stamps["first"]
		planEnd := firstOf(stamps, "tofu apply", "no changes to apply")
		if r := stampAt(stamps, fmt.Sprintf("%d tokens replaced", n)); r > 0 {
			planEnd = r
		}
		apply := 0.0
		if stamps["tofu apply"] > 0 {
			apply = stamps["token Secrets: reading the outputs"] - stamps["tofu apply"]
		}
		t.Logf("run %d (%s): whole run %.1fs, init %.1fs, plan %.1fs, apply %.1fs, after the apply %.1fs; peak memory %.0f MiB (runner, CLIs and providers together, sampled), largest process %.0f MiB; largest state Secret %.0f KiB (%.0f%% of 1 MiB), during the run %.0f KiB",
			i+1, run.what, total, stampAt(stamps, "tofu plan")-stamps["tofu init"], planEnd-stampAt(stamps, "tofu plan"), apply,
			stamps["done"]-stamps["token Secrets: reading the outputs"], m.treeMiB, m.maxProcMiB,
			float64(m.stateAfter)/1024, 100*float64(m.stateAfter)/(1<<20), float64(m.statePeak)/1024)
		if run.rotation == "2" && run.mode == "apply" {
			t.Logf("run %d (%s): taking %d tokens out of the state %.1fs, second plan %.1fs, one overlap and the revocations %.1fs",
				i+1, run.what, n, stampAfter(stamps, fmt.Sprintf("%d tokens replaced", n)), stamps["tofu apply"]-stampAt(stamps, "tofu plan, without"),
				stamps["done"]-stampAt(stamps, fmt.Sprintf("%d replaced tokens: revoked in", n)))
			if want := fmt.Sprintf("replaced tokens: %d revoked", n); !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", run.what, want, tail(out, 20))
			}
		}
		if run.mode == "apply" {
			want := fmt.Sprintf("token Secrets: %d, %d written", n, run.wantWritten)
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", run.what, want, tail(out, 20))
			}
		}
		t.Logf("run %d (%s): state Secrets (KiB, as stored): %s", i+1, run.what, m.sizes)
		e.noSecrets(t, out)
	}
	if live := e.liveTokens(t); len(live) != 0 {
		t.Errorf("%d tokens live after the clean-up", len(live))
	}
}

// jobMeasure is what measureJob saw of a run.
type jobMeasure struct {
	treeMiB, maxProcMiB   float64
	stateAfter, statePeak int // the largest state Secret's data, bytes
	sizes                 string
}

// measureJob runs the Job as runJob does, sampling meanwhile the memory of
// its process tree (the runner, the CLIs, the providers: what the pod's
// limit counts) and the size of the release's state Secrets.
func (e *runnerEnv) measureJob(t *testing.T, job object) (string, jobMeasure, error) {
	t.Helper()
	cmd, out := e.startJob(t, job)
	var m jobMeasure
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			m.treeMiB = max(m.treeMiB, float64(treeRSS(cmd.Process.Pid))/1024)
			if k%8 == 0 {
				if largest, _ := e.stateSizes(t); largest > m.statePeak {
					m.statePeak = largest
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-sampled
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxProcMiB = float64(ru.Maxrss) / 1024
	}
	m.stateAfter, m.sizes = e.stateSizes(t)
	m.statePeak = max(m.statePeak, m.stateAfter)
	return out.String(), m, err
}

// stateSizes is the size of the largest state Secret of the release, and
// every one's in KiB.
func (e *runnerEnv) stateSizes(t *testing.T) (int, string) {
	t.Helper()
	code, body := e.kube.Do(t, "GET", "/api/v1/namespaces/"+stateNS+"/secrets", nil, "")
	if code != http.StatusOK {
		return 0, ""
	}
	var l struct {
		Items []struct {
			Metadata struct{ Name string }
			Data     map[string][]byte
		}
	}
	_ = json.Unmarshal(body, &l)
	largest := 0
	var sizes []string
	for _, s := range l.Items {
		if !strings.HasPrefix(s.Metadata.Name, "tfstate-") {
			continue
		}
		size := len(s.Data["tfstate"])
		largest = max(largest, size)
		sizes = append(sizes, fmt.Sprintf("%s %.0f", strings.TrimPrefix(s.Metadata.Name, stateSecret), float64(size)/1024))
	}
	return largest, strings.Join(sizes, ", ")
}

// treeRSS sums the resident memory, in KiB, of pid and its descendants.
func treeRSS(pid int) int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	rss := map[int]int{}
	for _, d := range entries {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so after the ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 {
			continue
		}
		parent[p], _ = strconv.Atoi(f[1])
		status, _ := os.ReadFile("/proc/" + d.Name() + "/status")
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				rss[p], _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			}
		}
	}
	total := 0
	for p, kb := range rss {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				total += kb
				break
			}
		}
	}
	return total
}

// firstOf is the earliest time of the lines beginning with the prefixes.
func firstOf(stamps map[string]float64, prefixes ...string) float64 {
	at := 0.0
	for _, p := range prefixes {
		if v := stampAt(stamps, p); v > 0 && (at == 0 || v < at) {
			at = v
		}
	}
	return at
}

// stampAt is the time of the first stamped line beginning with prefix.
func stampAt(stamps map[string]float64, prefix string) float64 {
	at := 0.0
	for text, v := range stamps {
		if strings.HasPrefix(text, prefix) && (at == 0 || v < at) {
			at = v
		}
	}
	return at
}

// stampAfter is how long the step of the line beginning with prefix took:
// until the next stamped line.
func stampAfter(stamps map[string]float64, prefix string) float64 {
	at := stampAt(stamps, prefix)
	next := 0.0
	for _, v := range stamps {
		if v > at && (next == 0 || v < next) {
			next = v
		}
	}
	if at == 0 || next == 0 {
		return 0
	}
	return next - at
}

var stampRE = regexp.MustCompile(`(?m)^==> \[([0-9.]+)\] (.*)$`)

// stampsOf maps each stamped line of the runner's output to its time: the
// text after a line's own paths, and "first" for the first line.
func stampsOf(out string) map[string]float64 {
	m := map[string]float64{}
	for i, s := range stampRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(s[1], 64)
		text := s[2]
		if j := strings.LastIndex(text, "/"); j >= 0 && strings.HasPrefix(text, "/") {
			text = text[j+1:] // "/path/to/tofu apply" -> "tofu apply"
		}
		if i == 0 {
			m["first"] = v
		}
		if _, seen := m[text]; !seen {
			m[text] = v
		}
	}
	return m
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
