package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

func TestAccTokenDataSource(t *testing.T) {
	env := acctest.Start(t)
	ctx := context.Background()
	// A token made out of band without display name or expiration, then
	// revoked: its metadata still reads.
	if _, err := env.Client.CreateAccessPolicy(ctx, adminapi.AccessPolicy{
		Name:   "ops-read",
		Scopes: []string{"traces:read"},
		Realms: []adminapi.Realm{{Tenant: "*", Cluster: acctest.Cluster}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CreateToken(ctx, adminapi.Token{Name: "ops-laptop", AccessPolicy: "ops-read"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.DeleteToken(ctx, "ops-laptop", 0); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.Factories(),
		Steps: []resource.TestStep{
			{
				Config: env.ProviderConfig() + `
resource "tempo_access_policy" "w" {
  name   = "team-a-write"
  scopes = ["traces:write"]
  realm {
    tenant = "team-a"
  }
}

resource "tempo_token" "w" {
  name          = "team-a-collector"
  display_name  = "OTel collector"
  access_policy = tempo_access_policy.w.name
  expiration    = "2099-01-31T00:00:00Z"
}

data "tempo_token" "w" {
  name = tempo_token.w.name
}

data "tempo_token" "revoked" {
  name = "ops-laptop"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("name"), knownvalue.StringExact("team-a-collector")),
					statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("display_name"), knownvalue.StringExact("OTel collector")),
					statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("access_policy"), knownvalue.StringExact("team-a-write")),
					statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("expiration"), knownvalue.StringExact("2099-01-31T00:00:00Z")),
					statecheck.ExpectKnownValue("data.tempo_token.w", tfjsonpath.New("status"), knownvalue.StringExact("active")),
					statecheck.CompareValuePairs("data.tempo_token.w", tfjsonpath.New("created_at"),
						"tempo_token.w", tfjsonpath.New("created_at"), compare.ValuesSame()),

					statecheck.ExpectKnownValue("data.tempo_token.revoked", tfjsonpath.New("status"), knownvalue.StringExact("inactive")),
					statecheck.ExpectKnownValue("data.tempo_token.revoked", tfjsonpath.New("access_policy"), knownvalue.StringExact("ops-read")),
					statecheck.ExpectKnownValue("data.tempo_token.revoked", tfjsonpath.New("display_name"), knownvalue.StringExact("ops-laptop")),
					statecheck.ExpectKnownValue("data.tempo_token.revoked", tfjsonpath.New("expiration"), knownvalue.Null()),
				},
			},
			{
				Config:      env.ProviderConfig() + `data "tempo_token" "x" { name = "no-such-token" }`,
				ExpectError: errorRE(`Token "no-such-token" does not exist`),
			},
		},
	})
}

// The secret exists only in the create response, so the data source must not
// offer an attribute that could only ever be null.
func TestTokenDataSourceHasNoSecret(t *testing.T) {
	var resp datasource.SchemaResponse
	provider.NewTokenDataSource().Schema(context.Background(), datasource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	if _, ok := resp.Schema.Attributes["token"]; ok {
		t.Error("tempo_token data source has a token attribute; the secret is never readable after creation")
	}
	if !strings.Contains(resp.Schema.MarkdownDescription, "secret is not available") {
		t.Error("the description does not say the secret is not available")
	}
}
