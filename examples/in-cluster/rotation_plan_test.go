package incluster_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

var planRE = regexp.MustCompile(`Plan: (\d+) to add, \d+ to change, \d+ to destroy`)

// TestRotationPlanTime measures how long OpenTofu plans (-refresh=false,
// the graph alone) when R of the chart module's N tokens rotate, for the
// module as it is (keepers on the token) and, up to 150 rotations, for the
// module that triggered rotations through terraform_data.
// TEMPO_ROTATION_PLAN_TOKENS=<N> turns it on (make bench-runner: 1000). It
// prints figures and asserts only that every plan replaces what it should.
func TestRotationPlanTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TEMPO_ROTATION_PLAN_TOKENS"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set TEMPO_ROTATION_PLAN_TOKENS to a number of tokens (make bench-runner)")
	}
	adminURL, tfrc := moduleBench(t, emulator.Options{AdminToken: emuAdminToken})

	modules := []struct {
		name, file string
		max        int
	}{
		{"keepers", filepath.Join(chartDir, "files", "main.tf"), n},
		{"terraform_data", filepath.Join("testdata", "main-terraform-data-rotation.tf"), 150},
	}
	for _, m := range modules {
		dir := t.TempDir()
		copyFile(t, m.file, filepath.Join(dir, "main.tf"), 0o644)
		tf := func(args ...string) (time.Duration, string) {
			t.Helper()
			cmd := exec.Command(tool(t, "tofu"), args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+tfrc, "TF_IN_AUTOMATION=1",
				"TEMPO_ADMIN_URL="+adminURL, "TEMPO_ADMIN_TOKEN="+emuAdminToken, "TEMPO_CLUSTER=tempo",
				// The provisioner's runner: nothing to write here.
				"TF_VAR_runner_command=true")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s tofu %v: %v\n%s", m.name, args, err, tail(string(out), 30))
			}
			return time.Since(start), string(out)
		}
		vars := func(rotated int) {
			tokens := map[string]any{}
			for i := range n {
				rotation := "1"
				if i < rotated {
					rotation = "2"
				}
				tokens[fmt.Sprintf("t%d", i)] = map[string]any{"name_prefix": fmt.Sprintf("%s-t%d", m.name[:4], i), "access_policy": "bench-write-" + m.name[:4],
					"rotation": rotation, "secret": map[string]string{"namespace": "bench", "name": fmt.Sprintf("tok-%d", i), "key": "token"}}
			}
			b, _ := json.Marshal(map[string]any{
				"allowed_endpoints": []string{"127.0.0.0/8"},
				"tenants":           map[string]any{"bench-" + m.name[:4]: map[string]any{}},
				"access_policies": map[string]any{"bench-write-" + m.name[:4]: map[string]any{"scopes": []string{"traces:write"},
					"realms": []any{map[string]any{"tenant": "bench-" + m.name[:4], "cluster": "tempo"}}}},
				"tokens": tokens,
			})
			writeFile(t, filepath.Join(dir, "terraform.tfvars.json"), b, 0o644)
		}
		tf("init", "-input=false")
		vars(0)
		took, _ := tf("apply", "-auto-approve", "-input=false")
		t.Logf("%s: %d tokens created in %.1fs", m.name, n, took.Seconds())
		for _, r := range []int{0, 50, 100, 150, 200, 500, 1000} {
			if r > n || r > m.max {
				continue
			}
			vars(r)
			took, out := tf("plan", "-refresh=false", "-input=false", "-no-color")
			adds := 0
			if m := planRE.FindStringSubmatch(out); m != nil {
				adds, _ = strconv.Atoi(m[1])
			}
			if adds != r {
				t.Errorf("%s, %d rotations: the plan adds %d, want %d:\n%s", m.name, r, adds, r, tail(out, 10))
			}
			t.Logf("%s: %d tokens, %d rotated: plan -refresh=false %.1fs", m.name, n, r, took.Seconds())
		}
	}
}

// moduleBench starts the emulator and builds the provider into a mirror
// for the chart's module driven by OpenTofu outside the cluster; it
// returns the admin API's URL and the CLI configuration that finds the
// provider.
func moduleBench(t *testing.T, opts emulator.Options) (adminURL, tfrc string) {
	t.Helper()
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	mirror := filepath.Join(t.TempDir(), "plugins")
	target := filepath.Join(mirror, "registry.opentofu.org/tempo-tenancy/tempo", providerVer, "linux_amd64")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+providerVer, "-o", filepath.Join(target, "terraform-provider-tempo_v"+providerVer), ".")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	tfrc = filepath.Join(t.TempDir(), "cli.tfrc")
	writeFile(t, tfrc, fmt.Appendf(nil, "provider_installation {\n  filesystem_mirror {\n    path = %q\n    include = [\"registry.opentofu.org/tempo-tenancy/tempo\"]\n  }\n}\n", mirror), 0o644)
	return srv.URL, tfrc
}
