package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The models' own conversion must give the very value the framework's
// reflection gives. A defined type over a model has the same fields and
// tags but not its methods, so the framework reflects on it.
func TestModelValuesMatchReflection(t *testing.T) {
	ctx := context.Background()
	schemaOf := func(r resource.Resource) tfsdk.State {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		return tfsdk.State{Schema: resp.Schema}
	}
	lp, _ := types.ObjectValue(labelPolicyType.AttrTypes, map[string]attr.Value{"selector": types.StringValue(`{env="prod"}`)})
	lps, _ := types.SetValue(labelPolicyType, []attr.Value{lp})
	realm, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{
		"tenant": types.StringValue("team-a"), "cluster": types.StringUnknown(), "label_policy": lps,
	})
	realms, _ := types.SetValue(realmType, []attr.Value{realm})
	scopes, _ := types.SetValue(types.StringType, []attr.Value{types.StringValue("traces:read")})

	type plainTenant tenantModel
	type plainPolicy accessPolicyModel
	type plainToken tokenModel
	for _, tc := range []struct {
		name        string
		state       tfsdk.State
		model, bare any
	}{
		{"tenant", schemaOf(NewTenantResource()),
			tenantModel{Name: types.StringValue("team-a"), DisplayName: types.StringNull(), Cluster: types.StringUnknown(), Status: types.StringValue("active"), CreatedAt: types.StringValue("2026-01-01T00:00:00Z")},
			nil},
		{"access policy", schemaOf(NewAccessPolicyResource()),
			accessPolicyModel{Name: types.StringValue("p"), DisplayName: types.StringValue("P"), Realms: realms, Scopes: scopes, Status: types.StringValue("active"), CreatedAt: types.StringUnknown()},
			nil},
		{"token", schemaOf(NewTokenResource()),
			tokenModel{Name: types.StringUnknown(), NamePrefix: types.StringValue("k"), DisplayName: types.StringNull(), AccessPolicy: types.StringValue("p"),
				Expiration: types.StringValue("2030-01-01T00:00:00Z"), Token: types.StringUnknown(), Status: types.StringUnknown(), CreatedAt: types.StringUnknown(),
				ExpireAfter: types.StringNull(), EarlyRotationWindow: types.StringNull(), ExpiresAt: types.StringUnknown(),
				ReadyForRotation: types.BoolValue(false), RevokeOnDestroy: types.BoolValue(true)},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch m := tc.model.(type) {
			case tenantModel:
				tc.bare = plainTenant(m)
			case accessPolicyModel:
				tc.bare = plainPolicy(m)
			case tokenModel:
				tc.bare = plainToken(m)
			}
			own, reflected := tc.state, tc.state
			if d := own.Set(ctx, tc.model); d.HasError() {
				t.Fatalf("Set through the model's own conversion: %v", d)
			}
			if d := reflected.Set(ctx, tc.bare); d.HasError() {
				t.Fatalf("Set through reflection: %v", d)
			}
			if !own.Raw.Equal(reflected.Raw) {
				t.Errorf("own conversion\n%s\nreflection\n%s", own.Raw, reflected.Raw)
			}
		})
	}
}
