package provider_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// `plan -generate-config-out` for all three resources, with the import
// blocks the inventory of examples/adopting prints: the plan that writes
// the configuration imports every object without a change, the
// configuration sets no attribute only the server sets, and after the
// apply the plan is empty. Imported tokens have no secret, and say so.
//
// The CLI is driven directly: terraform-plugin-testing runs the generating
// plan but can neither read the generated file nor apply it.
func TestAccGenerateConfig(t *testing.T) {
	cli := acctest.NewCLI(t)
	if !cli.AtLeast(1, 5) {
		t.Skipf("plan -generate-config-out needs Terraform 1.5 or later (or OpenTofu); the CLI under test is %s", cli)
	}
	env := acctest.Start(t)
	secrets := populateForAdoption(t, env)
	cli.WriteFile("provider.tf", acctest.RequiredProviders+env.ProviderConfig())
	useExamples(t, cli, "adopting/inventory.tf")
	vars := []string{"-var", "include_inactive=true", "-var", `leave_out=["read-team-a"]`}

	// The inventory alone changes nothing but its outputs, which hold the
	// import blocks.
	cli.MustRun(append([]string{"apply", "-no-color", "-auto-approve"}, vars...)...)
	cli.WriteFile("imports.tf", cli.MustRun("output", "-raw", "import_blocks"))

	out, changes := cli.PlanChanges(append(vars, "-generate-config-out=generated.tf")...)
	objects := adoptable(true)
	for _, typ := range []string{"tempo_access_policy", "tempo_token"} {
		objects[typ] = slices.DeleteFunc(objects[typ], func(n string) bool { return n == "read-team-a" })
	}
	var want []string
	for typ, names := range objects {
		for _, n := range names {
			// The inventory's resource names: a leading _ where the
			// object's name cannot start one.
			if c := n[0]; (c < 'a' || c > 'z') && c != '_' {
				n = "_" + n
			}
			want = append(want, typ+"."+n)
		}
	}
	importsOnly(t, changes, want)
	secretWarnings(t, out, objects["tempo_token"])

	generated := cli.ReadFile("generated.tf")
	for typ, names := range objects {
		for _, n := range names {
			if !strings.Contains(generated, fmt.Sprintf("# __generated__ by %s from %q\nresource %q", cli.Product, n, typ)) {
				t.Errorf("generated.tf has no %s for %s", typ, n)
			}
		}
	}
	computedOnly(t, cli, generated)

	cli.MustRun("apply", "-no-color", "tfplan")
	emptyPlan(t, cli, vars...)
	res := cli.Resources()
	for _, n := range objects["tempo_token"] {
		if v := res["tempo_token."+n]["token"]; v != nil {
			t.Errorf("imported token %s has a secret in the state", n)
		}
	}
	tokensActive(t, env, objects["tempo_token"])
	noSecretsInFiles(t, cli, secrets)
}

// schemaBlock is a block of `providers schema -json`.
type schemaBlock struct {
	Attributes map[string]struct {
		Required bool `json:"required"`
		Optional bool `json:"optional"`
		Computed bool `json:"computed"`
	} `json:"attributes"`
	BlockTypes map[string]struct {
		Block schemaBlock `json:"block"`
	} `json:"block_types"`
}

// computedOnly fails the test when generated configuration sets an
// attribute the provider's schema has as computed only (set by the
// server, such as created_at, or by the provider, such as a token's
// secret) or one the schema does not have.
func computedOnly(t *testing.T, cli *acctest.CLI, generated string) {
	t.Helper()
	var schemas struct {
		ProviderSchemas map[string]struct {
			ResourceSchemas map[string]struct {
				Block schemaBlock `json:"block"`
			} `json:"resource_schemas"`
		} `json:"provider_schemas"`
	}
	cli.JSON(&schemas, "providers", "schema", "-json")
	if len(schemas.ProviderSchemas) != 1 {
		t.Fatalf("providers schema: want one provider, got %d", len(schemas.ProviderSchemas))
	}
	var resources map[string]struct {
		Block schemaBlock `json:"block"`
	}
	for _, p := range schemas.ProviderSchemas {
		resources = p.ResourceSchemas
	}
	seen := 0
	for _, a := range generatedAttributes(generated) {
		seen++
		r, ok := resources[a[0]]
		if !ok {
			t.Errorf("generated.tf: resource type %s is not the provider's", a[0])
			continue
		}
		b := r.Block
		for _, nested := range a[1 : len(a)-1] {
			b = b.BlockTypes[nested].Block
		}
		s, ok := b.Attributes[a[len(a)-1]]
		switch {
		case !ok:
			t.Errorf("generated.tf sets %s, which the schema lacks", strings.Join(a, "."))
		case s.Computed && !s.Optional && !s.Required:
			t.Errorf("generated.tf sets %s, which only the server or the provider sets", strings.Join(a, "."))
		}
	}
	if seen == 0 {
		t.Fatalf("no attribute found in generated.tf:\n%s", generated)
	}
}

// generatedAttributes lists what each attribute line of generated
// configuration sets, as resource type, nested block types and attribute
// name. The CLI writes one attribute per line and a block's braces on
// lines of their own.
func generatedAttributes(src string) [][]string {
	var attrs [][]string
	var path []string
	for _, line := range strings.Split(src, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "resource "):
			path = []string{strings.Trim(strings.Fields(l)[1], `"`)}
		case l == "}":
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case strings.HasSuffix(l, "{") && !strings.Contains(l, "="):
			path = append(path, strings.TrimSpace(strings.TrimSuffix(l, "{")))
		case strings.Contains(l, "=") && len(path) > 0:
			name, _, _ := strings.Cut(l, "=")
			attrs = append(attrs, append(append([]string(nil), path...), strings.TrimSpace(name)))
		}
	}
	return attrs
}
