package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

// Importing a live token into a rotating configuration brings it under
// management without replacing it: its generated name matches the
// configured prefix, its lifetime is the server's expiration, and whoever
// holds its secret keeps a working token. Only a later plan inside the
// rotation window replaces it.
func TestAccTokenImportIntoRotatingConfiguration(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	for _, tn := range []string{"team-a", "team-b"} {
		if _, err := env.Client.CreateTenant(ctx, adminapi.Tenant{Name: tn, Cluster: acctest.Cluster}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "team-a-write", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: acctest.Cluster}}}); err != nil {
		t.Fatal(err)
	}
	const name = "collector-4k2m9x7q1z0p"
	live, err := env.Client.CreateToken(ctx, adminapi.Token{Name: name, AccessPolicy: "team-a-write",
		Expiration: env.Now().Add(300 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	secret := live.Secret.Reveal()
	imports := `
import {
  to = tempo_tenant.a
  id = "team-a"
}
import {
  to = tempo_tenant.b
  id = "team-b"
}
import {
  to = tempo_access_policy.write_a
  id = "team-a-write"
}
import {
  to = tempo_token.w
  id = "` + name + `"
}
`
	token := `
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
	cfg := env.ProviderConfig() + tokenBase + token
	works := func(s *terraform.State) error {
		if got := attr(s, "tempo_token.w", "name"); got != name {
			return fmt.Errorf("the token under management is %q, want the imported %q", got, name)
		}
		if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", secret); code != http.StatusOK {
			return fmt.Errorf("the imported token stopped working: HTTP %d", code)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg + imports,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("expires_at"), knownvalue.StringExact(utcInstant(t, live.Expiration))),
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("revoke_on_destroy"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("name_prefix"), knownvalue.StringExact("collector")),
				},
				Check: works,
			},
			{
				// Outside the window (300h - 168h): nothing to do.
				PreConfig: func() { env.Advance(100 * time.Hour) },
				Config:    cfg,
				PlanOnly:  true,
			},
			{
				// Inside it: the plan rotates, and the imported token, left to
				// expire, keeps working.
				PreConfig: func() { env.Advance(40 * time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy)},
				},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") == name {
						return fmt.Errorf("the token was not rotated inside its window")
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", secret); code != http.StatusOK {
						return fmt.Errorf("the imported token, left to expire, was revoked by the rotation: HTTP %d", code)
					}
					return nil
				},
			},
		},
	})
}

// revoke_on_destroy = false set in the plan that would rotate a token
// applies to that token: the rotation waits one plan, so the token it
// replaces keeps working. A change that replaces the token at once is
// refused at plan rather than revoke a token the configuration says to
// leave.
func TestAccTokenRevokeOnDestroyChangedWithAReplacement(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(display string, revoke bool) string {
		return env.ProviderConfig() + tokenBase + fmt.Sprintf(`
resource "tempo_token" "w" {
  name_prefix           = "collector"
  display_name          = %q
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  revoke_on_destroy     = %v
  lifecycle {
    create_before_destroy = true
  }
}`, display, revoke)
	}
	var first, firstSecret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("one", true),
				Check: func(s *terraform.State) error {
					first, firstSecret = attr(s, "tempo_token.w", "name"), attr(s, "tempo_token.w", "token")
					return nil
				},
			},
			{
				// A replacing change and the new setting at once: refused.
				Config:      cfg("two", false),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`revoke_on_destroy changes in the plan that replaces it`),
			},
			{
				// Inside the window, with the new setting: recorded first.
				PreConfig:          func() { env.Advance(560 * time.Hour) },
				Config:             cfg("one", false),
				ExpectNonEmptyPlan: true, // the rotation, next
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate)},
				},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") != first {
						return fmt.Errorf("the token was replaced in the plan that changed revoke_on_destroy")
					}
					return nil
				},
			},
			{
				// The next plan rotates, and leaves the old token working.
				Config: cfg("one", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") == first {
						return fmt.Errorf("the token was not rotated")
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", firstSecret); code != http.StatusOK {
						return fmt.Errorf("the rotated token was revoked although revoke_on_destroy = false: HTTP %d", code)
					}
					return nil
				},
			},
		},
	})
}

// A server may spell instants with an offset ("+00:00") where the contract
// shows "Z". The provider stores every instant one way, so a plan that
// predicted expires_at is kept by the apply, and equal instants are never a
// diff.
func TestAccInstantsStoredInOneSpelling(t *testing.T) {
	env := acctest.StartWith(t, acctest.Options{Compat: "offset-times"})
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "fixed" {
  name_prefix   = "fixed"
  access_policy = tempo_access_policy.write_a.name
  expiration    = "2099-01-01T02:00:00+02:00"
}
resource "tempo_token" "lifetime" {
  name_prefix   = "lifetime"
  access_policy = tempo_access_policy.write_a.name
  expire_after  = "24h"
}`
	utc := knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("tempo_token.fixed", tfjsonpath.New("expires_at"), knownvalue.StringExact("2099-01-01T00:00:00Z")),
				statecheck.ExpectKnownValue("tempo_token.fixed", tfjsonpath.New("expiration"), knownvalue.StringExact("2099-01-01T02:00:00+02:00")),
				statecheck.ExpectKnownValue("tempo_token.lifetime", tfjsonpath.New("expires_at"), utc),
				statecheck.ExpectKnownValue("tempo_token.lifetime", tfjsonpath.New("created_at"), utc),
				statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("created_at"), utc),
				statecheck.ExpectKnownValue("tempo_access_policy.write_a", tfjsonpath.New("created_at"), utc),
			},
		}},
	})
}

