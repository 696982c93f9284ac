package provider_test

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// stringList is a knownvalue check of a list of exactly these strings, in order.
func stringList(values ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return knownvalue.ListExact(checks)
}

func TestAccTenantsDataSource(t *testing.T) {
	env := acctest.Start(t, "east", "west")
	ctx := context.Background()
	// Created out of order, in two clusters; one is then deactivated.
	for _, tn := range []adminapi.Tenant{
		{Name: "team-b", Cluster: "east"},
		{Name: "team-w", Cluster: "west", DisplayName: "Team West"},
		{Name: "team-gone", Cluster: "east"},
		{Name: "team-a", Cluster: "east"},
	} {
		if _, err := env.Client.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Client.DeleteTenant(ctx, "team-gone", 0); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: dsProvider(t, env, "east") + `
data "tempo_tenants" "active" {}

data "tempo_tenants" "all" {
  include_inactive = true
}

data "tempo_tenants" "west" {
  cluster = "west"
}

data "tempo_tenants" "east_all" {
  cluster          = "east"
  include_inactive = true
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					// __system__ is built in and active; it sorts before the rest.
					statecheck.ExpectKnownValue("data.tempo_tenants.active", tfjsonpath.New("names"),
						stringList("__system__", "team-a", "team-b", "team-w")),
					statecheck.ExpectKnownValue("data.tempo_tenants.all", tfjsonpath.New("names"),
						stringList("__system__", "team-a", "team-b", "team-gone", "team-w")),
					statecheck.ExpectKnownValue("data.tempo_tenants.west", tfjsonpath.New("names"), stringList("team-w")),
					statecheck.ExpectKnownValue("data.tempo_tenants.west", tfjsonpath.New("tenants"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":         knownvalue.StringExact("team-w"),
							"display_name": knownvalue.StringExact("Team West"),
							"cluster":      knownvalue.StringExact("west"),
							"status":       knownvalue.StringExact("active"),
							"created_at":   knownvalue.NotNull(),
						}),
					})),
					statecheck.ExpectKnownValue("data.tempo_tenants.east_all", tfjsonpath.New("names"),
						stringList("__system__", "team-a", "team-b", "team-gone")),
					statecheck.ExpectKnownValue("data.tempo_tenants.east_all", tfjsonpath.New("tenants").AtSliceIndex(3).AtMapKey("status"),
						knownvalue.StringExact("inactive")),
					statecheck.ExpectKnownValue("data.tempo_tenants.east_all", tfjsonpath.New("tenants").AtSliceIndex(1).AtMapKey("name"),
						knownvalue.StringExact("team-a")),
					statecheck.ExpectKnownValue("data.tempo_tenants.east_all", tfjsonpath.New("tenants").AtSliceIndex(1).AtMapKey("status"),
						knownvalue.StringExact("active")),
				},
			},
			{
				// A filter naming an unknown cluster is a mistake, not an
				// empty cluster.
				Config:      dsProvider(t, env, "east") + `data "tempo_tenants" "x" { cluster = "north" }`,
				ExpectError: errorRE(`Cluster "north" does not exist`),
			},
		},
	})
}

// Tenants made by resources in the same configuration are listed once they
// exist: the list depends on them.
func TestAccTenantsDataSourceWithResources(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "t" {
  count = 3
  name  = ["team-c", "team-a", "team-b"][count.index]
}

data "tempo_tenants" "all" {
  cluster    = "tempo"
  depends_on = [tempo_tenant.t]
}

output "tenant_names" {
  value = data.tempo_tenants.all.names
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_tenants.all", tfjsonpath.New("names"),
						stringList("__system__", "team-a", "team-b", "team-c")),
					statecheck.ExpectKnownOutputValue("tenant_names", stringList("__system__", "team-a", "team-b", "team-c")),
				},
			},
		},
	})
}
