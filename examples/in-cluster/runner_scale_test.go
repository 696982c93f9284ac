package incluster_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunnerAtScale measures what the runner does after the apply with
// many token Secrets: TEMPO_RUNNER_SCALE=<tokens> (over ten namespaces)
// turns it on, `make bench-runner` runs it with 1000. It prints figures and
// asserts only what must hold at any speed: every Secret is written, and a
// second run with no changes writes none.
func TestRunnerAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TEMPO_RUNNER_SCALE"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set TEMPO_RUNNER_SCALE to a number of tokens (make bench-runner)")
	}
	jobTimeout = 60 * time.Minute
	e := newRunnerEnv(t)
	var values strings.Builder
	values.WriteString("tenants: [{name: scale}]\naccessPolicies:\n  - {name: scale-write, scopes: [traces:write], realms: [{tenant: scale}]}\ntokens:\n")
	for i := range n {
		ns := fmt.Sprintf("scale-%d", i%10)
		if i < 10 {
			e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Namespace", "metadata": object{"name": ns}})
		}
		fmt.Fprintf(&values, "  - {namePrefix: t%d, accessPolicy: scale-write, secret: {namespace: %s, name: tok-%d, key: token}}\n", i, ns, i)
	}
	// More than 500 tokens need the state in clear (an encrypted state does
	// not fit one Secret); the Secret phase measured here is the same.
	job := e.helmUpgrade(t, e.values(t, values.String()), setFile(t, "state:\n  encryption: {enabled: false}\n"))
	ctr := get(job, "spec", "template", "spec", "containers", 0).(map[string]any)
	ctr["env"] = append(ctr["env"].([]any), object{"name": "TENANCY_TIMINGS", "value": "1"})

	for run, wantWritten := range []int{n, 0} {
		out, err := e.runJob(t, job)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, tail(out, 40))
		}
		stamps := stampsOf(out)
		total := stamps["done"] - stamps["first"]
		after := stamps["done"] - stamps["token Secrets: reading the outputs"]
		apply := stamps["token Secrets: reading the outputs"] - stamps["tofu apply"]
		if stamps["tofu apply"] == 0 {
			apply = 0 // nothing to apply
		}
		share := "no apply"
		if apply > 0 {
			share = fmt.Sprintf("%.0f%% of the apply", 100*after/apply)
		}
		t.Logf("run %d, %d tokens in %d Secrets over 10 namespaces: whole run %.1fs, apply %.1fs, after the apply %.1fs (%s)",
			run+1, n, n, total, apply, after, share)
		want := fmt.Sprintf("token Secrets: %d, %d written", n, wantWritten)
		if !strings.Contains(out, want) {
			t.Errorf("run %d does not say %q:\n%s", run+1, want, tail(out, 20))
		}
		e.noSecrets(t, out)
	}
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