// A saved plan applies what it showed, even when a token's rotation window
// opens between the plan and its apply (the pull-request flow: plan now,
// apply later); the next plan rotates.
func TestAccTokenSavedPlanAcrossTheRotationWindow(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(window string) string {
		return env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix           = "collector"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = "` + window + `"
  lifecycle {
    create_before_destroy = true
  }
}`
	}
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("168h"),
				Check: func(s *terraform.State) error {
					first = attr(s, "tempo_token.w", "name")
					return nil
				},
			},
			{
				// Planned outside the window (an in-place change of the
				// window itself), applied inside it.
				Config: cfg("169h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate),
						acctest.PlanCheckFunc(func() error { env.Advance(600 * time.Hour); return nil }),
					},
				},
				ExpectNonEmptyPlan: true, // the rotation, next
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") != first {
						return fmt.Errorf("the saved plan, which showed no change, replaced the token")
					}
					return nil
				},
			},
			{
				// The plan names what forces the replacement.
				Config: cfg("169h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy),
						replacedBecause{"tempo_token.w", "ready_for_rotation"},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// An expired token with a fixed name cannot be replaced under that name.
// It stays in the state, reported on every plan with what to do, so that
// unrelated changes still plan and apply; only a plan that would make the
// token again fails.
func TestAccTokenExpiredFixedNameBlocksNothingElse(t *testing.T) {
	env := acctest.Start(t)
	exp := env.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	token := func(name string) string {
		return fmt.Sprintf(`
resource "tempo_token" "w" {
  name          = %q
  access_policy = tempo_access_policy.write_a.name
  expiration    = %q
}`, name, exp)
	}
	extra := `
resource "tempo_tenant" "c" {
  name = "team-c"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{Config: env.ProviderConfig() + tokenBase + token("collector")},
			{
				// Expired: an unrelated change goes through.
				PreConfig: func() { env.Advance(72 * time.Hour) },
				Config:    env.ProviderConfig() + tokenBase + token("collector") + extra,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_tenant.c", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionNoop),
					},
				},
			},
			{
				// A new name replaces it; the new token needs a new expiration,
				// and says so.
				Config:      env.ProviderConfig() + tokenBase + token("collector-2") + extra,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`expiration is in the past`),
			},
		},
	})
}

