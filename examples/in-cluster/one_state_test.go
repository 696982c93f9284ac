package incluster_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// TestOneStateBaseline measures what a state backend without the 1 MiB
// limit of a Secret could at best give: the chart's module with N tokens
// in one state, encrypted as the chart's is, in a local file (no network,
// the best case of object storage or PostgreSQL), applied by one OpenTofu
// process: the install, a plan with no change, a rotation of every token
// (replaced within the apply, as the runner's handoff does not apply
// outside the cluster) and the destroy. TEMPO_ONE_STATE_TOKENS=<N> turns it
// on (make bench-runner: 3000). It prints figures and asserts only that
// each step succeeds.
func TestOneStateBaseline(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TEMPO_ONE_STATE_TOKENS"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set TEMPO_ONE_STATE_TOKENS to a number of tokens (make bench-runner)")
	}
	adminURL, tfrc := moduleBench(t, emulator.Options{AdminToken: emuAdminToken, Clusters: []string{"tempo"}})
	dir := t.TempDir()
	copyFile(t, filepath.Join(chartDir, "files", "main.tf"), filepath.Join(dir, "main.tf"), 0o644)
	const enc = `key_provider "pbkdf2" "bench" {
  passphrase = "one-state-baseline-passphrase"
}
method "aes_gcm" "bench" {
  keys = key_provider.pbkdf2.bench
}
state {
  method   = method.aes_gcm.bench
  enforced = true
}`
	tf := func(args ...string) (time.Duration, float64) {
		t.Helper()
		cmd := exec.Command(tool(t, "tofu"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+tfrc, "TF_IN_AUTOMATION=1", "TF_ENCRYPTION="+enc,
			"TEMPO_ADMIN_URL="+adminURL, "TEMPO_ADMIN_TOKEN="+emuAdminToken, "TEMPO_CLUSTER=tempo",
			// The provisioner's runner: nothing to write here.
			"TF_VAR_runner_command=true")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tofu %v: %v\n%s", args, err, tail(string(out), 30))
		}
		maxrss := 0.0
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxrss = float64(ru.Maxrss) / 1024 // the largest of the CLI and its providers
		}
		return time.Since(start), maxrss
	}
	vars := func(rotation string) {
		tokens := map[string]any{}
		for i := range n {
			tokens[fmt.Sprintf("t%d", i)] = map[string]any{"name_prefix": fmt.Sprintf("t%d", i), "access_policy": "scale-write",
				"rotation": rotation, "secret": map[string]string{"namespace": fmt.Sprintf("scale-%d", i%10), "name": fmt.Sprintf("tok-%d", i), "key": "token"}}
		}
		b, _ := json.Marshal(map[string]any{
			"allowed_endpoints": []string{"127.0.0.0/8"},
			"tenants":           map[string]any{"scale": map[string]any{}},
			"access_policies": map[string]any{"scale-write": map[string]any{"scopes": []string{"traces:write"},
				"realms": []any{map[string]any{"tenant": "scale"}}}},
			"tokens": tokens,
		})
		writeFile(t, filepath.Join(dir, "terraform.tfvars.json"), b, 0o644)
	}
	size := func() float64 {
		st, err := os.Stat(filepath.Join(dir, "terraform.tfstate"))
		if err != nil {
			return 0
		}
		return float64(st.Size()) / 1024
	}
	tf("init", "-input=false")
	for _, step := range []struct {
		what, rotation string
		args           []string
	}{
		{"install", "1", []string{"apply", "-auto-approve", "-input=false"}},
		{"no change (plan)", "1", []string{"plan", "-input=false"}},
		{"rotate all", "2", []string{"apply", "-auto-approve", "-input=false"}},
		{"destroy", "2", []string{"destroy", "-auto-approve", "-input=false"}},
	} {
		vars(step.rotation)
		took, rss := tf(step.args...)
		t.Logf("one state, %d tokens, %s: %.1fs, CLI peak RSS %.0f MiB, state %.0f KiB encrypted (%.1f x a Secret's 1 MiB)",
			n, step.what, took.Seconds(), rss, size(), size()/1024)
	}
}
