package provider_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

// dsProvider is a provider block for env with the given cluster; "" leaves
// cluster out, so that the provider discovers it. TEMPO_CLUSTER is cleared
// for the test so that the machine's environment cannot choose instead.
func dsProvider(t *testing.T, env *acctest.Env, cluster string) string {
	t.Setenv(provider.EnvCluster, "")
	line := ""
	if cluster != "" {
		line = fmt.Sprintf("  cluster = %q\n", cluster)
	}
	return fmt.Sprintf("provider \"tempo\" {\n  url   = %q\n  token = %q\n%s}\n", env.URL, acctest.AdminToken, line)
}

// errorRE compiles a pattern for ExpectError; the CLI wraps long messages,
// so any space may be a line break.
func errorRE(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)` + regexp.MustCompile(` +`).ReplaceAllString(pattern, `\s+`))
}

func TestAccClusterDataSource(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
data "tempo_cluster" "default" {}

data "tempo_cluster" "named" {
  name = "tempo"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_cluster.default", tfjsonpath.New("name"), knownvalue.StringExact(acctest.Cluster)),
					statecheck.ExpectKnownValue("data.tempo_cluster.default", tfjsonpath.New("display_name"), knownvalue.StringExact(acctest.Cluster)),
					statecheck.ExpectKnownValue("data.tempo_cluster.default", tfjsonpath.New("kind"), knownvalue.StringExact("traces")),
					statecheck.ExpectKnownValue("data.tempo_cluster.default", tfjsonpath.New("created_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					statecheck.ExpectKnownValue("data.tempo_cluster.named", tfjsonpath.New("name"), knownvalue.StringExact(acctest.Cluster)),
					statecheck.ExpectKnownValue("data.tempo_cluster.named", tfjsonpath.New("kind"), knownvalue.StringExact("traces")),
				},
			},
			{
				Config: env.ProviderConfig() + `
data "tempo_cluster" "x" {
  name = "elsewhere"
}`,
				ExpectError: errorRE(`Cluster "elsewhere" does not exist`),
			},
		},
	})
}

// Without cluster in the provider, the server's only cluster is the one.
func TestAccClusterDataSourceDiscovered(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: dsProvider(t, env, "") + `
data "tempo_cluster" "this" {}

resource "tempo_tenant" "a" {
  name = "team-a"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_cluster.this", tfjsonpath.New("name"), knownvalue.StringExact(acctest.Cluster)),
					statecheck.ExpectKnownValue("data.tempo_cluster.this", tfjsonpath.New("kind"), knownvalue.StringExact("traces")),
					// The data source shows the cluster resources default to.
					statecheck.CompareValuePairs("data.tempo_cluster.this", tfjsonpath.New("name"),
						"tempo_tenant.a", tfjsonpath.New("cluster"), compare.ValuesSame()),
				},
			},
		},
	})
}

// With two clusters and none chosen, guessing would be wrong: the error
// names both and says how to choose. A named cluster still reads.
func TestAccClusterDataSourceTwoClusters(t *testing.T) {
	env := acctest.Start(t, "east", "west")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      dsProvider(t, env, "") + `data "tempo_cluster" "this" {}`,
				ExpectError: errorRE(`2 clusters \(east, west\); set cluster in the provider`),
			},
			{
				Config: dsProvider(t, env, "") + `
data "tempo_cluster" "west" {
  name = "west"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_cluster.west", tfjsonpath.New("name"), knownvalue.StringExact("west")),
				},
			},
			{
				Config: dsProvider(t, env, "east") + `data "tempo_cluster" "this" {}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_cluster.this", tfjsonpath.New("name"), knownvalue.StringExact("east")),
				},
			},
		},
	})
}
