package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

const tokenBase = `
resource "tempo_tenant" "a" {
  name = "team-a"
}
resource "tempo_tenant" "b" {
  name = "team-b"
}
resource "tempo_access_policy" "write_a" {
  name   = "team-a-write"
  scopes = ["traces:write"]
  realm {
    tenant = tempo_tenant.a.name
  }
}
`

// attr reads an attribute of a resource from the state after apply.
func attr(s *terraform.State, res, name string) string {
	r, ok := s.RootModule().Resources[res]
	if !ok {
		return ""
	}
	return r.Primary.Attributes[name]
}

// dataPath sends one request to the emulator's data path with a token.
func dataPath(t *testing.T, env *acctest.Env, method, path, tenant, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(method, env.URL+path, strings.NewReader("{}"))
	req.SetBasicAuth(tenant, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAccToken(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "team-a-otel"
  access_policy = tempo_access_policy.write_a.name
  display_name  = "OTel collector"
}
`
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreate),
						plancheck.ExpectSensitiveValue("tempo_token.w", tfjsonpath.New("token")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("name"), knownvalue.StringRegexp(regexp.MustCompile(`^team-a-otel-[a-z0-9]{12}$`))),
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("token"), knownvalue.NotNull()),
				},
				Check: func(s *terraform.State) error {
					first = attr(s, "tempo_token.w", "name")
					secret := attr(s, "tempo_token.w", "token")
					// The token authorizes exactly what its policy says.
					for _, c := range []struct {
						method, path, tenant string
						want                 int
					}{
						{"POST", "/otlp/v1/traces", "team-a", 200},
						{"POST", "/otlp/v1/traces", "team-b", 403},
						{"GET", "/api/search", "team-a", 403}, // no traces:read
						{"POST", "/otlp/v1/traces", "team-a", 200},
					} {
						if got := dataPath(t, env, c.method, c.path, c.tenant, secret); got != c.want {
							return fmt.Errorf("%s %s as %s: %d, want %d", c.method, c.path, c.tenant, got, c.want)
						}
					}
					if got := dataPath(t, env, "POST", "/otlp/v1/traces", "team-a", secret+"x"); got != 401 {
						return fmt.Errorf("a wrong secret got %d, want 401", got)
					}
					return nil
				},
			},
			{
				ResourceName:                         "tempo_token.w",
				ImportState:                          true,
				ImportStateIdFunc:                    func(*terraform.State) (string, error) { return first, nil },
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
				ImportStateVerifyIgnore:              []string{"token", "name_prefix"},
			},
			{
				// Revoked out of band: the next plan creates a replacement.
				PreConfig: func() {
					if err := env.Client.DeleteToken(ctx, first, 0); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					if n := attr(s, "tempo_token.w", "name"); n == first || n == "" {
						return fmt.Errorf("replacement name %q, want a new one", n)
					}
					return nil
				},
			},
			{
				// Any change replaces; with name_prefix the new token gets a new name.
				Config: strings.Replace(cfg, `"OTel collector"`, `"OTel collector (eu)"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectUnknownValue("tempo_token.w", tfjsonpath.New("name")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccTokenExpiredOutOfBand(t *testing.T) {
	env := acctest.Start(t)
	// Expiry is judged by the clocks of both the server and the provider,
	// so the token really has to expire: a few seconds after the first step.
	expAt := time.Now().Add(12 * time.Second).Truncate(time.Second)
	exp := expAt.UTC().Format(time.RFC3339)
	cfg := env.ProviderConfig() + tokenBase + fmt.Sprintf(`
resource "tempo_token" "w" {
  name_prefix   = "short-lived"
  access_policy = tempo_access_policy.write_a.name
  expiration    = %q
}
`, exp)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// Expired: kept in the state with a warning, and replaced; the
				// configured expiration, now past, is refused at plan rather
				// than half-way through apply.
				PreConfig:   func() { time.Sleep(time.Until(expAt.Add(time.Second))) },
				Config:      cfg,
				ExpectError: regexp.MustCompile(`Token expiration is in the past`),
			},
			{
				Config: strings.Replace(cfg, exp, "2099-01-01T00:00:00+01:00", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					// The server answers in UTC; the configured spelling stays.
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("expiration"), knownvalue.StringExact("2099-01-01T00:00:00+01:00")),
				},
			},
		},
	})
}

func TestAccTokenFixedNames(t *testing.T) {
	env := acctest.Start(t)
	named := func(name, display string) string {
		return env.ProviderConfig() + tokenBase + fmt.Sprintf(`
resource "tempo_token" "w" {
  name          = %q
  display_name  = %q
  access_policy = tempo_access_policy.write_a.name
}
`, name, display)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config:           named("collector", "v1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("name"), knownvalue.StringExact("collector")),
				},
			},
			{
				// A replacement would need the same name again: refused at plan.
				Config:      named("collector", "v2"),
				ExpectError: regexp.MustCompile(`(?s)would be replaced under the same name.*name_prefix`),
			},
			{
				// A new name works: the old token is revoked, the new one created.
				Config: named("collector-2", "v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionDestroyBeforeCreate)},
				},
			},
			{
				// Going back to the first name: it is taken for good, and the plan says so.
				Config:      named("collector", "v3"),
				ExpectError: regexp.MustCompile(`(?s)Token name "collector" is already taken`),
			},
		},
	})
}
