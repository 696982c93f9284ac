package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// An installation made without this provider, as a provisioner Job, curl
// or a script leaves one: tenants, read and write policies per tenant,
// tokens with and without expiration, and what adoption must leave alone
// (the built-in tenant, an inactive tenant and policy, a revoked and an
// expired token). It returns the secrets of the tokens, which no state may
// ever hold.
func populateForAdoption(t *testing.T, env *acctest.Env) []string {
	t.Helper()
	ctx := context.Background()
	for _, tn := range []adminapi.Tenant{
		{Name: "team-a", Cluster: acctest.Cluster},
		{Name: "team-b", Cluster: acctest.Cluster, DisplayName: "Team B"},
		{Name: "1st-team", Cluster: acctest.Cluster},
		{Name: "team-gone", Cluster: acctest.Cluster},
	} {
		if _, err := env.Client.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	realm := func(tenant string, selectors ...string) adminapi.Realm {
		r := adminapi.Realm{Tenant: tenant, Cluster: acctest.Cluster}
		for _, s := range selectors {
			r.LabelPolicies = append(r.LabelPolicies, adminapi.LabelPolicy{Selector: s})
		}
		return r
	}
	for _, p := range []adminapi.AccessPolicy{
		{Name: "write-team-a", Scopes: []string{"traces:write"}, Realms: []adminapi.Realm{realm("team-a")}},
		{Name: "read-team-a", Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{realm("team-a")}},
		{
			Name: "read-team-b", DisplayName: "Team B readers", Scopes: []string{"traces:read", "metrics:read"},
			Realms: []adminapi.Realm{realm("team-b", `{env="prod"}`, `{env="dev"}`), realm("*")},
		},
		{Name: "legacy", Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{realm("team-gone")}},
	} {
		if _, err := env.Client.CreateAccessPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Expires in a second or two (the API keeps whole seconds): the
	// expiry is real, as the CLI's plantimestamp() is.
	soon := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	var secrets []string
	for _, tk := range []adminapi.Token{
		{Name: "write-team-a", AccessPolicy: "write-team-a"},
		{Name: "read-team-a", AccessPolicy: "read-team-a", Expiration: "2099-01-31T00:00:00Z"},
		{Name: "read-team-b", AccessPolicy: "read-team-b", DisplayName: "Grafana", Expiration: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)},
		{Name: "old-laptop", AccessPolicy: "read-team-a"},
		{Name: "short-lived", AccessPolicy: "read-team-a", Expiration: soon.Format(time.RFC3339)},
	} {
		got, err := env.Client.CreateToken(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, got.Secret.Reveal())
	}
	if err := env.Client.DeleteToken(ctx, "old-laptop", 0); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteTenant(ctx, "team-gone", 0); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteAccessPolicy(ctx, "legacy", 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon.Add(time.Second)))
	return secrets
}

// adoptable is what populateForAdoption leaves to adopt, by resource type;
// withInactive adds the inactive tenant and policy.
func adoptable(withInactive bool) map[string][]string {
	m := map[string][]string{
		"tempo_tenant":        {"1st-team", "team-a", "team-b"},
		"tempo_access_policy": {"read-team-a", "read-team-b", "write-team-a"},
		"tempo_token":         {"read-team-a", "read-team-b", "write-team-a"},
	}
	if withInactive {
		m["tempo_tenant"] = append(m["tempo_tenant"], "team-gone")
		m["tempo_access_policy"] = append(m["tempo_access_policy"], "legacy")
	}
	return m
}

