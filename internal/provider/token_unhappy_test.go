package provider_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// The server keeps whole seconds: a fraction is refused at plan instead of
// failing the apply and replacing the token on every run after it.
func TestAccTokenExpirationFractionRefused(t *testing.T) {
	env := acctest.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "w"
  access_policy = tempo_access_policy.write_a.name
  expiration    = "2030-01-01T00:00:00.5Z"
}`,
			ExpectError: regexp.MustCompile(`(?s)fraction of a second.*2030-01-01T00:00:00Z`),
		}},
	})
	if n := len(env.Emulator.Counts()); n != 0 {
		t.Errorf("the refused plan sent requests: %v", env.Emulator.Counts())
	}
}

// The same instant written with another offset is never a replacement: not
// after a change of spelling, not after an import.
func TestAccTokenExpirationSpelling(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	token := func(res, name, exp string) string {
		return fmt.Sprintf(`
resource "tempo_token" %q {
  name          = %q
  access_policy = tempo_access_policy.write_a.name
  expiration    = %q
}`, res, name, exp)
	}
	base := env.ProviderConfig() + tokenBase
	imported := `
import {
  to = tempo_token.i
  id = "made-by-hand"
}` + token("i", "made-by-hand", "2030-01-01T01:00:00+01:00")
	var secret string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: base + token("w", "fixed", "2030-01-01T00:00:00Z"),
				Check:  func(s *terraform.State) error { secret = attr(s, "tempo_token.w", "token"); return nil },
			},
			{
				Config: base + token("w", "fixed", "2030-01-01T01:00:00+01:00"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					if got := attr(s, "tempo_token.w", "token"); got != secret || secret == "" {
						return fmt.Errorf("the token was replaced by a change of spelling")
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					if _, err := env.Client.CreateToken(ctx, adminapi.Token{Name: "made-by-hand", AccessPolicy: "team-a-write", Expiration: "2030-01-01T00:00:00Z"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: base + token("w", "fixed", "2030-01-01T01:00:00+01:00") + imported,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tempo_token.i", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					for _, name := range []string{"fixed", "made-by-hand"} {
						got, err := env.Client.GetToken(ctx, name)
						if err != nil || got.Status != adminapi.StatusActive {
							return fmt.Errorf("token %s: %+v, %w; want it still active", name, got, err)
						}
					}
					return nil
				},
			},
		},
	})
}

// tokensNamed lists the server's tokens, active or not, whose name starts
// with prefix.
func tokensNamed(t *testing.T, env *acctest.Env, prefix string) map[string]string {
	t.Helper()
	all, err := env.Client.ListTokens(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tok := range all {
		if strings.HasPrefix(tok.Name, prefix) {
			out[tok.Name] = tok.Status
		}
	}
	return out
}

// A token created by the server whose answer never arrived is a live
// credential nobody holds: the provider revokes it, and with name_prefix
// creates another in the same apply. With retries on the retry meets the
// taken name; with retries off the first attempt is all there is.
func TestAccTokenLostCreateResponse(t *testing.T) {
	for _, retries := range []int{3, 0} {
		t.Run(fmt.Sprintf("max_retries=%d", retries), func(t *testing.T) {
			env := acctest.Start(t)
			provider := strings.Replace(env.ProviderConfig(), "provider \"tempo\" {", fmt.Sprintf("provider \"tempo\" {\n  max_retries = %d", retries), 1)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config: provider + tokenBase,
				}, {
					PreConfig: func() {
						env.Emulator.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tokens", CommitThenDrop: true})
					},
					Config: provider + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "collector"
  access_policy = tempo_access_policy.write_a.name
}`,
					ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check: func(s *terraform.State) error {
						name := attr(s, "tempo_token.w", "name")
						got := tokensNamed(t, env, "collector")
						active := 0
						for n, st := range got {
							if st == adminapi.StatusActive {
								active++
								if n != name {
									return fmt.Errorf("token %s is active but not in the state (state has %s): an orphan", n, name)
								}
							}
						}
						if len(got) != 2 || active != 1 {
							return fmt.Errorf("tokens on the server: %v; want the lost one revoked and one active", got)
						}
						if code := dataPath(t, env, http.MethodPost, "/otlp/v1/traces", "team-a", attr(s, "tempo_token.w", "token")); code != http.StatusOK {
							return fmt.Errorf("the token in the state does not write: HTTP %d", code)
						}
						return nil
					},
				}, {
					// A fixed name is spent by the lost create: the apply fails,
					// saying so, and leaves nothing live behind.
					PreConfig: func() {
						env.Emulator.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tokens", CommitThenDrop: true})
					},
					Config: provider + tokenBase + `
resource "tempo_token" "f" {
  name          = "fixed-collector"
  access_policy = tempo_access_policy.write_a.name
}`,
					ExpectError: regexp.MustCompile(`(?s)revoked.*name is now spent`),
				}},
			})
			if got := tokensNamed(t, env, "fixed-collector"); got["fixed-collector"] != adminapi.StatusInactive {
				t.Errorf("the lost fixed-name token is %v; want it revoked", got)
			}
		})
	}
}

