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
	// More than 500 tokens need the state in clear (an encrypted state does
	// not fit one Secret); the Secret phase measured here is the same.
	job := func(rotation string) object {
		j := e.helmUpgrade(t, e.values(t, values(rotation)), setFile(t, "state:\n  encryption: {enabled: false}\nrunner:\n  rotationOverlapSeconds: 30\n"))
		return withEnv(j, "TENANCY_TIMINGS", "1")
	}

	// Install, a run with nothing to do, and a run that rotates every token.
	runs := []struct {
		what, rotation string
		wantWritten    int
	}{{"install", "1", n}, {"no change", "1", 0}, {"rotate all", "2", 0}}
	for i, run := range runs {
		out, err := e.runJob(t, job(run.rotation))
		if err != nil {
			t.Fatalf("%s: %v\n%s", run.what, err, tail(out, 40))
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
		t.Logf("run %d (%s), %d tokens in %d Secrets over 10 namespaces: whole run %.1fs, plan %.1fs, apply %.1fs, after the apply %.1fs (%s)",
			i+1, run.what, n, n, total, stampAfter(stamps, "tofu plan"), apply, after, share)
		if run.rotation == "2" {
			t.Logf("run %d (%s): taking %d tokens out of the state %.1fs, second plan %.1fs, one overlap and the revocations %.1fs",
				i+1, run.what, n, stampAfter(stamps, fmt.Sprintf("%d tokens replaced", n)), stampAfter(stamps, "tofu plan, without"),
				stamps["done"]-stampAt(stamps, fmt.Sprintf("%d replaced tokens: revoked in", n)))
			if want := fmt.Sprintf("replaced tokens: %d revoked", n); !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", run.what, want, tail(out, 20))
			}
		}
		want := fmt.Sprintf("token Secrets: %d, %d written", n, run.wantWritten)
		if !strings.Contains(out, want) {
			t.Errorf("%s does not say %q:\n%s", run.what, want, tail(out, 20))
		}
		e.noSecrets(t, out)
	}
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
