package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

const policyV1 = `
resource "tempo_access_policy" "rw" {
  name         = "team-a-rw"
  display_name = "Team A read/write"
  scopes       = ["traces:read", "traces:write"]

  realm {
    tenant = "team-a"
  }
  realm {
    tenant = "team-b"
    label_policy {
      selector = "{env=\"prod\"}"
    }
  }
}
`

// The same policy, every set written in another order.
const policyV1Reordered = `
resource "tempo_access_policy" "rw" {
  name         = "team-a-rw"
  display_name = "Team A read/write"
  scopes       = ["traces:write", "traces:read"]

  realm {
    tenant = "team-b"
    label_policy {
      selector = "{env=\"prod\"}"
    }
  }
  realm {
    tenant  = "team-a"
    cluster = "tempo"
  }
}
`

const policyV2 = `
resource "tempo_access_policy" "rw" {
  name   = "team-a-rw"
  scopes = ["traces:read"]

  realm {
    tenant = "*"
  }
}
`

func TestAccAccessPolicy(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:           env.ProviderConfig() + policyV1,
				ConfigPlanChecks: empty,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("scopes"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("traces:read"), knownvalue.StringExact("traces:write")})),
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("realm"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant": knownvalue.StringExact("team-a"), "cluster": knownvalue.StringExact("tempo"),
							"label_policy": knownvalue.SetSizeExact(0),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"tenant": knownvalue.StringExact("team-b"), "cluster": knownvalue.StringExact("tempo"),
							"label_policy": knownvalue.SetExact([]knownvalue.Check{knownvalue.ObjectExact(map[string]knownvalue.Check{
								"selector": knownvalue.StringExact(`{env="prod"}`),
							})}),
						}),
					})),
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
			{
				// Order carries no meaning: no diff.
				Config: env.ProviderConfig() + policyV1Reordered,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: env.ProviderConfig() + policyV2,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_access_policy.rw", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("display_name"), knownvalue.Null()),
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("scopes"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("traces:read")})),
				},
			},
			{
				ResourceName:                         "tempo_access_policy.rw",
				ImportState:                          true,
				ImportStateId:                        "team-a-rw",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{
				Config:          env.ProviderConfig() + policyV2,
				ResourceName:    "tempo_access_policy.rw",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "team-a-rw",
			},
			{
				// Drift in every managed field at once, then deactivation.
				PreConfig: func() {
					cur, err := env.Client.GetAccessPolicy(ctx, "team-a-rw")
					if err != nil {
						t.Fatal(err)
					}
					cur.DisplayName = "by hand"
					cur.Scopes = []string{"traces:read", "traces:delete"}
					cur.Realms = []adminapi.Realm{{Tenant: "team-z", Cluster: "tempo"}}
					cur.Status = adminapi.StatusInactive
					if _, err := env.Client.UpdateAccessPolicy(ctx, *cur); err != nil {
						t.Fatal(err)
					}
				},
				Config: env.ProviderConfig() + policyV2,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_access_policy.rw", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("status"), knownvalue.StringExact("active")),
						plancheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("display_name"), knownvalue.Null()),
						plancheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("scopes"),
							knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("traces:read")})),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_access_policy.rw", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
		},
	})
	got, err := env.Client.GetAccessPolicy(ctx, "team-a-rw")
	if err != nil || got.Status != adminapi.StatusInactive {
		t.Fatalf("after destroy: %+v, %v; want the policy inactive", got, err)
	}
}

// Destroying and applying again re-activates tenant and policy under the
// same names, with a warning rather than an error.
func TestAccReactivation(t *testing.T) {
	env := acctest.Start(t)
	cfg := env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name = "team-a"
}
resource "tempo_access_policy" "w" {
  name   = "team-a-write"
  scopes = ["traces:write"]
  realm {
    tenant = tempo_tenant.a.name
  }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg},
			{Config: cfg, Destroy: true},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_tenant.a", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("tempo_access_policy.w", plancheck.ResourceActionCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue("tempo_access_policy.w", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
		},
	})
}

// Re-activating an inactive policy would bring every token of it that was
// never revoked back to life, with the new scopes: the plan refuses and
// names them. Once they are revoked, the policy is re-activated.
func TestAccReactivationRefusedWithLiveTokens(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	cfg := func(scope string) string {
		return env.ProviderConfig() + fmt.Sprintf(`
resource "tempo_tenant" "a" {
  name = "team-a"
}
resource "tempo_access_policy" "w" {
  name   = "team-a-write"
  scopes = [%q]
  realm {
    tenant = tempo_tenant.a.name
  }
}
`, scope)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("traces:read"),
				Check: func(*terraform.State) error {
					// A token made outside this configuration, never revoked.
					_, err := env.Client.CreateToken(ctx, adminapi.Token{Name: "by-hand", AccessPolicy: "team-a-write"})
					return err
				},
			},
			{Config: cfg("traces:read"), Destroy: true},
			{
				PreConfig:   env.Emulator.Reset,
				Config:      cfg("traces:write"),
				ExpectError: regexp.MustCompile(`(?s)would revive 1 token.*by-hand.*revoke them.*import the policy`),
			},
			{
				// A name known only at apply escapes the plan's check; the
				// apply checks again before re-activating.
				PreConfig: func() {
					if err := onlyReads(env); err != nil {
						t.Error(err)
					}
				},
				Config: strings.Replace(cfg("traces:write"), `name   = "team-a-write"`, `name   = terraform_data.n.output`, 1) + `
resource "terraform_data" "n" {
  input = "team-a-write"
}`,
				ExpectError: regexp.MustCompile(`(?s)would revive 1 token.*by-hand`),
			},
			{
				PreConfig: func() {
					if got, err := env.Client.GetAccessPolicy(ctx, "team-a-write"); err != nil || got.Status != adminapi.StatusInactive {
						t.Errorf("after the refused apply the policy is %+v, %v; want it still inactive", got, err)
					}
					if err := env.Client.DeleteToken(ctx, "by-hand", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg("traces:write"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_access_policy.w", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
		},
	})
}
