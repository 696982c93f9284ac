package provider_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// A server that fills every omitted display_name with the name (as Grafana
// Cloud's API does) plans and applies like one that does not: no
// inconsistent result, no replacement on the next run, and data sources
// report the same value on both.
func TestAccDisplayNameDefaultedByServer(t *testing.T) {
	for _, compat := range []string{"strict", "display-name-default"} {
		t.Run(compat, func(t *testing.T) {
			env := acctest.StartWith(t, acctest.Options{Compat: compat})
			cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name          = "collector"
  access_policy = tempo_access_policy.write_a.name
}
data "tempo_access_policy" "w" {
  name = tempo_access_policy.write_a.name
}
data "tempo_token" "w" {
  name = tempo_token.w.name
}`
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config: cfg,
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("tempo_access_policy.write_a", tfjsonpath.New("display_name"), knownvalue.Null()),
						statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("display_name"), knownvalue.Null()),
						statecheck.ExpectKnownValue("data.tempo_access_policy.w", tfjsonpath.New("display_name"), knownvalue.StringExact("team-a-write")),
						statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("display_name"), knownvalue.StringExact("collector")),
					},
				}, {
					Config:   cfg,
					PlanOnly: true,
				}},
			})
		})
	}
}
