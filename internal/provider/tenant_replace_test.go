package provider_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// A tenant cannot be replaced under its name (destroying only deactivates
// it, and the name is never freed). A replacement forced by
// replace_triggered_by, with create_before_destroy, fails at plan, saying
// so, rather than half-way through the apply on "already exists".
func TestAccTenantReplacementRefusedAtPlan(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(trigger string) string {
		return env.ProviderConfig() + `
resource "terraform_data" "trigger" {
  input = "` + trigger + `"
}
resource "tempo_tenant" "a" {
  name = "team-a"
  lifecycle {
    create_before_destroy = true
    replace_triggered_by  = [terraform_data.trigger]
  }
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg("one")},
			{
				Config:      cfg("two"),
				ExpectError: regexp.MustCompile(`(?s)Tenant "team-a" cannot be replaced.*name`),
			},
		},
	})
}
