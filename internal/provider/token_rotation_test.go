package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// Settings that could never rotate, or could leave a token working for
// ever, fail at plan with the attribute named.
func TestAccTokenRotationSettingsRefused(t *testing.T) {
	env := acctest.Start(t)
	cases := []struct{ name, body, want string }{
		{"fixed name", `name = "collector"` + "\n" + `expire_after = "720h"`, `(?s)fixed name cannot rotate.*name_prefix`},
		{"with expiration", `name_prefix = "c"` + "\n" + `expire_after = "720h"` + "\n" + `expiration = "2099-01-01T00:00:00Z"`, `(?s)Conflicting expirations`},
		{"window alone", `name_prefix = "c"` + "\n" + `early_rotation_window = "24h"`, `(?s)early_rotation_window needs expire_after`},
		{"window too long", `name_prefix = "c"` + "\n" + `expire_after = "24h"` + "\n" + `early_rotation_window = "24h"`, `(?s)not shorter than expire_after`},
		{"bad duration", `name_prefix = "c"` + "\n" + `expire_after = "a month"`, `(?s)Invalid expire_after`},
		{"left forever", `name_prefix = "c"` + "\n" + `revoke_on_destroy = false`, `(?s)would never stop working.*expiration or expire_after`},
		{"jitter alone", `name_prefix = "c"` + "\n" + `expire_after_jitter = "24h"`, `(?s)expire_after_jitter needs expire_after`},
		{"jitter into the window", `name_prefix = "c"` + "\n" + `expire_after = "720h"` + "\n" + `early_rotation_window = "168h"` + "\n" + `expire_after_jitter = "552h"`, `(?s)expire_after_jitter is too long.*shorter than\s+expire_after\s+less\s+early_rotation_window`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: env.Factories(),
				Steps: []resource.TestStep{{
					Config:      env.ProviderConfig() + "resource \"tempo_token\" \"w\" {\naccess_policy = \"p\"\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
	if n := len(env.Emulator.Counts()); n != 0 {
		t.Errorf("refused settings sent requests: %v", env.Emulator.Counts())
	}
}

// A rotating token is replaced by the first plan inside its window, not
// before, and the plan after the rotation is empty. With
// create_before_destroy and revoke_on_destroy = false, the old token keeps
// working until it expires.
func TestAccTokenRotation(t *testing.T) {
	env := acctest.Start(t)
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix           = "collector"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  revoke_on_destroy     = false
  lifecycle {
    create_before_destroy = true
  }
}`
	var first, firstSecret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(s *terraform.State) error {
					first, firstSecret = attr(s, "tempo_token.w", "name"), attr(s, "tempo_token.w", "token")
					exp, err := time.Parse(time.RFC3339, attr(s, "tempo_token.w", "expires_at"))
					if err != nil {
						return err
					}
					if d := exp.Sub(env.Now()); d < 719*time.Hour || d > 720*time.Hour {
						return fmt.Errorf("expires_at is %s from now, want 720h", d)
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("expiration"), knownvalue.Null()),
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(false)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// 220h before expiry: outside the 168h window.
				PreConfig: func() { env.Advance(500 * time.Hour) },
				Config:    cfg,
				PlanOnly:  true,
			},
			{
				// 160h before expiry: inside it. The plan says why it replaces.
				PreConfig: func() { env.Advance(60 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy),
						plancheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("ready_for_rotation"), knownvalue.Bool(false)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") == first {
						return fmt.Errorf("the token was not rotated")
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", firstSecret); code != http.StatusOK {
						return fmt.Errorf("the replaced token, left to expire, stopped working at once: HTTP %d", code)
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", attr(s, "tempo_token.w", "token")); code != http.StatusOK {
						return fmt.Errorf("the new token does not work: HTTP %d", code)
					}
					return nil
				},
			},
			{
				// Past the old token's expiration it stops working by itself.
				PreConfig: func() {
					env.Advance(161 * time.Hour)
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", firstSecret); code != http.StatusUnauthorized {
						t.Errorf("the replaced token after its expiration: HTTP %d, want 401", code)
					}
				},
				Config:   cfg,
				PlanOnly: true,
			},
		},
	})
}

// Validation sees unknown values (each.value or count.index during the
// CLI's validation walk): they are judged once known, not taken as set.
func TestAccTokenRotationSettingsNotYetKnown(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + tokenBase + `
variable "tokens" {
  type = list(object({
    name         = optional(string)
    name_prefix  = optional(string)
    expiration   = optional(string)
    expire_after = optional(string)
  }))
  default = [
    { name = "fixed-one", expiration = "2099-01-01T00:00:00Z" },
    { name_prefix = "rotates", expire_after = "720h" },
  ]
}
resource "tempo_token" "t" {
  count         = length(var.tokens)
  name          = var.tokens[count.index].name
  name_prefix   = var.tokens[count.index].name_prefix
  expiration    = var.tokens[count.index].expiration
  expire_after  = var.tokens[count.index].expire_after
  access_policy = tempo_access_policy.write_a.name
}`,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

// keepers rotate a token on demand: set on a token without them they are
// recorded in place; a change replaces the token under a new name and
// revokes the old one; the same keepers plan nothing.
func TestAccTokenKeepers(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(keepers string) string {
		return env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "collector"
  access_policy = tempo_access_policy.write_a.name
  ` + keepers + `
  lifecycle {
    create_before_destroy = true
  }
}`
	}
	var first, firstSecret, second string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg(""),
				Check: func(s *terraform.State) error {
					first, firstSecret = attr(s, "tempo_token.w", "name"), attr(s, "tempo_token.w", "token")
					return nil
				},
			},
			{
				Config: cfg(`keepers = { rotation = "1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate),
				}},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") != first {
						return fmt.Errorf("setting keepers on a token without them replaced it")
					}
					return nil
				},
			},
			{
				Config: cfg(`keepers = { rotation = "2" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy),
						plancheck.ExpectUnknownValue("tempo_token.w", tfjsonpath.New("name")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					second = attr(s, "tempo_token.w", "name")
					if second == first {
						return fmt.Errorf("a change of keepers did not replace the token")
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", firstSecret); code != http.StatusUnauthorized {
						return fmt.Errorf("the replaced token: HTTP %d, want 401 (revoked)", code)
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", attr(s, "tempo_token.w", "token")); code != http.StatusOK {
						return fmt.Errorf("the new token does not work: HTTP %d", code)
					}
					return nil
				},
			},
			{
				// Removing them is a change too.
				Config: cfg(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy),
				}},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") == second {
						return fmt.Errorf("removing keepers did not replace the token")
					}
					return nil
				},
			},
		},
	})
}

