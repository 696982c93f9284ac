package incluster_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// TestRunnerFailedStateWriteLeavesNoToken: a rotation whose apply creates
// the new tokens (and writes their secrets) but cannot write the state,
// as when the state Secret outgrows its limit, leaves those tokens live
// and unrecorded. The next run revokes them: one live token per entry,
// the one its Secret holds.
func TestRunnerFailedStateWriteLeavesNoToken(t *testing.T) {
	e := newRunnerEnv(t)
	if out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "1")))); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
	}

	// The rotation's creates are slowed down; once the first is made, the
	// runner loses the right to write the state.
	role := "/apis/rbac.authorization.k8s.io/v1/namespaces/" + stateNS + "/roles/" + release + "-tempo-tenancy-state"
	code, original := e.kube.Do(t, "GET", role, nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", role, code, original)
	}
	var r map[string]any
	if err := json.Unmarshal(original, &r); err != nil {
		t.Fatal(err)
	}
	for _, rule := range r["rules"].([]any) {
		rule := rule.(map[string]any)
		if names, _ := rule["resourceNames"].([]any); len(names) == 1 && names[0] == stateSecret {
			rule["verbs"] = []any{"get"}
		}
	}
	e.emu.Reset()
	e.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tokens", Delay: 2 * time.Second, Times: -1})
	cmd, buf := e.startJob(t, e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "2"))))
	deadline := time.Now().Add(3 * time.Minute)
	for e.emu.Counts()["POST "+adminapi.BasePath+"/tokens"] == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the apply never reached the admin API:\n%s", buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	put := func(body any) {
		if code, b := e.kube.Do(t, "PUT", role, body, ""); code != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", role, code, b)
		}
	}
	delete(r["metadata"].(map[string]any), "resourceVersion")
	put(r)
	err := cmd.Wait()
	out := buf.String()
	var back map[string]any
	_ = json.Unmarshal(original, &back)
	delete(back["metadata"].(map[string]any), "resourceVersion")
	put(back)
	e.emu.Reset()
	if err == nil {
		t.Fatalf("the run that could not write its state succeeded:\n%s", out)
	}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
	}
	if live := e.liveTokens(t); len(live) <= 3 {
		t.Fatalf("the failed run left no unrecorded token to test with: live %v\n%s", live, out)
	}

	// The next run, alone, converges.
	out, runErr := e.runJob(t, e.helmUpgrade(t, e.values(t, strings.ReplaceAll(overlapTokens, "ROT", "2"))))
	if runErr != nil {
		t.Fatalf("the run after the failed one: %v\n%s", runErr, out)
	}
	e.noSecrets(t, out)
	if live := e.liveTokens(t); len(live) != 3 {
		t.Errorf("live tokens after the next run: %v; want one per entry\n%s", live, out)
	}
	for _, n := range []string{"otel-1", "otel-2", "otel-3"} {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("secret %s's token: HTTP %d, want 200", n, code)
		}
	}
}
