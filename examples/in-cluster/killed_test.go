package incluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// withEnv adds variables to the Job's container, as a test's own knobs.
func withEnv(job object, kv ...string) object {
	ctr := get(job, "spec", "template", "spec", "containers", 0).(map[string]any)
	env, _ := ctr["env"].([]any)
	for i := 0; i+1 < len(kv); i += 2 {
		env = append(env, map[string]any{"name": kv[i], "value": kv[i+1]})
	}
	ctr["env"] = env
	return job
}

// killJob kills a started Job's container outright, as the kernel's OOM
// killer or a lost node does: its main process and every process of the
// Job's user, as when its PID 1 dies in its own PID namespace.
func killJob(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pkill", "-KILL", "-u", runnerUID).CombinedOutput(); err != nil {
		t.Logf("pkill: %v %s", err, out)
	}
	_ = cmd.Wait()
}

// TestRunnerRecoversFromAKilledRun: a run killed outright (OOM, eviction,
// node loss) in the middle of an apply leaves the state locked and cannot
// release anything. The next run waits for the killed run's lease to
// expire, frees the state lock it left, and converges; nobody has to
// delete a Lease.
func TestRunnerRecoversFromAKilledRun(t *testing.T) {
	e := newRunnerEnv(t)
	ctx := context.Background()
	const lease = "10"
	job := withEnv(e.helmUpgrade(t, e.values(t, valuesV1)), "TENANCY_RUN_LEASE_SECONDS", lease)
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}

	// An upgrade that adds a tenant; its create hangs on the server, and the
	// run is killed while OpenTofu holds the state lock.
	withTeamC := strings.Replace(valuesV1, "  - {name: team-b, displayName: Team B}\n",
		"  - {name: team-b, displayName: Team B}\n  - {name: team-c, displayName: Team C}\n", 1)
	e.emu.Reset() // the counts start again from here
	e.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tenants", Delay: time.Minute})
	job = withEnv(e.helmUpgrade(t, e.values(t, withTeamC)), "TENANCY_RUN_LEASE_SECONDS", lease)
	cmd, buf := e.startJob(t, job)
	deadline := time.Now().Add(3 * time.Minute)
	for e.emu.Counts()["POST "+adminapi.BasePath+"/tenants"] == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the apply never reached the admin API:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	killJob(t, cmd)
	e.emu.Reset()
	stateLock := fmt.Sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases/lock-%s", stateNS, stateSecret)
	code, body := e.kube.Do(t, "GET", stateLock, nil, "")
	var l struct {
		Spec struct {
			HolderIdentity *string `json:"holderIdentity"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &l)
	if code != http.StatusOK || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		t.Fatalf("the killed run left no state lock to recover from (HTTP %d): %s", code, body)
	}

	out, err := e.runJob(t, job)
	if err != nil {
		t.Fatalf("the run after the killed one: %v\n%s", err, out)
	}
	for _, want := range []string{"run lease taken over from", "released the state lock", "Apply complete!"} {
		if !strings.Contains(out, want) {
			t.Errorf("the run after the killed one does not say %q:\n%s", want, out)
		}
	}
	if tn, err := e.admin.GetTenant(ctx, "team-c"); err != nil || tn.Status != adminapi.StatusActive {
		t.Errorf("team-c after recovery: %+v, %v", tn, err)
	}
	e.noSecrets(t, out)

	// The next run starts at once: the lease was released.
	start := time.Now()
	if out, err := e.runJob(t, job); err != nil || strings.Contains(out, "taken over") {
		t.Fatalf("a later run: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 3*time.Minute {
		t.Logf("the later run took %s", d)
	}
}

// TestRunnerKilledMidApplyLeavesNoToken: the CLI writes the state at the
// end of an apply, so a run killed outright in the middle of one loses the
// tokens it had created, live on the server. The next run creates the
// tokens its state lacks and revokes those lost ones: one live token per
// entry.
func TestRunnerKilledMidApplyLeavesNoToken(t *testing.T) {
	e := newRunnerEnv(t)
	const lease = "10"
	const base = `
tenants:
  - {name: team-a}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
`
	job := withEnv(e.helmUpgrade(t, e.values(t, base)), "TENANCY_RUN_LEASE_SECONDS", lease)
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	// The upgrade adds three tokens. The first create to reach the admin
	// API hangs; the run is killed once the other two tokens exist, before
	// the provider gives up on the first (30 s).
	upgrade := base + `tokens:
  - {namePrefix: otel-1, accessPolicy: team-a-write, secret: {namespace: team-a, name: otel-1, key: token}}
  - {namePrefix: otel-2, accessPolicy: team-a-write, secret: {namespace: team-a, name: otel-2, key: token}}
  - {namePrefix: otel-3, accessPolicy: team-a-write, secret: {namespace: team-a, name: otel-3, key: token}}
`
	e.emu.Reset()
	e.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tokens", Delay: 10 * time.Minute})
	job = withEnv(e.helmUpgrade(t, e.values(t, upgrade)), "TENANCY_RUN_LEASE_SECONDS", lease)
	cmd, buf := e.startJob(t, job)
	deadline := time.Now().Add(3 * time.Minute)
	for len(e.liveTokens(t)) < 2 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the apply never created the tokens:\n%s", buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	killJob(t, cmd)
	e.emu.Reset()
	lost := e.liveTokens(t)

	out, err := e.runJob(t, job)
	if err != nil {
		t.Fatalf("the run after the killed one: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if !strings.Contains(out, fmt.Sprintf("%d tokens created by a run that stopped", len(lost))) {
		t.Errorf("the run does not say it found the lost tokens:\n%s", out)
	}
	live := e.liveTokens(t)
	if len(live) != 3 {
		t.Errorf("live tokens after recovery: %v (lost by the killed run: %v); want one per entry\n%s", live, lost, out)
	}
	for _, n := range lost {
		if slices.Contains(live, n) {
			t.Errorf("token %s, created by the killed run and not in the state, is still live", n)
		}
	}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("secret %s after recovery: HTTP %d, want 200", n, code)
		}
	}
}