// Tokens created together with a jitter do not expire together: each
// lifetime is shortened by a random part of it, never into the window.
func TestAccTokenExpireAfterJitter(t *testing.T) {
	env := acctest.Start(t)
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  count                 = 6
  name_prefix           = "collector-${count.index}"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  expire_after_jitter   = "48h"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(s *terraform.State) error {
				seen := map[string]bool{}
				for i := range 6 {
					at := attr(s, fmt.Sprintf("tempo_token.w.%d", i), "expires_at")
					exp, err := time.Parse(time.RFC3339, at)
					if err != nil {
						return err
					}
					if d := exp.Sub(env.Now()); d < 672*time.Hour-time.Minute || d > 720*time.Hour {
						return fmt.Errorf("token %d expires %s from now, want between 672h and 720h", i, d)
					}
					seen[at] = true
				}
				if len(seen) < 2 {
					return fmt.Errorf("six tokens created together all expire at %v", seen)
				}
				return nil
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

// lazyList is a list variable read when a step writes its variables, so a
// later step can name what an earlier one created.
type lazyList struct{ values *[]string }

func (l lazyList) MarshalJSON() ([]byte, error) { return json.Marshal(*l.values) }

// rotation_hold keeps a due rotation for a later plan, and never keeps a
// token that has expired.
func TestAccTokenRotationHold(t *testing.T) {
	env := acctest.Start(t)
	cfg := `
variable "hold" {
  type = list(string)
}
provider "tempo" {
  url           = ` + fmt.Sprintf("%q", env.URL) + `
  token         = ` + fmt.Sprintf("%q", acctest.AdminToken) + `
  cluster       = ` + fmt.Sprintf("%q", acctest.Cluster) + `
  rotation_hold = var.hold
}
` + tokenBase + `
resource "tempo_token" "a" {
  name_prefix           = "collector-a"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  lifecycle {
    create_before_destroy = true
  }
}
resource "tempo_token" "b" {
  name_prefix           = "collector-b"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  lifecycle {
    create_before_destroy = true
  }
}`
	var hold, names []string
	vars := config.Variables{"hold": lazyList{&hold}}
	keep := func(s *terraform.State) error {
		names = []string{attr(s, "tempo_token.a", "name"), attr(s, "tempo_token.b", "name")}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigVariables: vars, Check: keep},
			{
				// Both inside their window; a's rotation is held.
				PreConfig:       func() { env.Advance(560 * time.Hour); hold = []string{names[0]} },
				Config:          cfg,
				ConfigVariables: vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.a", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("tempo_token.b", plancheck.ResourceActionCreateBeforeDestroy),
					},
				},
				Check: func(s *terraform.State) error {
					if got := attr(s, "tempo_token.a", "name"); got != names[0] {
						return fmt.Errorf("the held token was rotated: %s, was %s", got, names[0])
					}
					if got := attr(s, "tempo_token.b", "name"); got == names[1] {
						return fmt.Errorf("the token not held was not rotated")
					}
					return nil
				},
			},
			{
				// Held still, a is rotated once the hold is lifted.
				PreConfig:       func() { hold = nil },
				Config:          cfg,
				ConfigVariables: vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.a", plancheck.ResourceActionCreateBeforeDestroy),
						plancheck.ExpectResourceAction("tempo_token.b", plancheck.ResourceActionNoop),
					},
				},
				Check: keep,
			},
			{
				// A held token found expired is replaced all the same.
				PreConfig:       func() { env.Advance(721 * time.Hour); hold = names },
				Config:          cfg,
				ConfigVariables: vars,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.a", plancheck.ResourceActionCreateBeforeDestroy),
						plancheck.ExpectResourceAction("tempo_token.b", plancheck.ResourceActionCreateBeforeDestroy),
					},
				},
			},
		},
	})
}
