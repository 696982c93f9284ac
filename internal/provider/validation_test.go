package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// Bad input fails at plan with the attribute it concerns, and nothing
// reaches the server.
func TestAccBadInputRejectedAtPlan(t *testing.T) {
	env := acctest.Start(t)
	tenant := func(body string) string { return "resource \"tempo_tenant\" \"x\" {\n" + body + "\n}\n" }
	policy := func(body string) string {
		return "resource \"tempo_access_policy\" \"x\" {\n" + body + "\n}\n"
	}
	realm := func(r string) string {
		return policy("name = \"p\"\nscopes = [\"traces:read\"]\nrealm {\n" + r + "\n}")
	}
	scopes := func(s string) string {
		return policy("name = \"p\"\nscopes = " + s + "\nrealm {\ntenant = \"team-a\"\n}")
	}
	token := func(body string) string { return "resource \"tempo_token\" \"x\" {\n" + body + "\n}\n" }
	providerWith := func(extra string) string {
		return "provider \"tempo\" {\nurl = \"" + env.URL + "\"\ntoken = \"t\"\n" + extra + "\n}\n" + tenant(`name = "team-a"`)
	}
	cases := []struct {
		name, config, want string
		raw                bool // config carries its own provider block
	}{
		{"tenant name too short", tenant(`name = "ab"`), `(?s)Invalid name.*3 to 64`, false},
		{"tenant name too long", tenant(`name = "` + strings.Repeat("a", 65) + `"`), `(?s)Invalid name.*3 to 64`, false},
		{"tenant name upper case", tenant(`name = "Team-A"`), `(?s)Invalid name.*lower-case`, false},
		{"tenant name with a dot", tenant(`name = "team.a"`), `Invalid name`, false},
		{"tenant name reserved", tenant(`name = "__ops"`), `(?s)Invalid name.*reserves`, false},
		{"tenant status unknown", tenant("name = \"team-a\"\nstatus = \"paused\""), `(?s)status.*value must be one of`, false},
		{"tenant empty display name", tenant("name = \"team-a\"\ndisplay_name = \"\""), `(?s)Invalid display_name.*must not be empty`, false},
		{"tenant empty cluster", tenant("name = \"team-a\"\ncluster = \"\""), `(?s)Invalid cluster.*not a cluster name`, false},
		{"tenant cluster a dot-segment", tenant("name = \"team-a\"\ncluster = \"..\""), `(?s)Invalid cluster.*not a cluster name`, false},
		{"policy name with a space", policy("name = \"read all\"\nscopes = [\"traces:read\"]\nrealm {\ntenant = \"*\"\n}"), `(?s)Invalid name.*1 to 128`, false},
		{"policy name too long", policy("name = \"" + strings.Repeat("p", 129) + "\"\nscopes = [\"traces:read\"]\nrealm {\ntenant = \"*\"\n}"), `Invalid name`, false},
		{"policy without realm", policy("name = \"p\"\nscopes = [\"traces:read\"]"), `Block realm must have a configuration value`, false},
		{"policy without scopes", scopes(`[]`), `(?s)scopes.*at least 1`, false},
		{"scope without action", scopes(`["traces"]`), `(?s)Invalid scopes.*<resource>:<action>`, false},
		{"scope with empty action", scopes(`["traces:"]`), `(?s)Invalid scopes.*<resource>:<action>`, false},
		{"scope upper case", scopes(`["Traces:Read"]`), `(?s)Invalid scopes.*lower case`, false},
		{"scope with spaces", scopes(`["traces: read"]`), `Invalid scopes`, false},
		{"scope with three parts", scopes(`["traces:read:all"]`), `Invalid scopes`, false},
		{"realm tenant empty", realm(`tenant = ""`), `(?s)Invalid tenant.*or "\*"`, false},
		{"realm tenant wildcard pattern", realm(`tenant = "team-*"`), `(?s)Invalid tenant`, false},
		{"realm tenant upper case", realm(`tenant = "TeamA"`), `(?s)Invalid tenant`, false},
		{"realm cluster empty", realm("tenant = \"team-a\"\ncluster = \"\""), `(?s)Invalid cluster.*not a cluster name`, false},
		{"label selector without braces", realm("tenant = \"team-a\"\nlabel_policy {\nselector = \"env=prod\"\n}"), `(?s)Invalid selector.*braces`, false},
		{"token without name or prefix", token(`access_policy = "p"`), `(?s)No attribute specified.*\[name,name_prefix\]`, false},
		{"token with name and prefix", token("name = \"a\"\nname_prefix = \"b\"\naccess_policy = \"p\""), `(?s)Invalid Attribute Combination.*\[name,name_prefix\]`, false},
		{"token name invalid", token("name = \"Otel\"\naccess_policy = \"p\""), `(?s)Invalid name.*1 to 128`, false},
		{"token prefix too long", token("name_prefix = \"" + strings.Repeat("x", 101) + "\"\naccess_policy = \"p\""), `(?s)Invalid name_prefix.*1 to 100`, false},
		{"token policy name invalid", token("name_prefix = \"x\"\naccess_policy = \"Writers!\""), `(?s)Invalid access_policy`, false},
		{"token expiration not RFC 3339", token("name_prefix = \"x\"\naccess_policy = \"p\"\nexpiration = \"2030-01-01\""), `(?s)Invalid expiration.*RFC 3339`, false},
		{"token expiration in the past", token("name_prefix = \"x\"\naccess_policy = \"p\"\nexpiration = \"2001-01-01T00:00:00Z\""), `(?s)expiration is in the past`, false},
		{"provider url scheme", "provider \"tempo\" {\nurl = \"ftp://tempo.svc\"\ntoken = \"t\"\n}\n" + tenant(`name = "team-a"`), `(?s)Invalid url.*http:// or https://`, true},
		{"provider url with credentials", "provider \"tempo\" {\nurl = \"http://u:p@tempo.svc\"\ntoken = \"t\"\n}\n" + tenant(`name = "team-a"`), `(?s)Invalid url.*credentials`, true},
		{"provider timeout", providerWith(`timeout = "soon"`), `(?s)Invalid timeout.*duration`, true},
		{"provider negative timeout", providerWith(`timeout = "-5s"`), `(?s)Invalid timeout`, true},
		{"provider max_retries", providerWith(`max_retries = 100`), `(?s)max_retries.*between`, true},
		{"provider bad CIDR", providerWith(`allowed_endpoints = ["10.0.0.0/33"]`), `(?s)Invalid allowed_endpoints.*CIDR`, true},
		{"provider empty endpoint", providerWith(`allowed_endpoints = [""]`), `(?s)Invalid allowed_endpoints.*empty`, true},
		{"provider token and token_file", providerWith(`token_file = "/run/secrets/token"`), `(?s)token.*token_file`, true},
		{"provider client cert without key", providerWith(`client_cert_file = "c.pem"`), `(?s)client_key_file`, true},
		{"provider two CA forms", providerWith("ca_cert_file = \"ca.pem\"\nca_cert_pem = \"x\""), `(?s)ca_cert_file.*ca_cert_pem|ca_cert_pem.*ca_cert_file`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.config
			if !tc.raw {
				cfg = env.ProviderConfig() + cfg
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config:   cfg,
					PlanOnly: true,
					// The CLI wraps long messages: any space may be a line break.
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
	if n := len(env.Emulator.Counts()); n != 0 {
		t.Fatalf("bad input reached the server: %v", env.Emulator.Counts())
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
}

// An import ID is a name, checked by the rule of its kind before anything
// is sent: ".." must never reach the server as a path.
func TestAccImportIDChecked(t *testing.T) {
	env := acctest.Start(t)
	for _, tc := range []struct{ resource, body, id string }{
		{"tempo_token.x", "name = \"ok\"\naccess_policy = \"p\"", ".."},
		{"tempo_access_policy.x", "name = \"ok\"\nscopes = [\"traces:read\"]\nrealm {\ntenant = \"*\"\n}", "a/b"},
		{"tempo_tenant.x", "name = \"ok-tenant\"", "__system__"},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			typ := strings.Split(tc.resource, ".")[0]
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.Factories(),
				Steps: []resource.TestStep{{
					Config:        env.ProviderConfig() + fmt.Sprintf("resource %q \"x\" {\n%s\n}\n", typ, tc.body),
					ResourceName:  tc.resource,
					ImportState:   true,
					ImportStateId: tc.id,
					ExpectError:   regexp.MustCompile(`Invalid import ID`),
				}},
			})
		})
	}
	if n := len(env.Emulator.Counts()); n != 0 {
		t.Errorf("refused import IDs sent requests: %v", env.Emulator.Counts())
	}
}
