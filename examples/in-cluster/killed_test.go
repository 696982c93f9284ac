package incluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
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
	// The container dies whole: every process of the Job's user, as when
	// its PID 1 is killed in its own PID namespace.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pkill", "-KILL", "-u", runnerUID).CombinedOutput(); err != nil {
		t.Logf("pkill: %v %s", err, out)
	}
	_ = cmd.Wait()
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
