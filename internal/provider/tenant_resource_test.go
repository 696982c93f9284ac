package provider_test

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func TestAccTenant(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name = "team-a"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("display_name"), knownvalue.StringExact("team-a")),
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("cluster"), knownvalue.StringExact("tempo")),
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("created_at"), knownvalue.NotNull()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("display_name"), knownvalue.StringExact("team-a")),
						plancheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("cluster"), knownvalue.StringExact("tempo")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name         = "team-a"
  display_name = "Team A"
}`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_tenant.a", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("display_name"), knownvalue.StringExact("Team A")),
				},
			},
			{
				ResourceName:                         "tempo_tenant.a",
				ImportState:                          true,
				ImportStateId:                        "team-a",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{
				// The same through an import block, planned with no changes.
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name         = "team-a"
  display_name = "Team A"
}`,
				ResourceName:    "tempo_tenant.a",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "team-a",
			},
			{
				// Drift: deactivated and renamed out of band.
				PreConfig: func() {
					cur, err := env.Client.GetTenant(ctx, "team-a")
					if err != nil {
						t.Fatal(err)
					}
					cur.DisplayName, cur.Status = "changed by hand", adminapi.StatusInactive
					if _, err := env.Client.UpdateTenant(ctx, *cur); err != nil {
						t.Fatal(err)
					}
				},
				Config: env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name         = "team-a"
  display_name = "Team A"
}`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_tenant.a", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("display_name"), knownvalue.StringExact("Team A")),
				},
			},
		},
	})
}
