package provider_test

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const fleet = `
resource "tempo_tenant" "a" {
  name = "team-a"
}
resource "tempo_tenant" "b" {
  name         = "team-b"
  display_name = "Team B"
}
resource "tempo_access_policy" "w" {
  name   = "writers"
  scopes = ["traces:write"]
  realm {
    tenant = tempo_tenant.a.name
  }
  realm {
    tenant = tempo_tenant.b.name
  }
}
resource "tempo_token" "w" {
  name_prefix   = "writer"
  access_policy = tempo_access_policy.w.name
}
`

// expectCounts compares the emulator's request counts with want exactly:
// any request not listed is a failure.
func expectCounts(env *acctest.Env, want map[string]int) error {
	got := env.Emulator.Counts()
	if !maps.Equal(got, want) {
		keys := slices.Sorted(maps.Keys(got))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "\n  %s: %d", k, got[k])
		}
		return fmt.Errorf("requests:%s\nwant: %v", b.String(), want)
	}
	return nil
}

// An apply that creates issues one POST per object and nothing else; a
// refresh issues one GET per managed object.
func TestAccRequestCounts(t *testing.T) {
	env := acctest.Start(t)
	cfg := env.ProviderConfig() + fleet
	var token string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{acctest.PlanCheckFunc(func() error {
						// Planning a creation reads only what the create would
						// find under an access policy's name (re-activating an
						// inactive one must not revive its tokens unseen); all
						// other names come from the configuration or are
						// generated at apply.
						if err := expectCounts(env, map[string]int{"GET /admin/api/v3/accesspolicies/writers": 1}); err != nil {
							return fmt.Errorf("plan: %w", err)
						}
						env.Emulator.Reset()
						return nil
					})},
				},
				Check: func(s *terraform.State) error {
					token = attr(s, "tempo_token.w", "name")
					// The CLI plans each change again during apply, and the
					// policy's check with it.
					return expectCounts(env, map[string]int{
						"GET /admin/api/v3/accesspolicies/writers": 1,
						"POST /admin/api/v3/tenants":               2,
						"POST /admin/api/v3/accesspolicies":        1,
						"POST /admin/api/v3/tokens":                1,
					})
				},
			},
			{
				PreConfig: env.Emulator.Reset,
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectEmptyPlan(),
						acctest.PlanCheckFunc(func() error {
							return expectCounts(env, map[string]int{
								"GET /admin/api/v3/tenants/team-a":         1,
								"GET /admin/api/v3/tenants/team-b":         1,
								"GET /admin/api/v3/accesspolicies/writers": 1,
								"GET /admin/api/v3/tokens/" + token:        1,
							})
						}),
					},
				},
			},
		},
	})
}

// Neither the admin token nor a token secret appears anywhere in a TRACE
// log of a create, update and destroy, CLI and provider alike.
func TestAccNoSecretsInTraceLog(t *testing.T) {
	env := acctest.Start(t)
	logFile := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	// The test harness logs each configuration verbatim, so the admin token
	// comes from the environment here, as it does in a runner pod.
	t.Setenv("TEMPO_ADMIN_TOKEN", acctest.AdminToken)
	provider := fmt.Sprintf("provider \"tempo\" {\n  url = %q\n}\n", env.URL)
	var secrets []string
	grab := func(s *terraform.State) error {
		if v := attr(s, "tempo_token.w", "token"); v != "" {
			secrets = append(secrets, v)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: provider + fleet, Check: grab},
			{Config: provider + strings.Replace(fleet, `"Team B"`, `"Team B (EU)"`, 1) +
				strings.Replace(strings.Replace(fleet[strings.Index(fleet, `resource "tempo_token"`):], `"w"`, `"w2"`, 1), `"writer"`, `"writer2"`, 1),
				Check: func(s *terraform.State) error {
					if v := attr(s, "tempo_token.w2", "token"); v != "" {
						secrets = append(secrets, v)
					}
					return grab(s)
				}},
		},
	})
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "admin API request") {
		t.Fatalf("the log holds no provider request records (%d bytes); the test proves nothing", len(b))
	}
	if len(secrets) < 2 {
		t.Fatalf("collected %d token secrets, want 2", len(secrets))
	}
	forbidden := append([]string{acctest.AdminToken, base64.StdEncoding.EncodeToString([]byte(":" + acctest.AdminToken))}, secrets...)
	for _, s := range forbidden {
		if i := strings.Index(log, s); i >= 0 {
			lo, hi := max(0, i-200), min(len(log), i+len(s)+50)
			t.Errorf("a secret appears in the TRACE log near: %q", strings.ReplaceAll(log[lo:hi], s, "<SECRET>"))
		}
	}
}

// A dead admin API fails the run fast and once: after the first operations
// have spent their retries on connection failures, the others fail without
// sending, instead of each spending its own retries.
func TestAccDeadAdminAPIFailsFast(t *testing.T) {
	env := acctest.Start(t)
	provider := strings.Replace(env.ProviderConfig(), "provider \"tempo\" {", "provider \"tempo\" {\n  max_retries = 1", 1)
	cfg := provider + `
resource "tempo_tenant" "t" {
  count = 30
  name  = "team-${count.index}"
}`
	const parallelism, attempts = 10, 2
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					env.Emulator.Reset()
					env.Emulator.InjectFault(emulator.Fault{Path: "/admin/api/v3/*", Drop: true, Times: -1})
				},
				Config:      cfg,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)unreachable`),
			},
			{
				PreConfig: func() {
					sent := 0
					for k, n := range env.Emulator.Counts() {
						if strings.HasPrefix(k, "GET /admin/api/v3/tenants/") {
							sent += n
						}
					}
					if sent > parallelism*attempts+2 {
						t.Errorf("refreshing 30 tenants against a dead API sent %d requests; want at most %d (the operations in flight when it was found dead)", sent, parallelism*attempts+2)
					}
					env.Emulator.Reset()
				},
				Config:   cfg,
				PlanOnly: true,
			},
		},
	})
}
