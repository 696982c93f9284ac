package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CLI runs the CLI under test (TF_ACC_TERRAFORM_PATH) the way a user runs
// it: as a process of its own in a working directory, with the provider
// built from this module by `go build` and installed through a development
// override. It drives what terraform-plugin-testing cannot, such as reading
// and applying the configuration `plan -generate-config-out` writes.
type CLI struct {
	// Product is "Terraform" or "OpenTofu".
	Product string
	// Version is the CLI's version, such as "1.12.6".
	Version string
	// Dir is the working directory, empty at first.
	Dir string

	t            *testing.T
	path         string
	major, minor int
	env          []string
	plugins      string // where the provider is built, on first use
	built        bool
}

// RequiredProviders declares the provider for a configuration run by CLI.
const RequiredProviders = `
terraform {
  required_providers {
    tempo = {
      source = "tempo-tenancy/tempo"
    }
  }
}
`

var versionLine = regexp.MustCompile(`^(Terraform|OpenTofu) v(\d+)\.(\d+)\.(\d+)`)

// NewCLI prepares the CLI under test and a working directory for t. The
// provider is built when the CLI first runs in it, so that a test the CLI
// cannot run skips at once. Like terraform-plugin-testing, NewCLI skips the
// test unless TF_ACC is set.
func NewCLI(t *testing.T) *CLI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests skipped unless env 'TF_ACC' set")
	}
	path := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if path == "" {
		var err error
		if path, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("TF_ACC_TERRAFORM_PATH names no CLI and there is no terraform on PATH; see `make testacc`")
		}
	}
	c := &CLI{t: t, path: path, Dir: t.TempDir(), plugins: t.TempDir()}

	// A CLI configuration of the test's own: the machine's may point at a
	// missing file, and the provider must come from this module's build under
	// either CLI's default registry host. It needs no `init`.
	rc := filepath.Join(t.TempDir(), "cli.tfrc")
	overrides := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/tempo-tenancy/tempo" = %[1]q
    "registry.opentofu.org/tempo-tenancy/tempo" = %[1]q
  }
  direct {}
}
`, c.plugins)
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test process's environment, without what would point the CLI or
	// the provider elsewhere: terraform-plugin-testing leaves some of its
	// variables set, and the provider reads TEMPO_* when an argument is
	// missing.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TF_") || strings.HasPrefix(name, "TEMPO_") || name == "PLUGIN_PROTOCOL_VERSIONS" {
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")

	var out bytes.Buffer
	if code := c.run(&out, &out, []string{"version"}); code != 0 {
		t.Fatalf("%s version: exit %d\n%s", path, code, out.String())
	}
	m := versionLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("%s version: cannot read the version in %q", path, out.String())
	}
	c.Product, c.Version = m[1], m[2]+"."+m[3]+"."+m[4]
	c.major, _ = strconv.Atoi(m[2])
	c.minor, _ = strconv.Atoi(m[3])
	return c
}

// buildProvider builds the provider of this module where the development
// override points, once.
func (c *CLI) buildProvider() {
	c.t.Helper()
	if c.built {
		return
	}
	c.built = true
	goBin, err := exec.LookPath("go")
	if err != nil {
		c.t.Fatal("building the provider needs the go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		c.t.Fatalf("finding the module to build: %v", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(c.plugins, "terraform-provider-tempo"), ".")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("go build of the provider: %v\n%s", err, out)
	}
}

// Setenv adds a variable to the environment of the CLI, and so of the
// provider it starts.
func (c *CLI) Setenv(name, value string) { c.env = append(c.env, name+"="+value) }

// String names the CLI and its version, such as "Terraform 1.5.7".
func (c *CLI) String() string { return c.Product + " " + c.Version }

// AtLeast reports whether the CLI's version is major.minor or later.
func (c *CLI) AtLeast(major, minor int) bool {
	return c.major > major || (c.major == major && c.minor >= minor)
}

// WriteFile writes a file of the working directory.
func (c *CLI) WriteFile(name, content string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// ReadFile reads a file of the working directory.
func (c *CLI) ReadFile(name string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Dir, name))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// Run runs the CLI with args in the working directory and returns its
// output, stdout and stderr together, and its exit code.
func (c *CLI) Run(args ...string) (string, int) {
	c.t.Helper()
	var out bytes.Buffer
	code := c.run(&out, &out, args)
	return out.String(), code
}

// MustRun is Run that fails the test unless the CLI exits with 0.
func (c *CLI) MustRun(args ...string) string {
	c.t.Helper()
	out, code := c.Run(args...)
	if code != 0 {
		c.t.Fatalf("%s %s: exit %d\n%s", filepath.Base(c.path), strings.Join(args, " "), code, out)
	}
	return out
}

// JSON runs the CLI with args, which must make it print JSON on stdout, and
// decodes that into v. Warnings on stderr are left out.
func (c *CLI) JSON(v any, args ...string) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	if code := c.run(&stdout, &stderr, args); code != 0 {
		c.t.Fatalf("%s %s: exit %d\n%s%s", filepath.Base(c.path), strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
		c.t.Fatalf("%s %s: not JSON: %v\n%s", filepath.Base(c.path), strings.Join(args, " "), err, stdout.String())
	}
}

func (c *CLI) run(stdout, stderr *bytes.Buffer, args []string) int {
	c.t.Helper()
	if c.Version != "" {
		c.buildProvider()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, append([]string{"-chdir=" + c.Dir}, args...)...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		c.t.Fatalf("running %s %s: %v", c.path, strings.Join(args, " "), err)
		return -1
	}
}

// Change is one resource change of a saved plan, as `show -json` reports it.
type Change struct {
	Address   string
	Actions   []string
	Importing bool
}

// PlanChanges runs plan with args, saving the plan in the working
// directory as tfplan, and returns the plan's output and resource changes.
// It fails the test when the plan fails.
func (c *CLI) PlanChanges(args ...string) (string, []Change) {
	c.t.Helper()
	out := c.MustRun(append([]string{"plan", "-no-color", "-out=tfplan"}, args...)...)
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions   []string        `json:"actions"`
				Importing json.RawMessage `json:"importing"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	c.JSON(&plan, "show", "-json", "tfplan")
	changes := make([]Change, 0, len(plan.ResourceChanges))
	for _, rc := range plan.ResourceChanges {
		imp := len(rc.Change.Importing) > 0 && string(rc.Change.Importing) != "null"
		changes = append(changes, Change{Address: rc.Address, Actions: rc.Change.Actions, Importing: imp})
	}
	return out, changes
}

// Resources returns the attribute values of the managed resources in the
// state, by address, as `show -json` reports them (secrets included).
func (c *CLI) Resources() map[string]map[string]any {
	c.t.Helper()
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Mode    string         `json:"mode"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	c.JSON(&state, "show", "-json")
	m := map[string]map[string]any{}
	for _, r := range state.Values.RootModule.Resources {
		if r.Mode == "managed" {
			m[r.Address] = r.Values
		}
	}
	return m
}
