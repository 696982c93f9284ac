package provider_test

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func TestAccTenantDataSource(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	// Made and destroyed out of band: a data source still reads it, and says
	// it is inactive.
	if _, err := env.Client.CreateTenant(ctx, adminapi.Tenant{Name: "old-team", Cluster: acctest.Cluster}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteTenant(ctx, "old-team", 0); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name         = "team-a"
  display_name = "Team A"
}

data "tempo_tenant" "a" {
  name = tempo_tenant.a.name
}

data "tempo_tenant" "old" {
  name = "old-team"
}

# Reserved for built-in tenants: refused by the resource, readable here.
data "tempo_tenant" "system" {
  name = "__system__"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_tenant.a", tfjsonpath.New("name"), knownvalue.StringExact("team-a")),
					statecheck.ExpectKnownValue("data.tempo_tenant.a", tfjsonpath.New("display_name"), knownvalue.StringExact("Team A")),
					statecheck.ExpectKnownValue("data.tempo_tenant.a", tfjsonpath.New("cluster"), knownvalue.StringExact(acctest.Cluster)),
					statecheck.ExpectKnownValue("data.tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.CompareValuePairs("data.tempo_tenant.a", tfjsonpath.New("created_at"),
						"tempo_tenant.a", tfjsonpath.New("created_at"), compare.ValuesSame()),

					statecheck.ExpectKnownValue("data.tempo_tenant.old", tfjsonpath.New("status"), knownvalue.StringExact("inactive")),
					statecheck.ExpectKnownValue("data.tempo_tenant.old", tfjsonpath.New("display_name"), knownvalue.StringExact("old-team")),

					statecheck.ExpectKnownValue("data.tempo_tenant.system", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue("data.tempo_tenant.system", tfjsonpath.New("cluster"), knownvalue.StringExact(acctest.Cluster)),
				},
			},
		},
	})
}

// A data source that finds nothing fails: an empty result would let a typo
// flow on into other resources.
func TestAccTenantDataSourceErrors(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      env.ProviderConfig() + `data "tempo_tenant" "x" { name = "no-such-team" }`,
				ExpectError: errorRE(`Tenant "no-such-team" does not exist.*tempo_tenant resource`),
			},
			{
				Config:      env.ProviderConfig() + `data "tempo_tenant" "x" { name = "Team A" }`,
				ExpectError: errorRE(`Invalid name.*3 to 64 characters`),
			},
		},
	})
}
