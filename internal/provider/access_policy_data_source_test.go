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

func TestAccAccessPolicyDataSource(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	// Made out of band with no display name, then destroyed.
	if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{
		Name:   "legacy-readers",
		Scopes: []string{"traces:read"},
		Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteAccessPolicy(ctx, "legacy-readers", 0); err != nil {
		t.Fatal(err)
	}
	noLabels := knownvalue.SetExact([]knownvalue.Check{})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
resource "tempo_access_policy" "p" {
  name         = "team-a-rw"
  display_name = "Team A read/write"
  scopes       = ["traces:write", "traces:read"]
  realm {
    tenant = "team-a"
    label_policy {
      selector = "{env=\"prod\"}"
    }
    label_policy {
      selector = "{env=\"staging\"}"
    }
  }
  realm {
    tenant = "team-b"
  }
}

data "tempo_access_policy" "p" {
  name = tempo_access_policy.p.name
}

data "tempo_access_policy" "legacy" {
  name = "legacy-readers"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_access_policy.p", tfjsonpath.New("display_name"), knownvalue.StringExact("Team A read/write")),
					statecheck.ExpectKnownValue("data.tempo_access_policy.p", tfjsonpath.New("scopes"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact("traces:read"),
						knownvalue.StringExact("traces:write"),
					})),
					statecheck.ExpectKnownValue("data.tempo_access_policy.p", tfjsonpath.New("realms"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant":  knownvalue.StringExact("team-a"),
							"cluster": knownvalue.StringExact(acctest.Cluster),
							"label_policies": knownvalue.SetExact([]knownvalue.Check{
								knownvalue.ObjectExact(map[string]knownvalue.Check{"selector": knownvalue.StringExact(`{env="prod"}`)}),
								knownvalue.ObjectExact(map[string]knownvalue.Check{"selector": knownvalue.StringExact(`{env="staging"}`)}),
							}),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant":         knownvalue.StringExact("team-b"),
							"cluster":        knownvalue.StringExact(acctest.Cluster),
							"label_policies": noLabels,
						}),
					})),
					statecheck.ExpectKnownValue("data.tempo_access_policy.p", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.CompareValuePairs("data.tempo_access_policy.p", tfjsonpath.New("created_at"),
						"tempo_access_policy.p", tfjsonpath.New("created_at"), compare.ValuesSame()),

					// No display name on the server: the name, whether or not the
					// server fills it in itself.
					statecheck.ExpectKnownValue("data.tempo_access_policy.legacy", tfjsonpath.New("display_name"), knownvalue.StringExact("legacy-readers")),
					statecheck.ExpectKnownValue("data.tempo_access_policy.legacy", tfjsonpath.New("status"), knownvalue.StringExact("inactive")),
					statecheck.ExpectKnownValue("data.tempo_access_policy.legacy", tfjsonpath.New("realms"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant":         knownvalue.StringExact("*"),
							"cluster":        knownvalue.StringExact(acctest.Cluster),
							"label_policies": noLabels,
						}),
					})),
				},
			},
			{
				Config:      env.ProviderConfig() + `data "tempo_access_policy" "x" { name = "no-such-policy" }`,
				ExpectError: errorRE(`Access policy "no-such-policy" does not exist`),
			},
		},
	})
}
