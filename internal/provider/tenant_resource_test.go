package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
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

// A tenant cannot change cluster, and cannot be replaced under its name
// either: the plan fails, and nothing on the server changes.
func TestAccTenantClusterChangeFailsAtPlan(t *testing.T) {
	env := acctest.StartWith(t, acctest.Options{Clusters: []string{"tempo", "other"}})
	ctx := context.Background()
	tenant := func(cluster string) string {
		return env.ProviderConfig() + fmt.Sprintf(`
resource "tempo_tenant" "a" {
  name    = "team-a"
  cluster = %q
}`, cluster)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: tenant("tempo")},
			{
				PreConfig:   env.Emulator.Reset,
				Config:      tenant("other"),
				ExpectError: regexp.MustCompile(`(?s)cannot move to cluster.*never freed.*new name`),
			},
			{
				PreConfig: func() {
					if err := onlyReads(env); err != nil {
						t.Error(err)
					}
					got, err := env.Client.GetTenant(ctx, "team-a")
					if err != nil || got.Status != adminapi.StatusActive || got.Cluster != "tempo" {
						t.Errorf("after the refused plan the tenant is %+v, %v; want it active in tempo", got, err)
					}
				},
				Config:   tenant("tempo"),
				PlanOnly: true,
			},
		},
	})
}

// onlyReads fails when the emulator saw any request but a GET since its
// last reset.
func onlyReads(env *acctest.Env) error {
	for k, n := range env.Emulator.Counts() {
		if !strings.HasPrefix(k, "GET ") {
			return fmt.Errorf("the refused plan sent %s (%d times)", k, n)
		}
	}
	return nil
}

// A cluster known only after apply (from another resource) stays unknown at
// plan instead of being overwritten by the provider's default, for tenants
// and for realms alike.
func TestAccClusterKnownOnlyAtApply(t *testing.T) {
	env := acctest.StartWith(t, acctest.Options{Clusters: []string{"other", "tempo"}})
	cfg := env.ProviderConfig() + `
resource "terraform_data" "c" {
  input = "other"
}
resource "tempo_tenant" "a" {
  name    = "team-a"
  cluster = terraform_data.c.output
}
resource "tempo_access_policy" "p" {
  name   = "team-a-read"
  scopes = ["traces:read"]
  realm {
    tenant  = "team-a"
    cluster = terraform_data.c.output
  }
  realm {
    tenant = "team-b"
  }
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("tempo_tenant.a", tfjsonpath.New("cluster")),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("cluster"), knownvalue.StringExact("other")),
				statecheck.ExpectKnownValue("tempo_access_policy.p", tfjsonpath.New("realm"), knownvalue.SetExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"tenant": knownvalue.StringExact("team-a"), "cluster": knownvalue.StringExact("other")}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"tenant": knownvalue.StringExact("team-b"), "cluster": knownvalue.StringExact("tempo")}),
				})),
			},
		}},
	})
}

// A status other than active or inactive (the contract allows "unknown")
// keeps what the state knew, with a warning: no spurious diff, and nothing
// no configuration may hold ends up in the state (or in configuration
// generated from it).
func TestAccTenantUnknownStatusKept(t *testing.T) {
	var unknown atomic.Bool
	env := acctest.StartWith(t, acctest.Options{Wrap: rewriteStatus(&unknown, adminapi.BasePath+"/tenants/")})
	cfg := env.ProviderConfig() + `
resource "tempo_tenant" "a" {
  name = "team-a"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() { unknown.Store(true) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_tenant.a", plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("status"), knownvalue.StringExact("active")),
				},
			},
		},
	})
}
