package incluster_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunnerBoundsRotations: with more tokens due than
// runner.maxRotationsPerRun, a run rotates the bound's worth and leaves the
// rest, still working and still in their Secrets, to a later run, which
// rotates them.
func TestRunnerBoundsRotations(t *testing.T) {
	e := newRunnerEnv(t)
	// Each token's window opens 10 s after its creation, and its second
	// half, which no bound holds, 10 minutes later.
	const tokens = `
tenants:
  - {name: team-a}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
tokens:
  - {namePrefix: otel-1, accessPolicy: team-a-write, expireAfter: 20m, earlyRotationWindow: 1190s, secret: {namespace: team-a, name: otel-1, key: token}}
  - {namePrefix: otel-2, accessPolicy: team-a-write, expireAfter: 20m, earlyRotationWindow: 1190s, secret: {namespace: team-a, name: otel-2, key: token}}
  - {namePrefix: otel-3, accessPolicy: team-a-write, expireAfter: 20m, earlyRotationWindow: 1190s, secret: {namespace: team-a, name: otel-3, key: token}}
`
	names := []string{"otel-1", "otel-2", "otel-3"}
	bounded := setFile(t, "runner:\n  maxRotationsPerRun: 1\n")
	if out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, tokens), bounded)); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	first := map[string]string{}
	for _, n := range names {
		s, _ := e.secret(t, "team-a", n)
		first[n] = s["token"]
		e.secrets = append(e.secrets, s["token"])
	}
	time.Sleep(12 * time.Second)

	// The scheduled run rotates one of the three due.
	out, err := e.runJob(t, e.reconcileJob(t))
	if err != nil {
		t.Fatalf("the bounded run: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	var rotated, kept []string
	for _, n := range names {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if s["token"] != first[n] {
			rotated = append(rotated, n)
			if code := e.writeTraces(t, "team-a", first[n]); code != http.StatusUnauthorized {
				t.Errorf("%s's rotated-out token: HTTP %d, want 401", n, code)
			}
		} else {
			kept = append(kept, n)
		}
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("%s's token after the bounded run: HTTP %d, want 200", n, code)
		}
	}
	if len(rotated) != 1 {
		t.Fatalf("the run bounded to 1 rotation rotated %v\n%s", rotated, out)
	}
	if !strings.Contains(out, "2 tokens due for rotation wait for a later run") || strings.Count(out, "is held") < 2 {
		t.Errorf("the run does not say which rotations it held:\n%s", out)
	}
	if live := e.liveTokens(t); len(live) != 3 {
		t.Errorf("live tokens after the bounded run: %v, want 3", live)
	}
	if evs := e.events(t, "CronJob", release+"-tempo-tenancy-reconcile"); !slices.Contains(evs, "Normal/TokensRotated") {
		t.Errorf("the bounded run's Events: %v, want TokensRotated", evs)
	}

	// Without the bound, the next run rotates the two held.
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, tokens), setFile(t, "runner:\n  maxRotationsPerRun: 0\n")))
	if err != nil {
		t.Fatalf("the unbounded run: %v\n%s", err, out)
	}
	for _, n := range kept {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if s["token"] == first[n] {
			t.Errorf("%s, held by the bounded run, was not rotated by the next\n%s", n, out)
		}
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("%s's new token: HTTP %d, want 200", n, code)
		}
	}
	if live := e.liveTokens(t); len(live) != 3 {
		t.Errorf("live tokens after the unbounded run: %v, want 3", live)
	}
}
