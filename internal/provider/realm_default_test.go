package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// The provider's cluster fills only a realm that has none, in the
// configuration or in the state: a realm created under one default keeps
// its cluster when the provider's changes, so that tokens never silently
// lose their tenant. A new realm gets the new default.
func TestAccRealmDefaultFillsOnlyNewRealms(t *testing.T) {
	env := acctest.Start(t, "tc", "tc2")
	provider := func(cluster string) string {
		return fmt.Sprintf("provider \"tempo\" {\n  url     = %q\n  token   = %q\n  cluster = %q\n}\n", env.URL, acctest.AdminToken, cluster)
	}
	policy := func(tenants ...string) string {
		s := "resource \"tempo_access_policy\" \"p\" {\n  name   = \"p\"\n  scopes = [\"traces:read\"]\n"
		for _, tn := range tenants {
			s += fmt.Sprintf("  realm {\n    tenant = %q\n  }\n", tn)
		}
		return s + "}\n"
	}
	realms := func(want map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			p, err := env.Client.GetAccessPolicy(context.Background(), "p")
			if err != nil {
				return err
			}
			got := map[string]string{}
			for _, r := range p.Realms {
				got[r.Tenant] = r.Cluster
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("realms on the server = %v, want %v", got, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{Config: provider("tc") + policy("aaa"), Check: realms(map[string]string{"aaa": "tc"})},
			{
				// Another default, nothing else: no change.
				Config:   provider("tc2") + policy("aaa"),
				PlanOnly: true,
			},
			{
				Config: provider("tc2") + policy("aaa", "bbb"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_access_policy.p", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: realms(map[string]string{"aaa": "tc", "bbb": "tc2"}),
			},
			{
				// A realm written out as the default already gives is the
				// same realm twice: said so, naming it.
				Config: provider("tc2") + `
resource "tempo_access_policy" "p" {
  name   = "p"
  scopes = ["traces:read"]
  realm {
    tenant = "ccc"
  }
  realm {
    tenant  = "ccc"
    cluster = "tc2"
  }
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)realm.*"ccc".*"tc2".*more than once`),
			},
		},
	})
}
