package provider_test

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func TestAccAccessPoliciesDataSource(t *testing.T) {
	env := acctest.Start(t, "east", "west")
	ctx := context.Background()
	// Made out of band, out of order; one is then destroyed.
	for _, p := range []adminapi.AccessPolicy{
		{
			Name: "team-b-read", DisplayName: "Team B readers", Scopes: []string{"traces:read", "metrics:read"},
			Realms: []adminapi.Realm{
				{Tenant: "team-b", Cluster: "east", LabelPolicies: []adminapi.LabelPolicy{{Selector: `{env="prod"}`}, {Selector: `{env="dev"}`}}},
				{Tenant: "*", Cluster: "west"},
			},
		},
		{Name: "legacy", Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{{Tenant: "*", Cluster: "east"}}},
		{Name: "team-a-write", Scopes: []string{"traces:write"}, Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "east"}}},
	} {
		if _, err := env.Client.CreateAccessPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Client.DeleteAccessPolicy(ctx, "legacy", 0); err != nil {
		t.Fatal(err)
	}
	noLabels := knownvalue.SetExact([]knownvalue.Check{})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: dsProvider(t, env, "east") + `
data "tempo_access_policies" "active" {}

data "tempo_access_policies" "all" {
  include_inactive = true
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.tempo_access_policies.active", tfjsonpath.New("names"),
					stringList("team-a-write", "team-b-read")),
				statecheck.ExpectKnownValue("data.tempo_access_policies.all", tfjsonpath.New("names"),
					stringList("legacy", "team-a-write", "team-b-read")),
				statecheck.ExpectKnownValue("data.tempo_access_policies.all", tfjsonpath.New("access_policies"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("legacy"),
						// No display name on the server: the name, as
						// tempo_access_policy reports it.
						"display_name": knownvalue.StringExact("legacy"),
						"scopes":       knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("traces:read")}),
						"realms": knownvalue.SetExact([]knownvalue.Check{knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant": knownvalue.StringExact("*"), "cluster": knownvalue.StringExact("east"), "label_policies": noLabels,
						})}),
						"status":     knownvalue.StringExact("inactive"),
						"created_at": knownvalue.NotNull(),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name":         knownvalue.StringExact("team-a-write"),
						"display_name": knownvalue.StringExact("team-a-write"),
						"status":       knownvalue.StringExact("active"),
					}),
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name":         knownvalue.StringExact("team-b-read"),
						"display_name": knownvalue.StringExact("Team B readers"),
						"scopes": knownvalue.SetExact([]knownvalue.Check{
							knownvalue.StringExact("metrics:read"), knownvalue.StringExact("traces:read"),
						}),
						"realms": knownvalue.SetExact([]knownvalue.Check{
							knownvalue.ObjectExact(map[string]knownvalue.Check{
								"tenant": knownvalue.StringExact("team-b"), "cluster": knownvalue.StringExact("east"),
								"label_policies": knownvalue.SetExact([]knownvalue.Check{
									knownvalue.ObjectExact(map[string]knownvalue.Check{"selector": knownvalue.StringExact(`{env="dev"}`)}),
									knownvalue.ObjectExact(map[string]knownvalue.Check{"selector": knownvalue.StringExact(`{env="prod"}`)}),
								}),
							}),
							knownvalue.ObjectExact(map[string]knownvalue.Check{
								"tenant": knownvalue.StringExact("*"), "cluster": knownvalue.StringExact("west"), "label_policies": noLabels,
							}),
						}),
						"status":     knownvalue.StringExact("active"),
						"created_at": knownvalue.NotNull(),
					}),
				})),
			},
		}},
	})
}

// An element of the list reads exactly as the single-object data source
// reads the same policy.
func TestAccAccessPoliciesDataSourceMatchesSingle(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + `
resource "tempo_access_policy" "p" {
  name   = "team-a-rw"
  scopes = ["traces:write", "traces:read"]
  realm {
    tenant = "team-a"
    label_policy {
      selector = "{env=\"prod\"}"
    }
  }
}

data "tempo_access_policies" "all" {
  depends_on = [tempo_access_policy.p]
}

data "tempo_access_policy" "p" {
  name = tempo_access_policy.p.name
}

output "same" {
  value = one(data.tempo_access_policies.all.access_policies) == data.tempo_access_policy.p
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("same", knownvalue.Bool(true)),
			},
		}},
	})
}

// The example the docs show, applied as written.
func TestAccAccessPoliciesDataSourceExample(t *testing.T) {
	example, err := os.ReadFile("../../examples/data-sources/tempo_access_policies/data-source.tf")
	if err != nil {
		t.Fatal(err)
	}
	env := acctest.Start(t)
	ctx := context.Background()
	for _, p := range []adminapi.AccessPolicy{
		{Name: "otel", Scopes: []string{"traces:write"}, Realms: []adminapi.Realm{
			{Tenant: "team-b", Cluster: acctest.Cluster}, {Tenant: "team-a", Cluster: acctest.Cluster},
		}},
		{Name: "grafana", Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}}},
		{Name: "tenancy-plan", Scopes: []string{"admin:read"}, Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}}},
	} {
		if _, err := env.Client.CreateAccessPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + string(example),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("trace_writers", knownvalue.MapExact(map[string]knownvalue.Check{
					"otel": stringList("tempo/team-a", "tempo/team-b"),
				})),
				statecheck.ExpectKnownOutputValue("admin_policies", stringList("tenancy-plan")),
			},
		}},
	})
}
