package provider_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// Objects made outside Terraform are imported by identity, with import
// blocks that name them, and plan no changes afterwards; the identity is
// in the state. CLIs before Terraform 1.12 / OpenTofu 1.12 have no
// resource identity: the test is skipped there, and import by ID is
// tested under every CLI elsewhere.
func TestAccImportByIdentity(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	if _, err := env.Client.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", DisplayName: "Team A", Cluster: acctest.Cluster}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "team-a-write", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: acctest.Cluster}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CreateToken(ctx, adminapi.Token{Name: "collector", AccessPolicy: "team-a-write"}); err != nil {
		t.Fatal(err)
	}
	cfg := env.ProviderConfig() + `
import {
  to       = tempo_tenant.a
  identity = { name = "team-a" }
}
import {
  to       = tempo_access_policy.w
  identity = { name = "team-a-write" }
}
import {
  to       = tempo_token.c
  identity = { name = "collector" }
}
resource "tempo_tenant" "a" {
  name         = "team-a"
  display_name = "Team A"
}
resource "tempo_access_policy" "w" {
  name   = "team-a-write"
  scopes = ["traces:write"]
  realm {
    tenant = tempo_tenant.a.name
  }
}
resource "tempo_token" "c" {
  name          = "collector"
  access_policy = tempo_access_policy.w.name
}
`
	identity := func(res, name string) statecheck.StateCheck {
		return statecheck.ExpectIdentity(res, map[string]knownvalue.Check{"name": knownvalue.StringExact(name)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_tenant.a", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("tempo_access_policy.w", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("tempo_token.c", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					identity("tempo_tenant.a", "team-a"),
					identity("tempo_access_policy.w", "team-a-write"),
					identity("tempo_token.c", "collector"),
					statecheck.ExpectKnownValue("tempo_token.c", tfjsonpath.New("token"), knownvalue.Null()),
				},
			},
			{
				// Resources created here carry their identity too.
				Config: cfg + `
resource "tempo_token" "n" {
  name_prefix   = "new"
  access_policy = tempo_access_policy.w.name
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentityValueMatchesState("tempo_token.n", tfjsonpath.New("name")),
				},
			},
		},
	})
}

// An identity naming nothing on the server, or a name the kind forbids, is
// an error at plan.
func TestAccImportByIdentityErrors(t *testing.T) {
	env := acctest.Start(t)
	for _, tc := range []struct{ name, resource, want string }{
		{"nobody", "nobody", `(?s)Cannot import non-existent remote object`},
		{"..", "valid-name", `(?s)Invalid identity's name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
				Steps: []resource.TestStep{{
					Config: env.ProviderConfig() + `
import {
  to       = tempo_access_policy.w
  identity = { name = "` + tc.name + `" }
}
resource "tempo_access_policy" "w" {
  name   = "` + tc.resource + `"
  scopes = ["traces:write"]
  realm {
    tenant = "*"
  }
}`,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