// Only inactive means revoked. A status the provider does not know keeps
// the token, with a warning, rather than minting another beside it.
func TestAccTokenUnknownStatusKept(t *testing.T) {
	var unknown atomic.Bool
	env := acctest.StartWith(t, acctest.Options{Wrap: rewriteStatus(&unknown, adminapi.BasePath+"/tokens/")})
	cfg := env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name_prefix   = "collector"
  access_policy = tempo_access_policy.write_a.name
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() { unknown.Store(true) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("tempo_token.w", tfjsonpath.New("status"), knownvalue.StringExact("unknown")),
				},
			},
		},
	})
	if got := tokensNamed(t, env, "collector"); len(got) != 1 {
		t.Errorf("tokens on the server: %v; want the one token kept", got)
	}
}

// Replacing a token with a fixed name (replace_triggered_by, -replace) is
// refused at plan, and the message says why: the name is spent.
func TestAccTokenFixedNameReplaceTriggered(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(rev string) string {
		return env.ProviderConfig() + tokenBase + fmt.Sprintf(`
resource "terraform_data" "rev" {
  input = %q
}
resource "tempo_token" "w" {
  name          = "collector"
  access_policy = tempo_access_policy.write_a.name
  lifecycle {
    replace_triggered_by = [terraform_data.rev]
  }
}`, rev)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg("1")},
			{
				Config:      cfg("2"),
				ExpectError: regexp.MustCompile(`(?s)already taken.*replaces the token.*needs a new name.*name_prefix`),
			},
			{
				PreConfig: func() {
					if got := tokensNamed(t, env, "collector"); got["collector"] != adminapi.StatusActive {
						t.Errorf("token collector is %v after the refused plan; want it still active", got)
					}
				},
				Config:   cfg("1"),
				PlanOnly: true,
			},
		},
	})
}

// Writing out the display name a token has by default (its name) is
// recorded once, without a replacement, whether the server stores the
// default or leaves it empty; the next plan is empty.
func TestAccTokenDisplayNameWrittenAsName(t *testing.T) {
	env := acctest.Start(t)
	cfg := func(display string) string {
		return env.ProviderConfig() + tokenBase + `
resource "tempo_token" "w" {
  name          = "collector"
  access_policy = tempo_access_policy.write_a.name` + display + `
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg("")},
			{
				Config: cfg("\n  display_name  = \"collector\""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("tempo_token.w", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// rewriteStatus makes GETs under prefix report status "unknown" instead of
// "active" while on is set: a server reading the contract its own way.
func rewriteStatus(on *atomic.Bool, prefix string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !on.Load() || r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			body := bytes.Replace(rec.Body.Bytes(), []byte(`"status":"active"`), []byte(`"status":"unknown"`), 1)
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = io.Copy(w, bytes.NewReader(body))
		})
	}
}