// Pinning a generated name (name_prefix replaced by name = the name it
// generated) changes the configuration only: the token is kept.
func TestAccTokenPinGeneratedName(t *testing.T) {
	env := acctest.Start(t)
	pinned := func(name string) string {
		return env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name          = "` + name + `"
  access_policy = tempo_access_policy.write_a.name
}`
	}
	steps := []resource.TestStep{
		{Config: env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "collector"
  access_policy = tempo_access_policy.write_a.name
}`},
		{
			Config: pinned("set-by-the-first-step"),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		},
	}
	// The second step's configuration names what the first generated.
	steps[0].Check = func(s *terraform.State) error {
		steps[1].Config = pinned(attr(s, "tempo_token.w", "name"))
		return nil
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.Factories(), Steps: steps})
}

// replacedBecause checks that a plan replaces a resource because of an
// attribute whose value changes, which the CLI marks "forces replacement".
type replacedBecause struct{ address, attribute string }

func (c replacedBecause) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.address {
			continue
		}
		for _, p := range rc.Change.ReplacePaths {
			if steps, ok := p.([]any); ok && len(steps) == 1 && steps[0] == c.attribute {
				before, _ := rc.Change.Before.(map[string]any)
				after, _ := rc.Change.After.(map[string]any)
				if before[c.attribute] == after[c.attribute] {
					resp.Error = fmt.Errorf("%s is replaced because of %s, which the plan shows unchanged (%v)", c.address, c.attribute, before[c.attribute])
				}
				return
			}
		}
		resp.Error = fmt.Errorf("%s: replace paths %v do not name %s", c.address, rc.Change.ReplacePaths, c.attribute)
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.address)
}

// A window that is not known at plan (it comes from another resource)
// cannot flip the decision at apply: the decision is made from the window
// the state holds, and a new window takes effect once applied.
func TestAccTokenRotationWindowUnknownAtPlan(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(window string) string {
		return env.ProviderConfig() + tokenBase + `
resource "terraform_data" "window" {
  input = "` + window + `"
}
resource "tempo_token" "w" {
  name_prefix           = "collector"
  access_policy         = tempo_access_policy.write_a.name
  expire_after          = "720h"
  early_rotation_window = terraform_data.window.output
  lifecycle {
    create_before_destroy = true
  }
}`
	}
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("100h"),
				Check:  func(s *terraform.State) error { first = attr(s, "tempo_token.w", "name"); return nil },
			},
			{
				// 150h before expiry: outside the state's 100h window, inside
				// the 200h one, unknown until terraform_data is replaced.
				PreConfig:          func() { env.Advance(570 * time.Hour) },
				Config:             cfg("200h"),
				ExpectNonEmptyPlan: true, // the rotation, under the new window, next
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") != first {
						return fmt.Errorf("the token was rotated by a window unknown when the plan was made")
					}
					return nil
				},
			},
			{
				Config: cfg("200h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionCreateBeforeDestroy)},
				},
			},
		},
	})
}

// A token the provider's clock finds expired while the server, whose clock
// is behind, still honours it is not dropped from the state (where it would
// go on working, managed by nobody): the plan replaces it, and the
// replacement revokes it.
func TestAccTokenExpiredByTheProviderClockIsReplacedNotDropped(t *testing.T) {
	env := acctest.Start(t)
	var ahead atomic.Int64
	clock := func() time.Time { return env.Now().Add(time.Duration(ahead.Load())) }
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"tempo": func() (tfprotov6.ProviderServer, error) {
			return provider.Protocol6(provider.NewWithClock("test", clock))(), nil
		},
	}
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "collector"
  access_policy = tempo_access_policy.write_a.name
  expire_after  = "24h"
}`
	var first, firstSecret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(s *terraform.State) error {
					first, firstSecret = attr(s, "tempo_token.w", "name"), attr(s, "tempo_token.w", "token")
					return nil
				},
			},
			{
				PreConfig: func() { ahead.Store(int64(25 * time.Hour)) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionDestroyBeforeCreate)},
				},
				Check: func(s *terraform.State) error {
					if attr(s, "tempo_token.w", "name") == first {
						return fmt.Errorf("the token was not replaced")
					}
					if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", firstSecret); code != http.StatusUnauthorized {
						return fmt.Errorf("the token the provider found expired still works, unmanaged: HTTP %d", code)
					}
					return nil
				},
			},
		},
	})
}

// utcInstant is an instant the server wrote, as the provider stores it.
func utcInstant(t *testing.T, s string) string {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC().Format(time.RFC3339)
}
