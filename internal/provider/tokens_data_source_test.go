package provider_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

func TestAccTokensDataSource(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{
		Name: "writers", Scopes: []string{"traces:write"}, Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}},
	}); err != nil {
		t.Fatal(err)
	}
	// Made out of band: with and without expiration and display name; one
	// is then revoked.
	var secrets []string
	for _, tk := range []adminapi.Token{
		{Name: "write-team-b", AccessPolicy: "writers", DisplayName: "Team B collector", Expiration: "2099-01-31T00:00:00Z"},
		{Name: "write-team-a", AccessPolicy: "writers"},
		{Name: "old-laptop", AccessPolicy: "writers"},
	} {
		got, err := env.Client.CreateToken(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, got.Secret.Reveal())
	}
	if err := env.Client.DeleteToken(ctx, "old-laptop", 0); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + `
data "tempo_tokens" "active" {}

data "tempo_tokens" "all" {
  include_inactive = true
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.tempo_tokens.active", tfjsonpath.New("names"),
					stringList("write-team-a", "write-team-b")),
				statecheck.ExpectKnownValue("data.tempo_tokens.all", tfjsonpath.New("names"),
					stringList("old-laptop", "write-team-a", "write-team-b")),
				statecheck.ExpectKnownValue("data.tempo_tokens.all", tfjsonpath.New("tokens"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name":   knownvalue.StringExact("old-laptop"),
						"status": knownvalue.StringExact("inactive"),
					}),
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name":          knownvalue.StringExact("write-team-a"),
						"display_name":  knownvalue.StringExact("write-team-a"), // none on the server: the name
						"access_policy": knownvalue.StringExact("writers"),
						"expiration":    knownvalue.Null(),
						"status":        knownvalue.StringExact("active"),
						"created_at":    knownvalue.NotNull(),
					}),
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name":          knownvalue.StringExact("write-team-b"),
						"display_name":  knownvalue.StringExact("Team B collector"),
						"access_policy": knownvalue.StringExact("writers"),
						"expiration":    knownvalue.StringExact("2099-01-31T00:00:00Z"),
						"status":        knownvalue.StringExact("active"),
						"created_at":    knownvalue.NotNull(),
					}),
				})),
			},
			// No secret anywhere in the state, in any form.
			Check: func(s *terraform.State) error { return noSecretsIn(s, secrets) },
		}},
	})
}

// A list of tokens must not offer a secret attribute that could only ever
// be null, nor any attribute the single-object data source lacks.
func TestTokensDataSourceHasNoSecret(t *testing.T) {
	var resp datasource.SchemaResponse
	provider.NewTokensDataSource().Schema(context.Background(), datasource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	tokens, ok := resp.Schema.Attributes["tokens"].(schema.ListNestedAttribute)
	if !ok {
		t.Fatalf("tokens is a %T, want a list of objects", resp.Schema.Attributes["tokens"])
	}
	for name, a := range tokens.NestedObject.Attributes {
		if name == "token" || name == "secret" || a.IsSensitive() {
			t.Errorf("tempo_tokens lists %q; the secret of a token is never readable after creation", name)
		}
	}
	if !strings.Contains(resp.Schema.MarkdownDescription, "Secrets are not available") {
		t.Error("the description does not say that secrets are not available")
	}
}

// noSecretsIn fails when any attribute of any resource or data source in
// the state holds one of the secrets, whole or in part.
func noSecretsIn(s *terraform.State, secrets []string) error {
	for _, m := range s.Modules {
		for addr, r := range m.Resources {
			if r.Primary == nil {
				continue
			}
			for k, v := range r.Primary.Attributes {
				for _, secret := range secrets {
					if secret != "" && strings.Contains(v, secret) {
						return fmt.Errorf("%s.%s holds a token secret", addr, k)
					}
				}
			}
		}
	}
	return nil
}

// Every attribute of the list data sources, nested ones included, says in
// the docs what it holds.
func TestListDataSourcesDescribeEveryAttribute(t *testing.T) {
	for name, ds := range map[string]datasource.DataSource{
		"tempo_tenants":         provider.NewTenantsDataSource(),
		"tempo_access_policies": provider.NewAccessPoliciesDataSource(),
		"tempo_tokens":          provider.NewTokensDataSource(),
	} {
		var resp datasource.SchemaResponse
		ds.Schema(context.Background(), datasource.SchemaRequest{}, &resp)
		if resp.Schema.MarkdownDescription == "" {
			t.Errorf("%s has no description", name)
		}
		undescribed(t, name, resp.Schema.Attributes)
	}
}

func undescribed(t *testing.T, prefix string, attrs map[string]schema.Attribute) {
	t.Helper()
	for name, a := range attrs {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("%s.%s has no MarkdownDescription", prefix, name)
		}
		if n, ok := a.(schema.NestedAttribute); ok {
			undescribed(t, prefix+"."+name, n.GetNestedObject().(schema.NestedAttributeObject).Attributes)
		}
	}
}

// The example the docs show, applied as written.
func TestAccTokensDataSourceExample(t *testing.T) {
	example, err := os.ReadFile("../../examples/data-sources/tempo_tokens/data-source.tf")
	if err != nil {
		t.Fatal(err)
	}
	env := acctest.Start(t)
	ctx := context.Background()
	for _, p := range []string{"otel", "grafana"} {
		if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{
			Name: p, Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	soon := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for _, tk := range []adminapi.Token{
		{Name: "otel-a", AccessPolicy: "otel", Expiration: soon},
		{Name: "otel-b", AccessPolicy: "otel", Expiration: "2099-01-31T00:00:00Z"},
		{Name: "grafana", AccessPolicy: "grafana"},
	} {
		if _, err := env.Client.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{{
			Config: env.ProviderConfig() + string(example),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("tokens_by_policy", knownvalue.MapExact(map[string]knownvalue.Check{
					"otel":    stringList("otel-a", "otel-b"),
					"grafana": stringList("grafana"),
				})),
				statecheck.ExpectKnownOutputValue("expiring_soon", stringList("otel-a")),
			},
		}},
	})
}
