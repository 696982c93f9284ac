package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// Configuration errors name the setting and what to do, before anything is
// sent to a server.
func TestAccProviderConfigurationErrors(t *testing.T) {
	env := acctest.Start(t)
	multi := acctest.Start(t, "east", "west")
	dir := t.TempDir()
	tenant := "\nresource \"tempo_tenant\" \"a\" {\n  name = \"team-a\"\n}\n"
	cases := []struct {
		name, provider, want string
		env                  map[string]string
	}{
		{"no URL", `token = "t"`, `url: the admin API URL is required.*TEMPO_ADMIN_URL`, nil},
		{"no token", fmt.Sprintf(`url = %q`, env.URL), `admin token is required.*TEMPO_ADMIN_TOKEN`, nil},
		{"unreadable token file", fmt.Sprintf("url = %q\ntoken_file = %q", env.URL, filepath.Join(dir, "missing")), `token_file: cannot read the admin token`, nil},
		{"clear text to a public host", `url = "http://203.0.113.7:3100"` + "\ntoken = \"t\"", `clear text.*https://.*allowed_endpoints`, nil},
		{"endpoint outside allowed_endpoints", fmt.Sprintf("url = %q\ntoken = \"t\"\nallowed_endpoints = [\"10.0.0.0/8\", \".svc\"]", env.URL), `outside allowed_endpoints`, nil},
		{"several clusters, none chosen", fmt.Sprintf("url = %q\ntoken = %q", multi.URL, acctest.AdminToken), `2 clusters \(east, west\).*set cluster`, nil},
		{"wrong admin token", fmt.Sprintf("url = %q\ntoken = \"not-it\"\ncluster = \"tempo\"", env.URL), `unauthorized \(HTTP 401\).*Check the admin token`, nil},
		{"token from the environment, URL missing", ``, `url: the admin API URL is required`, map[string]string{"TEMPO_ADMIN_TOKEN": "t"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"TEMPO_ADMIN_URL", "TEMPO_ADMIN_TOKEN", "TEMPO_ADMIN_TOKEN_FILE", "TEMPO_CLUSTER"} {
				t.Setenv(k, "") // whatever the developer's shell has
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config:      "provider \"tempo\" {\n" + tc.provider + "\n}\n" + tenant,
					ExpectError: regexp.MustCompile("(?s)" + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
	// Only the wrong-token case reaches the server, and is refused there.
	for k := range env.Emulator.Counts() {
		if k != "POST /admin/api/v3/tenants" {
			t.Errorf("a configuration error sent %s", k)
		}
	}
}

// The provider reads its settings from the environment of a runner pod: URL,
// a mounted token file and the cluster, with the cluster otherwise
// discovered when the server has exactly one.
func TestAccProviderFromEnvironment(t *testing.T) {
	env := acctest.Start(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(acctest.AdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPO_ADMIN_URL", env.URL)
	t.Setenv("TEMPO_ADMIN_TOKEN_FILE", tokenFile)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: `
resource "tempo_tenant" "a" {
  name = "team-a"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("tempo_tenant.a", tfjsonpath.New("cluster"), knownvalue.StringExact(acctest.Cluster)),
			},
		}},
	})
}

// The network-boundary guard decides at plan, from the addresses the host
// resolves to, even when the plan itself sends nothing (creates with an
// explicit cluster): a green plan must not become a refused apply.
func TestAccGuardRefusesAtPlan(t *testing.T) {
	env := acctest.Start(t)
	port := env.URL[strings.LastIndex(env.URL, ":")+1:]
	for _, k := range []string{"TEMPO_ADMIN_URL", "TEMPO_ADMIN_TOKEN", "TEMPO_ADMIN_TOKEN_FILE", "TEMPO_CLUSTER"} {
		t.Setenv(k, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "tempo" {
  url               = "http://localhost:%s"
  token             = %q
  cluster           = "tempo"
  allowed_endpoints = [".svc"]
}
resource "tempo_tenant" "a" {
  name = "team-a"
}`, port, acctest.AdminToken),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)endpoint is refused.*outside\s+allowed_endpoints`),
		}},
	})
	if n := len(env.Emulator.Counts()); n != 0 {
		t.Errorf("the refused configuration sent requests: %v", env.Emulator.Counts())
	}
}

// Settings that contradict each other or are not known yet fail with the
// attribute named.
func TestAccProviderSettingConflicts(t *testing.T) {
	env := acctest.Start(t)
	cases := []struct{ name, provider, want string }{
		{"CA with verification off", fmt.Sprintf("url = %q\ntoken = \"t\"\ninsecure_skip_verify = true\nca_cert_pem = \"x\"", env.URL),
			`(?s)Invalid Attribute Combination.*insecure_skip_verify`},
		{"allowed_endpoints entry unknown", fmt.Sprintf("url = %q\ntoken = \"t\"\nallowed_endpoints = [\"10.0.0.0/8\", terraform_data.e.output]", env.URL),
			`(?s)not known yet.*every entry of allowed_endpoints`},
		{"credential in an unparseable URL", `url = "http://admin:hunter2@[::1"` + "\ntoken = \"t\"",
			`(?s)is not a URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config: "provider \"tempo\" {\n" + tc.provider + "\n}\n" + `
resource "terraform_data" "e" {
  input = "10.1.0.0/16"
}
resource "tempo_tenant" "a" {
  name    = "team-a"
  cluster = "tempo"
}`,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
