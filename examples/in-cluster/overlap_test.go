package incluster_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// overlapTokens are three tokens of one policy, rotated together.
const overlapTokens = `
tenants:
  - {name: team-a}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
tokens:
  - {namePrefix: otel-1, accessPolicy: team-a-write, rotation: "ROT", secret: {namespace: team-a, name: otel-1, key: token}}
  - {namePrefix: otel-2, accessPolicy: team-a-write, rotation: "ROT", secret: {namespace: team-a, name: otel-2, key: token}}
  - {namePrefix: otel-3, accessPolicy: team-a-write, rotation: "ROT", secret: {namespace: team-a, name: otel-3, key: token}}
`

// liveTokens lists the names of the active tokens on the admin API.
func (e *runnerEnv) liveTokens(t *testing.T) []string {
	t.Helper()
	ts, err := e.admin.ListTokens(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tk := range ts {
		if tk.Status == adminapi.StatusActive {
			names = append(names, tk.Name)
		}
	}
	sort.Strings(names)
	return names
}

// TestRunnerKilledDuringTheRotationOverlap: a run killed outright while
// rotated tokens overlap (their new secrets written, the old tokens not yet
// revoked) leaves live tokens that its state may not hold. The next run,
// alone, converges to one live token per entry: the one its Secret holds.
func TestRunnerKilledDuringTheRotationOverlap(t *testing.T) {
	e := newRunnerEnv(t)
	const lease = "10"
	long := setFile(t, "runner:\n  rotationOverlapSeconds: 120\n")
	job := withEnv(e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "1")), long), "TENANCY_RUN_LEASE_SECONDS", lease)
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	first := map[string]string{}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		first[n] = s["token"]
		e.secrets = append(e.secrets, s["token"])
	}

	// Rotate all three, and kill the run once every Secret holds its new
	// token: the old ones are still live, waiting out the overlap.
	job = withEnv(e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "2")), long), "TENANCY_RUN_LEASE_SECONDS", lease)
	cmd, buf := e.startJob(t, job)
	deadline := time.Now().Add(4 * time.Minute)
	for {
		rotated := 0
		for n, old := range first {
			if s, _ := e.secret(t, "team-a", n); s["token"] != "" && s["token"] != old {
				rotated++
			}
		}
		if rotated == len(first) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the rotation never wrote the new secrets:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	killJob(t, cmd)
	if live := e.liveTokens(t); len(live) <= 3 {
		t.Fatalf("the run was not killed during the overlap: live tokens %v\n%s", live, buf.String())
	}

	// The next run, the same values with a short overlap, converges alone.
	job = withEnv(e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "2"))), "TENANCY_RUN_LEASE_SECONDS", lease)
	out, err := e.runJob(t, job)
	if err != nil {
		t.Fatalf("the run after the killed one: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	live := e.liveTokens(t)
	if len(live) != 3 {
		t.Errorf("live tokens after recovery: %v; want one per entry\n%s", live, out)
	}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("secret %s's token after recovery: HTTP %d, want 200", n, code)
		}
		if code := e.writeTraces(t, "team-a", first[n]); code != http.StatusUnauthorized {
			t.Errorf("secret %s's token before the rotation: HTTP %d, want 401 (revoked)", n, code)
		}
	}
}

// TestRunnerRekeysWithoutAGap: giving a token a new namePrefix replaces it
// under a new name; its consumer, reading the same Secret throughout, never
// meets a revoked token, and the old token is revoked after the overlap.
func TestRunnerRekeysWithoutAGap(t *testing.T) {
	e := newRunnerEnv(t)
	const before = `
tenants:
  - {name: team-a}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
tokens:
  - {namePrefix: team-a-otel, accessPolicy: team-a-write, secret: {namespace: team-a, name: tempo-token, key: token}}
`
	job := e.helmUpgrade(t, e.values(t, before))
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	old, _ := e.secret(t, "team-a", "tempo-token")
	e.secrets = append(e.secrets, old["token"])

	after := strings.Replace(before, "namePrefix: team-a-otel", "namePrefix: team-a-collector", 1)
	job = e.helmUpgrade(t, e.values(t, after), setFile(t, "runner:\n  allowRemovals:\n    tokens: [team-a-otel]\n"))
	stop := e.consumer("team-a", "tempo-token", "token", "team-a")
	out, err := e.runJob(t, job)
	refusals := stop()
	if err != nil {
		t.Fatalf("re-keying run: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if len(refusals) > 0 {
		t.Errorf("while the token was re-keyed its consumer was refused %d times, first: %s\n%s", len(refusals), refusals[0], out)
	}
	now, _ := e.secret(t, "team-a", "tempo-token")
	e.secrets = append(e.secrets, now["token"])
	if code := e.writeTraces(t, "team-a", now["token"]); code != http.StatusOK {
		t.Errorf("the new token: HTTP %d, want 200", code)
	}
	if code := e.writeTraces(t, "team-a", old["token"]); code != http.StatusUnauthorized {
		t.Errorf("the old token after the run: HTTP %d, want 401 (revoked)", code)
	}
	if live := e.liveTokens(t); len(live) != 1 || !strings.HasPrefix(live[0], "team-a-collector") {
		t.Errorf("live tokens after re-keying: %v; want the one team-a-collector token", live)
	}
}

// or is a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestRunnerModuleUpgradeKeepsTokens: a release whose module triggered
// rotations through terraform_data moves to the token's own keepers
// without replacing or revoking any token; a rotation after that replaces
// only the token whose value changed.
func TestRunnerModuleUpgradeKeepsTokens(t *testing.T) {
	e := newRunnerEnv(t)
	e.chart = filepath.Join(t.TempDir(), "tempo-tenancy")
	if err := os.CopyFS(e.chart, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join("testdata", "main-terraform-data-rotation.tf"), filepath.Join(e.chart, "files", "main.tf"), 0o644)
	v1 := strings.ReplaceAll(overlapTokens, "ROT", "1")
	if out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, v1))); err != nil {
		t.Fatalf("install with the terraform_data module: %v\n%s", err, out)
	}
	before := e.liveTokens(t)

	e.chart = ""
	out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, v1)))
	if err != nil {
		t.Fatalf("upgrade to keepers: %v\n%s", err, out)
	}
	if after := e.liveTokens(t); !slices.Equal(after, before) {
		t.Errorf("the module upgrade replaced tokens: %v, then %v\n%s", before, after, out)
	}
	if !strings.Contains(out, "0 added, 3 changed, 3 destroyed") {
		t.Errorf("the module upgrade did not record keepers in place and drop terraform_data:\n%s", out)
	}

	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, strings.Replace(v1, `rotation: "1"`, `rotation: "2"`, 1))))
	if err != nil {
		t.Fatalf("rotating one token: %v\n%s", err, out)
	}
	after := e.liveTokens(t)
	if len(after) != 3 || slices.Contains(after, before[0]) || !slices.Contains(after, before[1]) || !slices.Contains(after, before[2]) {
		t.Errorf("rotating otel-1 left live tokens %v (before: %v)\n%s", after, before, out)
	}
}