// useExamples copies files of examples/ (paths relative to it) into the
// CLI's working directory, each under its own name.
func useExamples(t *testing.T, cli *acctest.CLI, files ...string) {
	t.Helper()
	for _, f := range files {
		body, err := os.ReadFile(filepath.Join("..", "..", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		cli.WriteFile(filepath.Base(f), string(body))
	}
}

// dropFiles removes files of the CLI's working directory.
func dropFiles(t *testing.T, cli *acctest.CLI, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Remove(filepath.Join(cli.Dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// importsOnly fails the test unless the changes import exactly want, each
// without any change, and do nothing else: nothing created, changed or
// destroyed. Resources managed already and left unchanged are no concern.
func importsOnly(t *testing.T, changes []acctest.Change, want []string) {
	t.Helper()
	var got []string
	for _, c := range changes {
		noop := slices.Equal(c.Actions, []string{"no-op"})
		switch {
		case !c.Importing && noop:
			continue
		case !c.Importing:
			t.Errorf("%s: %v, want nothing but imports", c.Address, c.Actions)
		case !noop:
			t.Errorf("%s: imported with %v, want no change", c.Address, c.Actions)
		}
		got = append(got, c.Address)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("the plan imports\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// emptyPlan fails the test unless a plan with args reports no changes.
func emptyPlan(t *testing.T, cli *acctest.CLI, args ...string) {
	t.Helper()
	out, code := cli.Run(append([]string{"plan", "-no-color", "-detailed-exitcode"}, args...)...)
	if code != 0 {
		t.Fatalf("plan: exit %d, want 0 (no changes)\n%s", code, out)
	}
}

// secretWarnings fails the test unless the CLI's output warns, for each
// imported token, that it has no secret.
func secretWarnings(t *testing.T, out string, tokens []string) {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ") // the CLI wraps long lines
	for _, n := range tokens {
		if !strings.Contains(flat, fmt.Sprintf("Imported token %q has no secret", n)) {
			t.Errorf("no warning that the imported token %s has no secret in:\n%s", n, out)
		}
	}
}

// noSecretsInFiles fails the test when a file of the CLI's working
// directory (state, generated configuration, variables) holds a secret.
func noSecretsInFiles(t *testing.T, cli *acctest.CLI, secrets []string) {
	t.Helper()
	entries, err := os.ReadDir(cli.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body := cli.ReadFile(e.Name())
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s holds a token secret", e.Name())
			}
		}
	}
}

// tokensActive fails the test unless every named token is active on the
// server: adoption reads, and never revokes.
func tokensActive(t *testing.T, env *acctest.Env, names []string) {
	t.Helper()
	for _, n := range names {
		if got, err := env.Client.GetToken(context.Background(), n); err != nil || got.Status != adminapi.StatusActive {
			t.Errorf("token %s: %+v, %v; want it active", n, got, err)
		}
	}
}

// forEachAddresses are the addresses examples/adopting/tenancy.tf gives
// the objects.
func forEachAddresses(objects map[string][]string) []string {
	var addrs []string
	for typ, names := range objects {
		for _, n := range names {
			addrs = append(addrs, fmt.Sprintf("%s.this[%q]", typ, n))
		}
	}
	return addrs
}

// A whole server adopted in one plan with examples/adopting: import blocks
// with for_each over the list data sources, every import a no-op, nothing
// created, changed or destroyed, and an empty plan after the apply. Then
// the same objects declared as the values `output -json adopted` prints:
// an empty plan again. Then the inactive tenant and policy adopted on
// request: only they are imported, and they stay inactive.
//
// The CLI is driven directly: terraform-plugin-testing cannot read a state
// whose resources have for_each keys.
func TestAccAdoptWithForEach(t *testing.T) {
	cli := acctest.NewCLI(t)
	if !cli.AtLeast(1, 7) {
		t.Skipf("import blocks with for_each need Terraform 1.7 or OpenTofu 1.7 or later; the CLI under test is %s", cli)
	}
	env := acctest.Start(t)
	secrets := populateForAdoption(t, env)
	cli.WriteFile("provider.tf", acctest.RequiredProviders+env.ProviderConfig())
	adopting := []string{"adopting/inventory.tf", "adopting/import.tf", "adopting/tenancy.tf"}
	useExamples(t, cli, adopting...)

	out, changes := cli.PlanChanges()
	importsOnly(t, changes, forEachAddresses(adoptable(false)))
	secretWarnings(t, out, adoptable(false)["tempo_token"])
	cli.MustRun("apply", "-no-color", "tfplan")
	emptyPlan(t, cli)

	res := cli.Resources()
	for _, n := range adoptable(false)["tempo_token"] {
		if v := res[fmt.Sprintf("tempo_token.this[%q]", n)]["token"]; v != nil {
			t.Errorf("imported token %s has a secret in the state", n)
		}
	}
	for addr, want := range map[string]map[string]any{
		`tempo_tenant.this["team-a"]`:              {"display_name": "team-a", "status": "active"},
		`tempo_tenant.this["team-b"]`:              {"display_name": "Team B"},
		`tempo_access_policy.this["write-team-a"]`: {"display_name": nil},
		`tempo_access_policy.this["read-team-b"]`:  {"display_name": "Team B readers"},
		`tempo_token.this["read-team-b"]`:          {"display_name": "Grafana"},
		`tempo_token.this["write-team-a"]`:         {"expiration": nil, "display_name": nil},
	} {
		for k, v := range want {
			if got := res[addr][k]; got != v {
				t.Errorf("%s.%s = %v, want %v", addr, k, got, v)
			}
		}
	}
	if realms, _ := res[`tempo_access_policy.this["read-team-b"]`]["realm"].([]any); len(realms) != 2 {
		t.Errorf("read-team-b has realms %v, want 2", realms)
	}

	// Declared: the values as the adopted output prints them.
	var adopted json.RawMessage
	cli.JSON(&adopted, "output", "-json", "adopted")
	cli.WriteFile("tenancy.auto.tfvars.json", string(adopted))
	dropFiles(t, cli, "inventory.tf", "import.tf")
	useExamples(t, cli, "adopting/declared/declared.tf")
	// Nothing changes but the outputs of inventory.tf, which go.
	_, changes = cli.PlanChanges()
	importsOnly(t, changes, nil)
	noSecretsInFiles(t, cli, secrets)

	// The inactive ones, later and on request.
	dropFiles(t, cli, "declared.tf", "tenancy.auto.tfvars.json")
	useExamples(t, cli, adopting...)
	_, changes = cli.PlanChanges("-var", "include_inactive=true")
	importsOnly(t, changes, []string{`tempo_tenant.this["team-gone"]`, `tempo_access_policy.this["legacy"]`})
	cli.MustRun("apply", "-no-color", "tfplan")
	emptyPlan(t, cli, "-var", "include_inactive=true")
	res = cli.Resources()
	for _, addr := range []string{`tempo_tenant.this["team-gone"]`, `tempo_access_policy.this["legacy"]`} {
		if got := res[addr]["status"]; got != adminapi.StatusInactive {
			t.Errorf("%s.status = %v, want inactive", addr, got)
		}
	}
	tokensActive(t, env, adoptable(false)["tempo_token"])
	noSecretsInFiles(t, cli, secrets)
}
